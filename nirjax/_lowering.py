"""From a ``.nir`` file or ``nir.NIRGraph`` to a validated :class:`semantics.Network`.

Steps: read (``_reading``), inline nested subgraphs (inner names become
``outer.inner``), build one primitive per node with inferred shapes
(``_convert``), check edge shapes, reject algebraic loops, order the maps
topologically, and recognise graphs exported at a fixed dt.
"""

from __future__ import annotations

import math
import os
import warnings

import nir
import numpy as np

from .semantics import maps, neurons
from .semantics.network import Network

from ._convert import build_dynamic, build_map, declared_shape
from ._errors import (
    AlgebraicLoopError,
    DanglingEdgeError,
    GraphError,
    MissingPortError,
    ParameterError,
    ShapeMismatchError,
    SpikeAreaHint,
    UnknownNodeError,
)
from ._reading import KNOWN_TYPES, dangling_msg, read_nir, unknown_msg

# -- inlining ------------------------------------------------------------------
def _inline(graph: nir.NIRGraph, prefix=""):
    """Flatten nested NIRGraphs. Returns (nodes, edges, top_inputs, top_outputs)."""
    nodes, edges = {}, []
    ports = {}  # subgraph name -> (inputs, outputs) of its inlined nodes
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges, ins, outs = _inline(node, prefix=full + ".")
            for n, v in sub_nodes.items():
                if n in ins or n in outs:
                    v = ("port", v)  # inner Input/Output: a pass-through map
                nodes[n] = v
            edges.extend(sub_edges)
            ports[full] = (ins, outs)
        else:
            nodes[full] = node
    names = set(nodes)

    def resolve(end, side):
        full = prefix + end
        if full in ports:
            ins, outs = ports[full]
            cands = ins if side == "dst" else outs
            if len(cands) != 1:
                raise DanglingEdgeError(
                    f"Edge end {full!r} names a subgraph with {len(cands)} "
                    f"{'inputs' if side == 'dst' else 'outputs'} ({cands}); name the port, e.g. {cands[0]!r}."
                    if cands
                    else f"Edge end {full!r} names a subgraph without {'Input' if side == 'dst' else 'Output'} node."
                )
            return cands[0]
        if full not in names:
            raise DanglingEdgeError(dangling_msg(prefix, (end, "?"), end, side, sorted(graph.nodes)))
        return full

    for src, dst in graph.edges:
        edges.append((resolve(src, "src"), resolve(dst, "dst")))
    ins = [n for n, v in nodes.items() if isinstance(v, nir.Input) and n.count(".") == prefix.count(".")]
    outs = [n for n, v in nodes.items() if isinstance(v, nir.Output) and n.count(".") == prefix.count(".")]
    return nodes, edges, ins, outs


# -- the graph --------------------------------------------------------------------
def lower(graph: nir.NIRGraph) -> Network:
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"expected a nir.NIRGraph, got {type(graph).__name__}")
    raw_nodes, edges, _, _ = _inline(graph)
    notes = []
    for name, node in raw_nodes.items():
        real = node[1] if isinstance(node, tuple) else node
        if type(real).__name__ not in KNOWN_TYPES:
            raise UnknownNodeError(unknown_msg(name, type(real).__name__))
    inputs = tuple(n for n, v in raw_nodes.items() if isinstance(v, nir.Input))
    outputs = tuple(n for n, v in raw_nodes.items() if isinstance(v, nir.Output))
    if not inputs:
        raise MissingPortError("The graph has no Input node: add nir.Input nodes for the external signals.")
    if not outputs:
        raise MissingPortError("The graph has no Output node: add a nir.Output node after the nodes you read out.")
    preds = {n: [] for n in raw_nodes}
    for s, d in edges:
        preds[d].append(s)
    for n in inputs:
        if preds[n]:
            raise GraphError(f"Input node {n!r} has incoming edges {preds[n]}; inputs must be sources.")

    built, shapes = {}, {}
    for n in inputs:
        shp = declared_shape(raw_nodes[n], "output_type")
        if shp is None:
            raise MissingPortError(f"Input node {n!r} declares no shape.")
        shapes[n] = shp
    pending = [n for n in raw_nodes if n not in inputs and n not in outputs]
    for n in pending:
        node = raw_nodes[n]
        if isinstance(node, tuple) or not isinstance(node, nir.NIRNode):
            continue
        prim = build_dynamic(n, node)
        if prim is not None:
            built[n] = prim
            shapes[n] = prim.out_shape
    # maps and ports: propagate shapes until fixed point
    todo = [n for n in pending if n not in built]
    while todo:
        progress = False
        for n in list(todo):
            in_shape = _in_shape(n, preds, shapes)
            node = raw_nodes[n]
            if isinstance(node, tuple):
                if in_shape is None:
                    continue
                prim = maps.Identity(in_shape=in_shape, out_shape=in_shape)
            else:
                prim = build_map(n, node, in_shape)
                if prim is None:
                    continue
            built[n] = prim
            shapes[n] = prim.out_shape
            todo.remove(n)
            progress = True
        if not progress:
            # either a cycle of shape-polymorphic maps or a map without inputs
            n = todo[0]
            if not preds[n]:
                raise DanglingEdgeError(f"Node {n!r} has no incoming edge, so its input shape is unknown; connect it.")
            cyc = _find_cycle(todo, preds)
            if cyc:
                raise AlgebraicLoopError(_loop_msg(cyc))
            raise ShapeMismatchError(f"Cannot infer the input shape of node {n!r} (predecessors {preds[n]}).")
    # edge shapes
    for s, d in edges:
        if d in outputs:
            continue
        want = built[d].in_shape
        got = shapes[s]
        if math.prod(got) != math.prod(want) or (len(got) == len(want) and got != want):
            raise ShapeMismatchError(
                f"Edge ({s!r} -> {d!r}): {s!r} emits shape {got} but {d!r} takes {want}. "
                "Insert a Flatten or fix the weights."
            )
    # outputs
    out_shapes = []
    for n in outputs:
        if not preds[n]:
            raise MissingPortError(f"Output node {n!r} has no incoming edge.")
        inferred = shapes[preds[n][0]]
        for p in preds[n][1:]:
            if shapes[p] != inferred:
                raise ShapeMismatchError(f"Output {n!r} sums inputs of shapes {shapes[preds[n][0]]} and {shapes[p]}.")
        declared = declared_shape(raw_nodes[n], "input_type")
        if declared is not None and declared != inferred:
            if math.prod(declared) != math.prod(inferred):
                raise ShapeMismatchError(
                    f"Output node {n!r} declares shape {declared}, but its input has shape {inferred}."
                )
            notes.append(f"output {n!r}: declared shape {declared} differs from the inferred {inferred}; using {inferred}")
        out_shapes.append((n, inferred))
    # algebraic loops: cycles among maps only
    map_names = [n for n in built if isinstance(built[n], maps.Map)]
    cyc = _find_cycle(map_names, preds)
    if cyc:
        raise AlgebraicLoopError(_loop_msg(cyc))
    order = _topo(map_names, preds)
    net = Network(
        nodes=built,
        inputs=inputs,
        outputs=outputs,
        input_shapes=tuple((n, shapes[n]) for n in inputs),
        predecessors=tuple((n, tuple(p)) for n, p in preds.items() if p),
        map_order=tuple(order),
        output_shapes=tuple(out_shapes),
        notes=tuple(notes),
    )
    _check_semantics(net)
    return net


def _in_shape(n, preds, shapes):
    ps = preds[n]
    if not ps or any(p not in shapes for p in ps):
        return None
    return shapes[ps[0]]


def _find_cycle(names, preds):
    names = set(names)
    color = {}

    def dfs(n, path):
        color[n] = 1
        path.append(n)
        for p in preds.get(n, []):
            if p not in names:
                continue
            if color.get(p) == 1:
                return path[path.index(p):] + [p]
            if color.get(p) is None:
                r = dfs(p, path)
                if r:
                    return r
        color[n] = 2
        path.pop()
        return None

    for n in sorted(names):
        if color.get(n) is None:
            r = dfs(n, [])
            if r:
                return list(reversed(r))
    return None


def _loop_msg(cyc):
    return (
        f"Algebraic loop through stateless nodes only: {' -> '.join(cyc)}. A cycle must pass "
        "through a neuron (or a Delay) so that each signal is defined by the past; insert one, "
        "or remove an edge of the cycle."
    )


def _topo(names, preds):
    names = list(names)
    done, order = set(), []

    def visit(n):
        if n in done:
            return
        done.add(n)
        for p in preds.get(n, []):
            if p in names:
                visit(p)
        order.append(n)

    for n in names:
        visit(n)
    return order


def _check_semantics(net: Network):
    for n in net.spiking:
        node = net.nodes[n]
        bad = np.asarray(node.v_reset) >= np.asarray(node.v_threshold)
        if np.any(bad):
            raise ParameterError(
                f"Node {n!r}: v_reset >= v_threshold ({np.asarray(node.v_reset)[bad].ravel()[0]} >= "
                f"{np.asarray(node.v_threshold)[bad].ravel()[0]}): the neuron would fire forever at one instant."
            )


# -- spike-area hint ------------------------------------------------------------------
_ROUND = np.array([1.0, 2.0, 2.5, 5.0])


def spike_area_hint(net: Network):
    """The dt a graph looks exported at (r = tau_mem/dt, w_in = tau_syn/dt), or None."""
    dts = []
    for n in net.spiking:
        node = net.nodes[n]
        if isinstance(node, neurons.CubaLIF):
            d1 = np.asarray(node.tau_mem) / np.asarray(node.r)
            d2 = np.asarray(node.tau_syn) / np.asarray(node.w_in)
            if np.any(np.asarray(node.r) < 2) or not np.allclose(d1, d2, rtol=1e-3):
                return None
            dts.append(d1.ravel())
        elif isinstance(node, neurons.LIF):
            if np.any(np.asarray(node.r) < 4):  # LIF alone is a weaker sign: ask for tau >= 4 dt
                return None
            dts.append((np.asarray(node.tau) / np.asarray(node.r)).ravel())
    if not dts:
        return None
    d = np.concatenate(dts)
    dt = float(np.median(d))
    if not np.allclose(d, dt, rtol=1e-3):
        return None
    mant = dt / 10 ** np.floor(np.log10(dt))
    if not np.any(np.isclose(mant, _ROUND, rtol=1e-3)) and not np.isclose(mant, 10.0, rtol=1e-3):
        return None
    return float(f"{dt:.3g}")


def load(src, *, warn=True) -> Network:
    if isinstance(src, Network):
        return src
    if isinstance(src, (str, os.PathLike)):
        graph = read_nir(src)
    elif isinstance(src, nir.NIRGraph):
        graph = src
    else:
        raise TypeError(
            f"nirjax.load takes a path to a .nir file or a nir.NIRGraph, got {type(src).__name__}."
        )
    net = lower(graph)
    dt = spike_area_hint(net)
    if dt is not None:
        net = Network(**{**{f: getattr(net, f) for f in net.__dataclass_fields__}, "suggested_spike_area": dt})
        if warn:
            warnings.warn(
                f"This graph looks exported by a time-stepped framework at dt = {dt:g} s "
                f"(r = tau_mem/dt and w_in = tau_syn/dt for one dt across all neurons). Its "
                f"trained behaviour is the ideal model with spike_area={dt:g}: pass "
                f"`spike_area={dt:g}` to nirjax.simulate (load(..., warn=False) silences this).",
                SpikeAreaHint,
                stacklevel=3,
            )
    return net
