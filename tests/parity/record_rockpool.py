"""Record Rockpool 3.1.0 on the parity cases ("old" env: nir 1.0.4, nirtorch 2.0.2).

Import: `rockpool.nn.modules.torch.nir.from_nir(nir.read(path))` exactly as a
user would (no options; dt is inferred per layer as min(tau_mem/(1+r)), recorded
per layer in the manifest). The result is a nirtorch 2.0.2 GraphExecutor.
Run: STEPPED, one call per time step with x of shape (1, 1, n), carrying the
returned GraphExecutorState (a whole-sequence call has no recurrence at all
through the executor's flat cycle), and ONE SAMPLE AT A TIME: Rockpool's torch
modules keep only batch element 0 as their state after a call
(`self.vmem = vmem[0]`) and broadcast it to the whole batch on the next call, so
stepping a batch of B > 1 would mix samples. Samples are run separately and
stacked on the batch axis.
Recorded per LIFTorch node (names: NIR names with '.' -> '_'): spikes = the
node's output (spike COUNTS per step, n = floor(v/theta) for v >= theta),
v = module.vmem after the step, i_syn = module.isyn after the step (NIR volts /
currents in Rockpool's own scaling: w_in and r are ignored).
Keys are NIR node names (the executor's names, '.' -> '_', are in `framework_names`).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BRAILLE_CASES, GRAPH_CASES, Recorder, case_input, graph_path,  # noqa: E402
                    sanitized_names)

import nir  # noqa: E402
import torch  # noqa: E402
import rockpool  # noqa: E402
from rockpool.nn.modules.torch.nir import from_nir  # noqa: E402

torch.set_num_threads(2)
warnings.filterwarnings("ignore")


def run_case(case):
    return run_graph(graph_path(case), case_input(case))


def run_graph(path, x):
    """Import the NIR file at `path` and run it on x (T, B, n), one sample at a time -> (arrays, info)."""
    g = nir.read(str(path))
    names = sanitized_names(g)
    model = from_nir(g)
    neurons = [n.name for n in model.execution_order if type(n.elem).__name__ == "LIFTorch"]
    key = {n: names[n] if isinstance(names.get(n), str) else n for n in neurons}
    dts = {n: float(model.get_submodule(n).dt) for n in neurons}
    T, B = x.shape[:2]
    rec = {k: {n: [] for n in neurons} for k in ("spikes", "v", "i_syn")}
    outs = []
    with torch.no_grad():
        for b in range(B):
            model = from_nir(nir.read(str(path)))  # fresh state per sample
            per = {k: {n: [] for n in neurons} for k in rec}
            out, state = [], None
            for t in range(T):
                y, state = model(torch.from_numpy(x[t, b]).reshape(1, 1, -1), state)
                out.append(y.reshape(-1).clone())
                for n in neurons:
                    mod = model.get_submodule(n)
                    per["spikes"][n].append(state.cache[n].reshape(-1).clone())
                    per["v"][n].append(mod.vmem.reshape(-1).clone())
                    per["i_syn"][n].append(mod.isyn.reshape(mod.size_out, -1).sum(-1).clone())
            outs.append(torch.stack(out))
            for k in rec:
                for n in neurons:
                    rec[k][n].append(torch.stack(per[k][n]))
    arrays = {"input": x, "output": torch.stack(outs, 1).numpy()}
    for k, d in rec.items():
        for n, lst in d.items():
            arrays[f"{k}/{key[n]}"] = torch.stack(lst, 1).numpy()
    peak = max(float(a.max()) for k, a in arrays.items() if k.startswith("spikes/"))
    over = [int(np.argmax(a.reshape(T, -1).max(1) > 1000)) for k, a in arrays.items()
            if k.startswith("spikes/") and a.max() > 1000]
    info = {
        "dt": min(dts.values()),
        "peak_count_per_step": peak,
        **({"runaway": {
            "first_step_over_1000": min(over),
            "note": "spike counts feed back through the recurrent Affine and grow without bound (up to "
                    "Rockpool's cap 2**16 per step); once counts exceed ~1e3, floor(v/theta) depends on the "
                    "last bit of W @ counts, i.e. on torch's summation order: a float32 re-implementation "
                    "(tests/parity/verify_rules.py) is identical up to this step, not beyond"}} if over else {}),
        "dt_per_layer": {key[n]: v for n, v in dts.items()},
        "framework_names": {key[n]: n for n in neurons},
        "options": "rockpool.nn.modules.torch.nir.from_nir(graph); stepped one step per call "
                   "carrying GraphExecutorState; one sample per run (batch state quirk)",
        "v_units": "Rockpool vmem (NIR volts, r and w_in ignored); spikes are counts",
        "node_names": "NIR node names (executor names, '.' -> '_', in framework_names)",
    }
    return arrays, info


def has_cycle(g):
    succ = {k: [b for a, b in g.edges if a == k] for k in g.nodes}
    state = {}

    def visit(k):
        state[k] = 1
        for c in succ[k]:
            if state.get(c) == 1 or (c not in state and visit(c)):
                return True
        state[k] = 2
        return False
    return any(visit(k) for k in g.nodes if k not in state)


def run_graph_sequence(path, x):
    """Feed-forward graphs only: ONE whole-sequence call on a fresh model, batch as Rockpool's
    batch axis (x (T, B, n) fed as (B, T, n)) -> spikes of every LIFTorch node (T, B, n).

    Exact for a graph without cycles: each module runs its own time loop over the whole
    sequence from the zero initial state, as when stepped; the batch state quirk (only batch
    element 0 survives a call) only matters for the NEXT call. The usual way to run a
    feed-forward Rockpool network; used for the many-sample prediction recordings (issue 9),
    where stepping one sample at a time costs ~10 s of CPU per sample."""
    g = nir.read(str(path))
    if has_cycle(g):
        raise ValueError("run_graph_sequence needs a graph without cycles (a whole-sequence call drops "
                         "recurrence through the executor); use run_graph")
    names = sanitized_names(g)
    model = from_nir(g)
    neurons = [n.name for n in model.execution_order if type(n.elem).__name__ == "LIFTorch"]
    key = {n: names[n] if isinstance(names.get(n), str) else n for n in neurons}
    with torch.no_grad():
        y, state = model(torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1))), None)
    arrays = {"input": x, "output": np.swapaxes(y.numpy(), 0, 1)}
    for n in neurons:
        arrays[f"spikes/{key[n]}"] = np.swapaxes(state.cache[n].numpy(), 0, 1)
    info = {"dt": min(float(model.get_submodule(n).dt) for n in neurons),
            "framework_names": {key[n]: n for n in neurons},
            "options": "rockpool.nn.modules.torch.nir.from_nir(graph); ONE whole-sequence call per chunk "
                       "on a fresh model, input (B, T, n) (feed-forward graph: exact, see run_graph_sequence)"}
    return arrays, info


def main():
    rec = Recorder("rockpool", ["rockpool", "nir", "nirtorch", "torch", "numpy"],
                   notes={"execution": "torch eager, float32, CPU, 2 threads",
                          "dt": "the file's 'dt' is the smallest per-layer dt Rockpool inferred "
                                "(see dt_per_layer); Rockpool takes no dt argument",
                          "output": "key 'output' = value returned by the executor"})
    for case in ["lif_paper"] + GRAPH_CASES + list(BRAILLE_CASES):
        rec.run(case, lambda c=case: run_case(c))
    for case, entry in rec.manifest["cases"].items():
        if "tau_mem" in entry.get("error", ""):
            rec.explain(case, "Rockpool 3.1.0's NIR importer maps nir.LIF to LIFNeuronTorch but reads "
                              "node.tau_mem, which nir.LIF does not have (it has tau): plain LIF import crashes")
        elif "NotImplementedError" in entry.get("error", ""):
            rec.explain(case, "rockpool.nn.modules.torch.nir._convert_nir_to_rockpool has no mapping for "
                              "this node type (IF, Conv2d, SumPool2d, Flatten)")
    rec.write()


if __name__ == "__main__":
    main()
