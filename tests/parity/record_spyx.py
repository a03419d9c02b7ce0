"""Record Spyx 1.0.0 on the parity cases ("new" env: nir 1.0.8, jax, flax.nnx).

XLA_FLAGS=--xla_backend_optimization_level=0 is set before jax is imported, so
jitted `beta*v + x` is not contracted into one FMA (outputs then round like
torch eager; recorded in the manifest).
Import + run: `model, (out, states) = spyx.nir.from_nir(graph, x, dt=1e-4,
return_all_states=True)` exactly as a user would (x time-major (T, B, n)).
`states` gives each neuron layer's state after every step: LIF/IF -> V;
CuBaLIF/RCuBaLIF -> concat(V, I) on the last axis (split here).
Spikes of inner layers are not returned by from_nir: they are obtained by
running the same model layer by layer in a lax.scan (the Sequential's own
__call__ logic, one layer at a time) and checked against from_nir's output
and states (must be identical). Layers are named by the NIR node they were built
from (Spyx follows the first out-edge chain from 'input'; other nodes are
silently dropped - listed in the manifest as `dropped_nodes`).
Units: NIR volts as Spyx sees them (r, w_in ignored: v = beta*v + x).
Conv cases (`cnn`, `conv_if_*`): the input is fed channels-last (T, B, H, W, C), as
Spyx's nnx.Conv needs; conv-layer states and spikes (and a 3-d output) are stored
back in NIR layout (T, B, C, H, W).
Keys are NIR node names: a folded RNN layer (Spyx names it by the prefix before the
first '.', `lif1.lif` -> `lif1`) is stored under its neuron node's name; the layer
names are in `framework_names`.
A graph whose Input node is not literally named "input" gives an empty Sequential
(`_order_edge_list` starts its walk at the string "input"): from_nir returns its input
unchanged; recorded as outcome "silent".
"""
from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import contextlib  # noqa: E402
import io  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BRAILLE_CASES, CNN_CASE, DT, GRAPH_CASES, Hang, Recorder, Silent,  # noqa: E402
                    case_input, graph_path)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import nir  # noqa: E402
import spyx  # noqa: E402
import spyx.nir  # noqa: E402

NEURONS = ("LIF", "IF", "CuBaLIF", "RCuBaLIF", "RLIF", "RIF")


def layer_names(g):
    """Names of the NIR nodes Spyx builds layers from (mirrors spyx.nir._build_model order)."""
    g = spyx.nir._replace_rnn_subgraph_with_nirgraph(g)
    names, cur = [], "input"
    while cur != "output":
        nxt = next((d for s, d in g.edges if s == cur), None)
        if nxt is None:
            break
        if cur != "input" and spyx.nir._nir_node_to_spyx_module(g.nodes[cur], spyx.nir.nnx.Rngs(0)) is not None:
            names.append(cur)
        cur = nxt
    return names, g


def nir_layout(a):
    """(T, B, H, W, C) channels-last (Spyx) -> (T, B, C, H, W) (NIR); other ranks unchanged."""
    return np.moveaxis(a, -1, 2) if a.ndim == 5 else a


HANG_TIMEOUT_S = 20


def walk_cycle(path):
    """The node sequence Spyx's `_build_model._order_edge_list` walks (first out-edge of each node,
    from the node named "input" until "output"), on the graph after Spyx's own RNN rewiring, if
    that walk revisits a node (then it never ends: the loop only stops at "output"); else None."""
    with contextlib.redirect_stdout(io.StringIO()):
        g = spyx.nir._replace_rnn_subgraph_with_nirgraph(nir.read(str(path)))
    cur, seen = "input", []
    while cur != "output":
        nxt = next((d for s, d in g.edges if s == cur), None)
        if nxt is None:
            return None
        if cur in seen:
            return seen[seen.index(cur):] + [cur]
        seen.append(cur)
        cur = nxt
    return None


def check_returns(path, x):
    """Run the real from_nir in a subprocess; raise Hang if it does not return in time."""
    code = ("import sys, numpy as np, nir, jax.numpy as jnp, spyx.nir; "
            "spyx.nir.from_nir(nir.read(sys.argv[1]), jnp.zeros(tuple(int(d) for d in sys.argv[2:])), "
            f"dt={DT}); print('returned')")
    cycle = walk_cycle(path)
    try:
        subprocess.run([sys.executable, "-c", code, str(path), *map(str, (2, 2, *x.shape[2:]))],
                       timeout=HANG_TIMEOUT_S, capture_output=True, check=False)
    except subprocess.TimeoutExpired:
        raise Hang(f"spyx.nir.from_nir did not return within {HANG_TIMEOUT_S} s (killed): after "
                   "_replace_rnn_subgraph_with_nirgraph names every RNN block by the prefix before the "
                   "first '.', both blocks become one node and _order_edge_list's walk cycles through "
                   f"{' -> '.join(cycle)} forever, appending to its list (memory grows)",
                   {"cycle": cycle, "timeout_s": HANG_TIMEOUT_S}) from None


def run_case(case):
    return run_graph(graph_path(case), case_input(case))


def run_graph(path, x):
    """Import the NIR file at `path` and run it on x (T, B, *in) -> (arrays, info)."""
    path = str(path)
    if walk_cycle(path) is not None:  # a walk that revisits a node: observe the real import in a subprocess
        check_returns(path, x)
    # Spyx convolutions are channels-last (nnx.Conv): a user feeds (T, B, H, W, C)
    xj = jnp.asarray(np.ascontiguousarray(np.moveaxis(x, 2, -1)) if x.ndim == 5 else x)
    model, (out, states) = spyx.nir.from_nir(nir.read(path), xj, dt=DT, return_all_states=True)
    names, g2 = layer_names(nir.read(path))
    layers = list(model.layers)
    if not layers:
        same = bool(np.array_equal(np.asarray(out), np.asarray(xj)))
        raise Silent("spyx.nir.from_nir built an empty Sequential: _build_model's _order_edge_list starts its "
                     "walk at the node literally named 'input', and this graph's Input node is named "
                     f"{[k for k, v in nir.read(path).nodes.items() if isinstance(v, nir.Input)][0]!r}; "
                     f"the model returns its input unchanged (checked: {same})",
                     {"output_equals_input": same})
    assert len(names) == len(layers), (names, layers)
    all_nodes = set(nir.read(path).nodes) - {"input", "output"}
    used = set()
    for n in names:
        node = g2.nodes[n]
        used |= set(node.nodes) if isinstance(node, nir.NIRGraph) else {n}
    dropped = sorted(all_nodes - used - {k for k in all_nodes if "." in k and k.split(".")[0] in names})

    init = model.initial_state(x.shape[1])

    def step(state, x_t):
        outs, new_state, h = [], [], x_t
        for layer, s in zip(model.layers, state):
            if s is not None:
                h, s = layer(h, s)
            else:
                h = layer(h)
            outs.append(h)
            new_state.append(s)
        return new_state, outs

    _, layer_outs = jax.lax.scan(step, init, xj)
    assert np.array_equal(np.asarray(layer_outs[-1]), np.asarray(out)), "layer-wise rerun differs"
    arrays = {"input": x, "output": nir_layout(np.asarray(out))}
    kinds, fw_names = {}, {}
    for i, (n, layer) in enumerate(zip(names, layers)):
        kind = type(layer).__name__
        node = g2.nodes[n]
        if isinstance(node, nir.NIRGraph):  # folded RNN block: store under its neuron node's name
            n = next(k for k, v in node.nodes.items() if isinstance(v, (nir.IF, nir.LIF, nir.CubaLIF)))
        kinds[n] = kind
        fw_names[n] = names[i]
        if kind not in NEURONS:
            continue
        st = np.asarray(states[i])
        arrays[f"spikes/{n}"] = nir_layout(np.asarray(layer_outs[i]))
        if kind in ("CuBaLIF", "RCuBaLIF"):
            v, cur = np.split(st, 2, axis=-1)
            arrays[f"v/{n}"] = nir_layout(v)
            arrays[f"i_syn/{n}"] = nir_layout(cur)
        else:
            arrays[f"v/{n}"] = nir_layout(st)
    info = {
        "dt": DT,
        "options": f"spyx.nir.from_nir(graph, x, dt={DT}, return_all_states=True); "
                   "XLA_FLAGS=--xla_backend_optimization_level=0",
        "layers": kinds,
        "framework_names": fw_names,
        "dropped_nodes": dropped,
        "v_units": "NIR volts as Spyx integrates them (r, w_in ignored); v after the step "
                   "(spikes are fired from the previous step's v)",
        "node_names": "NIR node names; an RNN cycle lif1.lif<->lif1.w_rec is Spyx layer 'lif1' "
                      "(framework_names), stored as 'lif1.lif'",
        **({"layout": "input fed channels-last (T, B, H, W, C) as Spyx's nnx.Conv needs; stored (and "
                      "states/spikes of conv layers) in NIR layout (T, B, C, H, W)"} if x.ndim == 5 else {}),
    }
    return arrays, info


def main():
    rec = Recorder("spyx", ["spyx", "nir", "jax", "jaxlib", "flax", "numpy"],
                   notes={"execution": "jax on CPU, float32, jit via lax.scan",
                          "XLA_FLAGS": os.environ["XLA_FLAGS"],
                          "fma": "FMA contraction disabled by XLA_FLAGS (torch-like two roundings)",
                          "output": "key 'output' = from_nir outputs (last layer)"})
    for case in ["lif_paper"] + GRAPH_CASES + list(BRAILLE_CASES) + [CNN_CASE]:
        rec.run(case, lambda c=case: run_case(c))
    rec.write()


if __name__ == "__main__":
    main()
