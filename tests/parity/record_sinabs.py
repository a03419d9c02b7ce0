"""Record Sinabs 3.1.3 on the parity cases ("old" env: nir 1.0.4, nirtorch 2.0.2).

Import: `sinabs.nir.from_nir(nir.read(path), batch_size=B)` exactly as a user
would (Sinabs takes no dt: tau is read in time steps, alpha = exp(-1/tau); NIR tau
in seconds therefore gives alpha ~ 0). Layers are *Squeeze layers: the whole
sequence is fed at once as (B*T, n), batch-major, which is what a Sinabs user
does; the output is reshaped back to (T, B, n) here.
Recording: `record_states = True` is set on every Sinabs neuron layer after
import (the documented Sinabs switch); v = layer.recordings['v_mem'] (after the
step: after subtract-reset and the IF floor min_v_mem = -theta); spikes = the
layer output (spike COUNTS per step), captured with forward hooks.
Case `lif_paper_config` is the paper's own Sinabs configuration of lif_norse.nir:
tau divided by dt by hand before import (tau = 25 steps) and the input scaled by
0.04 (as in the paper's notebook; lif_sinabs.csv holds the input x0.04).
Keys are NIR node names (the executor's names, '.' -> '_', are in `framework_names`).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CNN_CASE, DT, GRAPH_CASES, Recorder, case_input, graph_path,  # noqa: E402
                    sanitized_names)

import nir  # noqa: E402
import torch  # noqa: E402
import sinabs  # noqa: E402
import sinabs.nir  # noqa: E402

torch.set_num_threads(2)
warnings.filterwarnings("ignore")
NEURONS = ("LIFSqueeze", "IAFSqueeze", "ExpLeakSqueeze", "LIF", "IAF")


def run_case(case):
    return run_graph(graph_path(case), case_input(case), paper_config=case == "lif_paper_config")


def run_graph(path, x, paper_config=False):
    """Import the NIR file at `path` and run it on x (T, B, *in) in one call -> (arrays, info)."""
    g = nir.read(str(path))
    options = f"sinabs.nir.from_nir(graph, batch_size={x.shape[1]}); whole sequence as (B*T, n)"
    if paper_config:
        g.nodes["1"].tau = (g.nodes["1"].tau / np.float32(DT)).astype(np.float32)
        x = x * np.float32(0.04)
        options += "; paper configuration: LIF tau divided by dt by hand (25 steps), input x0.04"
    T, B = x.shape[:2]
    names = sanitized_names(g)
    model = sinabs.nir.from_nir(g, batch_size=B)
    neurons = {n.name: n.elem for n in model.execution_order if type(n.elem).__name__ in NEURONS}
    key = {n: names[n] if isinstance(names.get(n), str) else n for n in neurons}
    spikes = {}
    for n, m in neurons.items():
        m.record_states = True
        m.register_forward_hook(lambda mod, inp, out, n=n: spikes.__setitem__(n, out.detach().clone()))
    xin = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, *range(2, x.ndim)))).reshape(B * T, *x.shape[2:])
    with torch.no_grad():
        y = model(xin)
    y = y[0] if isinstance(y, tuple) else y

    def tb(a):  # (B*T, ...) or (B, T, ...) -> (T, B, ...)
        a = a.reshape(B, T, *a.shape[1:]) if a.shape[0] == B * T else a
        return a.transpose(0, 1).numpy()

    arrays = {"input": x, "output": tb(y)}
    alphas = {}
    for n, m in neurons.items():
        arrays[f"spikes/{key[n]}"] = tb(spikes[n])
        arrays[f"v/{key[n]}"] = tb(m.recordings["v_mem"])
        if hasattr(m, "tau_mem") and m.tau_mem is not None:
            alphas[key[n]] = torch.exp(-1 / m.tau_mem.detach()).numpy().tolist()
        else:
            alphas[key[n]] = 1.0
    info = {
        "dt": DT,
        "options": options,
        "alpha_mem": alphas,
        "framework_names": {key[n]: n for n in neurons},
        "modules": {key[n]: type(m).__name__ for n, m in neurons.items()},
        "v_units": "Sinabs v_mem (input units: r ignored, no input scaling); spikes are counts; "
                   "the dt key is nominal (Sinabs has no dt)",
        "node_names": "NIR node names",
    }
    return arrays, info


def main():
    rec = Recorder("sinabs", ["sinabs", "nir", "nirtorch", "torch", "numpy"],
                   notes={"execution": "torch eager, float32, CPU, 2 threads; whole sequence per call",
                          "output": "key 'output' = value returned by the executor"})
    for case in ["lif_paper", "lif_paper_config"] + GRAPH_CASES + [CNN_CASE]:
        rec.run(case, lambda c=case: run_case(c))
    for case, entry in rec.manifest["cases"].items():
        if "KeyError" in entry.get("error", ""):
            rec.explain(case, "sinabs.nir has no CubaLIF mapping (_import_sinabs_module returns None "
                              "for it), so the executor has no module for the node and fails; "
                              "Sinabs also has no recurrence")
    rec.explain("vleak_lif", "sinabs.nir._import_sinabs_module raises for LIF with v_leak != 0 "
                             "(`if any(node.v_leak) != 0: raise ValueError`)")
    for case in ("braille_bias_zero", "braille_subtract"):
        rec.fail(case, "not attempted: CubaLIF and recurrence are unsupported by Sinabs (see cubalif_chain)")
    rec.write()


if __name__ == "__main__":
    main()
