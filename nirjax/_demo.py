"""``nirjax demo`` (``make demo``): the NIR paper's LIF neuron under the ideal model and on
every platform model, from the data bundled in ``nirjax.data`` (no source tree needed)."""

from __future__ import annotations

import jax
import numpy as np


def run_demo():
    jax.config.update("jax_enable_x64", True)
    import nirjax

    g = nirjax.load(nirjax.data.path("lif_norse.nir"))
    x = np.loadtxt(nirjax.data.path("lif_input.csv"))[:, None]
    dt = 1e-4
    sol = nirjax.simulate(g, {"input": x}, dt=dt, reset="subtract")
    t = np.asarray(sol.spike_times["1"][0])
    t = t[np.isfinite(t)]
    node = g.nodes["1"]
    print("nirjax demo: the NIR paper's LIF neuron (lif_norse.nir), ideal model, float64")
    print(f"  LIF tau = {float(node.tau[0]) * 1e3:g} ms, r = {float(node.r[0]):g}, "
          f"v_threshold = {float(node.v_threshold[0]):g}; input: {int(x.sum())} one-step pulses, dt = 0.1 ms, 100 ms")
    print("  reset by subtraction (what this file, written by nir <= 1.0.5, means)")
    print("  exact spike times (ms): " + ", ".join(f"{v * 1e3:.6f}" for v in t))
    print(f"  spike steps: {np.nonzero(np.asarray(sol.spikes['1'][:, 0]))[0].tolist()}")
    v = np.asarray(sol.states["1"]["v"][:, 0])
    print(f"  membrane: max {v.max():.6f}, events processed {int(sol.stats['events'])}, result: ok")
    print()
    from ._reproduce import lif_summary

    print(lif_summary())
    return 0
