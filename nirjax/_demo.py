"""``make demo``: the NIR paper's LIF neuron under the ideal model, on bundled data."""

from __future__ import annotations

import importlib.resources as res

import jax
import numpy as np


def bundled(name):
    return res.files("nirjax") / "data" / name


def run_demo():
    jax.config.update("jax_enable_x64", True)
    import nirjax

    g = nirjax.load(str(bundled("lif_norse.nir")))
    x = np.loadtxt(str(bundled("lif_input.csv")))[:, None]
    dt = 1e-4
    sol = nirjax.simulate(g, {"input": x}, dt=dt)
    t = np.asarray(sol.spike_times["1"][0])
    t = t[np.isfinite(t)]
    node = g.nodes["1"]
    print("nirjax demo: the NIR paper's LIF neuron (lif_norse.nir), ideal model, float64")
    print(f"  LIF tau = {float(node.tau[0]) * 1e3:g} ms, r = {float(node.r[0]):g}, "
          f"v_threshold = {float(node.v_threshold[0]):g}; input: {int(x.sum())} one-step pulses, dt = 0.1 ms, 100 ms")
    print("  exact spike times (ms): " + ", ".join(f"{v * 1e3:.6f}" for v in t))
    print(f"  spike steps: {np.nonzero(np.asarray(sol.spikes['1'][:, 0]))[0].tolist()}")
    v = np.asarray(sol.states["1"]["v"][:, 0])
    print(f"  membrane: max {v.max():.6f}, events processed {int(sol.stats['events'])}, result: ok")
    try:
        from ._reproduce import lif_summary  # the platform table (issue 3)
    except ImportError:
        return 0
    print()
    print(lif_summary())
    return 0
