"""Golden-output parity helpers: which platform model and options reproduce
each recorded real-framework run (tests/golden/<fw>/, parity/README.md)."""

from __future__ import annotations

import json
import pathlib
import warnings

import jax
import numpy as np

import nirjax

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

# framework -> (platform name, options); case-specific options below
PLATFORM = {"snntorch": "snntorch", "norse": "norse", "spyx": "spyx", "sinabs": "sinabs", "rockpool": "rockpool",
            "nengo": "nengo", "xylosim": "xylo"}
BASE_OPTIONS = {"xylosim": {"approximate": True, "lif_gain": "euler"}}  # the recorder's default LIF gain
CASE_OPTIONS = {
    ("sinabs", "lif_paper_config"): {"dt_convention": "argument"},  # tau divided by dt by hand (the paper)
    ("norse", "braille_subtract_reset_subtract"): {"reset": "subtract"},
    ("xylosim", "lif_paper_zoh"): {"lif_gain": "zoh"},
}


def manifest(fw):
    return json.loads((GOLDEN / fw / "manifest.json").read_text())


def recorded_cases(fw):
    return sorted(c for c, v in manifest(fw)["cases"].items() if v.get("recorded"))


def refused_cases(fw):
    """Cases the framework itself cannot run (it raised, silently ran something else, or never
    returned): the model must refuse them."""
    return sorted(c for c, v in manifest(fw)["cases"].items() if v.get("outcome") in ("error", "silent", "hang"))


def compared_steps(fw, case):
    """Steps to compare: all, except where the recording runs away (Rockpool's recurrent spike counts
    beyond ~1e3 per step make floor(v/theta) depend on torch's summation order: the manifest's
    ``runaway.first_step_over_1000``, tests/parity/README.md)."""
    run = manifest(fw)["cases"][case].get("runaway")
    return None if run is None else int(run["first_step_over_1000"])


def graph_path(fw, case, shared):
    g = manifest(fw)["cases"][case]["graph"]
    return shared / g[len("shared/"):] if g.startswith("shared/") else ROOT / g


def load_graph(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nirjax.SpikeAreaHint)
        return nirjax.load(path, warn=False)


def nir_name(net, golden_name):
    if golden_name in net.nodes:
        return golden_name
    for cand in (golden_name.replace("_", "."), golden_name + ".lif"):
        if cand in net.nodes:
            return cand
    raise KeyError(golden_name)


def run_case(fw, case, shared, platform=None, options=None, dtype=None):
    """Run the platform model on the recorded input; returns (golden npz, sol, net)."""
    z = np.load(GOLDEN / fw / f"{case}.npz")
    net = load_graph(graph_path(fw, case, shared))
    opts = {**BASE_OPTIONS.get(fw, {}), **CASE_OPTIONS.get((fw, case), {})}
    if options is not None:
        opts.update(options)
    x = np.asarray(z["input"], dtype=np.float64)
    dt = float(z["dt"]) if fw != "rockpool" else 1e-4  # Rockpool infers its own dt per layer

    def one(xb):
        return nirjax.simulate(net, xb, dt=dt, platform=platform or PLATFORM[fw], dtype=dtype, **opts, record=None)

    sol = jax.vmap(one, in_axes=1)(x)  # batch first: (B, T, ...)
    return z, sol, net


def compare(z, sol, net, native=True, steps=None):
    """Per node: (spike mismatches, max |dv| / max(|v|, 1)) against the golden recording
    (relative error, absolute below 1 native unit: every threshold here is >= 0.1), over the first
    ``steps`` steps (None: all)."""
    out = {}
    cut = slice(None) if steps is None else slice(0, steps)
    for key in z.files:
        if not key.startswith("spikes/"):
            continue
        g = key.split("/", 1)[1]
        n = nir_name(net, g)
        sp = np.moveaxis(np.asarray(sol.spikes[n]), 0, 1).reshape(z[key].shape)[cut]
        mism = int(np.sum(sp != z[key][cut]))
        verr = None
        if f"v/{g}" in z.files:
            v = np.moveaxis(np.asarray(sol.states[n]["v_native" if native else "v"]), 0, 1).reshape(z[f"v/{g}"].shape)
            v = v[cut]
            ref = z[f"v/{g}"][cut].astype(np.float64)
            verr = float(np.max(np.abs(v - ref) / np.maximum(np.abs(ref), 1.0)))
        out[g] = (mism, verr)
    return out
