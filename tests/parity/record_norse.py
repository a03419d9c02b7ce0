"""Record Norse 1.1.0 on the parity cases ("new" env: nir 1.0.8, nirtorch 2.6).

Import: `norse.torch.from_nir(nir.read(path), dt=1e-4, ignore_warnings=True)`
(reset_method left at its default reset_value = reset to 0, except the extra
case `braille_subtract_reset_subtract` which passes
`reset_method=norse.torch.functional.reset.reset_subtract`).
The result is a nirtorch GraphExecutor (nirtorch.load); it is run one step per
call as `out, state = model(x_t, state)`, carrying the returned
GraphExecutorState (needed for recurrence).
Recorded per neuron node (names as in the executor: '.' -> '_'):
spikes = state.cache[node] (the node's output at the step),
v = the neuron state v after the step (NIR volts; LIF/IF: LIFBoxFeedForwardState.v /
IAFFeedForwardState.v; CubaLIF: the LIFBox part), i_syn = the CubaLIF synapse
state (LIBoxState.v, the current before the `r` scaling) after the step.
Graphs with a NIR Flatten(start_dim=0) (`cnn`, `conv_if_a`) run one sample at a
time: Norse imports it as torch.nn.Flatten(0), which also flattens the batch axis.
Keys are NIR node names (the executor's names, '.' -> '_', are in `framework_names`).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BRAILLE_CASES, CNN_CASE, DT, GRAPH_CASES, Recorder, case_input, graph_path,  # noqa: E402
                    sanitized_names)

import nir  # noqa: E402
import torch  # noqa: E402
import norse  # noqa: E402
import norse.torch  # noqa: E402
from norse.torch.functional import reset as nreset  # noqa: E402

torch.set_num_threads(2)
warnings.filterwarnings("ignore", category=DeprecationWarning)


def split_state(node_state):
    """Return (v, i_syn or None) from a Norse node state as stored by the executor."""
    st = node_state[0] if isinstance(node_state, tuple) and len(node_state) == 1 else node_state
    if isinstance(st, tuple) and len(st) == 2 and hasattr(st[1], "v"):  # CubaLIF (syn, lif)
        return st[1].v, st[0].v
    return st.v, None


def run_steps(model, neurons, x, key):
    """One call per step carrying the executor state; arrays (T, B, *shape)."""
    T, B = x.shape[:2]
    rec = {k: {n: [] for n in neurons} for k in ("spikes", "v", "i_syn")}
    out, state = [], None
    with torch.no_grad():
        for t in range(T):
            y, state = model(torch.from_numpy(x[t]), state)
            out.append(y.clone())
            for n in neurons:
                rec["spikes"][n].append(state.cache[n].clone())
                v, i = split_state(state.state[n])
                rec["v"][n].append(v.clone())
                if i is not None:
                    rec["i_syn"][n].append(i.clone())

    def tb(lst):  # a batch of 1 flattened away by Flatten(0) gets its axis back
        a = torch.stack(lst).numpy()
        return a if a.shape[1:2] == (B,) else a.reshape(T, B, *a.shape[1:])

    arrays = {"output": tb(out)}
    for k, d in rec.items():
        for n, lst in d.items():
            if lst:
                arrays[f"{k}/{key[n]}"] = tb(lst)
    return arrays


def run_case(case, reset_method=nreset.reset_value):
    base = case.replace("_reset_subtract", "")
    return run_graph(graph_path(base), case_input(base), reset_method)


def run_graph(path, x, reset_method=nreset.reset_value):
    """Import the NIR file at `path` and run it on x (T, B, *in) -> (arrays, info)."""
    g = nir.read(str(path))
    model = norse.torch.from_nir(g, dt=DT, ignore_warnings=True, reset_method=reset_method)
    neurons = [n.name for n in model.execution_order
               if type(n.elem).__name__ in ("LIFBoxCell", "IAFCell", "CubaLIF")]
    names = sanitized_names(g)
    key = {n: names[n] if isinstance(names.get(n), str) else n for n in neurons}
    flatten0 = any(isinstance(node, nir.Flatten) and node.start_dim == 0 for node in g.nodes.values())
    if flatten0:
        # Norse maps NIR Flatten(start_dim=0) to torch.nn.Flatten(0), which flattens the batch
        # axis too (a batch of 2 reaches the Affine as one 256-vector): one sample at a time
        parts = [run_steps(model, neurons, x[:, b:b + 1], key) for b in range(x.shape[1])]
        arrays = {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}
    else:
        arrays = run_steps(model, neurons, x, key)
    arrays = {"input": x, **arrays}
    info = {
        "dt": DT,
        "options": f"norse.torch.from_nir(graph, dt={DT}, ignore_warnings=True, "
                   f"reset_method={reset_method.__name__}); one call per step carrying GraphExecutorState",
        "execution_order": [n.name for n in model.execution_order],
        **({"batch": "one sample per run: Norse maps NIR Flatten(start_dim=0) to torch.nn.Flatten(0), "
                     "which flattens the batch axis too"} if flatten0 else {}),
        "framework_names": {key[n]: n for n in neurons},
        "modules": {key[n]: type(model.get_submodule(n)).__name__ for n in neurons},
        "v_units": "NIR volts (LIF/IF/CubaLIF membrane v); i_syn = CubaLIF synapse state before r scaling",
        "node_names": "NIR node names (executor names, '.' -> '_', in framework_names)",
    }
    return arrays, info


def main():
    rec = Recorder("norse", ["norse", "nir", "nirtorch", "torch", "numpy"],
                   notes={"execution": "torch eager, float32, CPU, 2 threads; a*b+c rounds twice",
                          "output": "key 'output' = value returned by the executor (see PLATFORMS.md: "
                                    "may be the wrong node when the DFS order ends elsewhere)"})
    for case in ["lif_paper"] + GRAPH_CASES + list(BRAILLE_CASES) + [CNN_CASE]:
        rec.run(case, lambda c=case: run_case(c))
    rec.run("braille_subtract_reset_subtract",
            lambda: run_case("braille_subtract_reset_subtract", nreset.reset_subtract))
    rec.write()


if __name__ == "__main__":
    main()
