"""From a ``.nir`` file or ``nir.NIRGraph`` to a validated :class:`semantics.Network`.

Steps: read (through the ``nir`` package), check the raw structure (node types,
edges, also inside nested graphs) before ``nir`` builds objects, inline nested
subgraphs (inner names become ``outer.inner``), build one primitive per node
with inferred shapes, check parameters and shapes, reject algebraic loops, and
order the maps topologically.
"""

from __future__ import annotations

import difflib
import math
import os
import warnings

import h5py
import jax.numpy as jnp
import nir
import numpy as np

from semantics import events, maps, neurons
from semantics.network import Network

from ._errors import (
    AlgebraicLoopError,
    DanglingEdgeError,
    GraphError,
    MissingPortError,
    NIRFileError,
    ParameterError,
    ShapeMismatchError,
    SpikeAreaHint,
    UnknownNodeError,
)

KNOWN_TYPES = (
    "Input Output Affine Linear Scale Conv1d Conv2d SumPool2d AvgPool2d Flatten Delay "
    "Threshold I IF LI LIF CubaLI CubaLIF NIRGraph"
).split()


# -- reading -----------------------------------------------------------------
def read_nir(path) -> nir.NIRGraph:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise NIRFileError(f"No such file: {path!r}.")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise NIRFileError(
                    f"{path!r} is an HDF5 file but not a NIR graph (no 'node' group). "
                    "Write graphs with nir.write or nirjax.save."
                )
            raw = nir.serialization.hdf2dict(f["node"])
    except OSError as e:
        raise NIRFileError(
            f"{path!r} is not a readable HDF5 file ({e}). Is it a .nir file, and was it written completely?"
        ) from None
    _check_raw(raw, where="")
    try:
        return nir.read(path)
    except ValueError as e:
        if "type" not in str(e).lower():
            raise NIRFileError(f"nir could not read {path!r}: {e}") from None
    # Files written by nir <= 1.0.5 often carry inconsistent declared types
    # (e.g. an Output typed [1 1 1] after a node of shape [1]); nirjax infers
    # shapes itself and checks every edge below.
    try:
        return nir.read(path, type_check=False)
    except Exception as e:  # noqa: BLE001 - re-raised with the path
        raise NIRFileError(f"nir could not read {path!r}: {e}") from None


def _check_raw(raw, where):
    nodes = raw.get("nodes", {})
    for name, node in nodes.items():
        kind = node.get("type")
        label = f"{where}{name}"
        if kind not in KNOWN_TYPES:
            raise UnknownNodeError(_unknown_msg(label, kind))
        if kind == "NIRGraph":
            _check_raw(node, where=f"{label}.")
    edges = raw.get("edges", [])
    for src, dst in np.asarray(edges).reshape(-1, 2).tolist():
        src, dst = _s(src), _s(dst)
        for end, role in ((src, "source"), (dst, "destination")):
            head = end.split(".")[0]
            if end not in nodes and not (head in nodes and nodes[head].get("type") == "NIRGraph"):
                raise DanglingEdgeError(_dangling_msg(where, (src, dst), end, role, list(nodes)))


def _s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def _unknown_msg(name, kind):
    return (
        f"Node {name!r} has type {kind!r}, which nirjax has no semantics for. "
        f"Known NIR types: {', '.join(KNOWN_TYPES)}. Replace the node by supported "
        "primitives or register a semantics for it."
    )


def _dangling_msg(where, edge, end, role, names):
    scope = f"inside subgraph {where[:-1]!r}" if where else "in the graph"
    close = difflib.get_close_matches(end, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"Edge {edge} {scope} names {role} node {end!r}, which does not exist. "
        f"Nodes there: {sorted(names)}.{hint} Fix the edge list (rename the edge end or the node)."
    )


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
            raise DanglingEdgeError(_dangling_msg(prefix, (end, "?"), end, side, sorted(graph.nodes)))
        return full

    for src, dst in graph.edges:
        edges.append((resolve(src, "src"), resolve(dst, "dst")))
    ins = [n for n, v in nodes.items() if isinstance(v, nir.Input) and n.count(".") == prefix.count(".")]
    outs = [n for n, v in nodes.items() if isinstance(v, nir.Output) and n.count(".") == prefix.count(".")]
    return nodes, edges, ins, outs


# -- building primitives ----------------------------------------------------------
def _arr(node_name, pname, value, shape=None, positive=False):
    a = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        bad = a[~np.isfinite(a)].ravel()[0]
        raise ParameterError(
            f"Node {node_name!r}: parameter {pname!r} contains {bad} (non-finite). "
            "Every parameter must be a finite number; fix the value in the graph."
        )
    if positive and np.any(a <= 0):
        bad = a[a <= 0].ravel()[0]
        raise ParameterError(
            f"Node {node_name!r}: time constant {pname!r} = {bad} must be > 0 "
            "(seconds). Check the export (some tools write tau in steps or as dt*tau)."
        )
    if shape is not None:
        try:
            a = np.broadcast_to(a, shape)
        except ValueError:
            raise ShapeMismatchError(
                f"Node {node_name!r}: parameter {pname!r} has shape {a.shape}, which does not "
                f"broadcast to the node shape {shape}."
            ) from None
    return jnp.asarray(a, dtype=jnp.result_type(float))


def _neuron_shape(name, node, fields):
    shapes = [np.shape(getattr(node, f)) for f in fields]
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeMismatchError(
            f"Node {name!r}: parameters {dict(zip(fields, shapes))} have incompatible shapes."
        ) from None


def _v_reset(node, shape):
    vr = getattr(node, "v_reset", None)
    return np.zeros(shape) if vr is None else vr


def _build_neuron(name, node):
    if isinstance(node, nir.CubaLIF):
        f = ("tau_syn", "tau_mem", "r", "v_leak", "w_in", "v_threshold")
        shape = _neuron_shape(name, node, f)
        p = {k: _arr(name, k, getattr(node, k), shape, positive=k.startswith("tau")) for k in f}
        p["v_reset"] = _arr(name, "v_reset", _v_reset(node, shape), shape)
        return neurons.CubaLIF(shape=shape, **p)
    if isinstance(node, nir.CubaLI):
        f = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")
        shape = _neuron_shape(name, node, f)
        p = {k: _arr(name, k, getattr(node, k), shape, positive=k.startswith("tau")) for k in f}
        return neurons.CubaLI(shape=shape, **p)
    if isinstance(node, nir.LIF):
        f = ("tau", "r", "v_leak", "v_threshold")
        shape = _neuron_shape(name, node, f)
        p = {k: _arr(name, k, getattr(node, k), shape, positive=k == "tau") for k in f}
        p["v_reset"] = _arr(name, "v_reset", _v_reset(node, shape), shape)
        return neurons.LIF(shape=shape, **p)
    if isinstance(node, nir.LI):
        f = ("tau", "r", "v_leak")
        shape = _neuron_shape(name, node, f)
        p = {k: _arr(name, k, getattr(node, k), shape, positive=k == "tau") for k in f}
        return neurons.LI(shape=shape, **p)
    if isinstance(node, nir.IF):
        f = ("r", "v_threshold")
        shape = _neuron_shape(name, node, f)
        p = {k: _arr(name, k, getattr(node, k), shape) for k in f}
        p["v_reset"] = _arr(name, "v_reset", _v_reset(node, shape), shape)
        return neurons.IF(shape=shape, **p)
    if isinstance(node, nir.I):
        shape = _neuron_shape(name, node, ("r",))
        return neurons.I(shape=shape, r=_arr(name, "r", node.r, shape))
    return None


def _tuple(x, n):
    return tuple(int(v) for v in np.broadcast_to(np.asarray(x).ravel() if np.ndim(x) else x, (n,)))


def _build_map(name, node, in_shape):
    """Build a map; ``in_shape`` is the inferred shape of its input (None if unknown yet)."""
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = node.weight
        if np.ndim(w) != 2:
            raise ShapeMismatchError(f"Node {name!r}: weight must be 2-D (out, in), got shape {np.shape(w)}.")
        out_f, in_f = np.shape(w)
        ins = (in_f,) if in_shape is None else tuple(in_shape[:-1]) + (in_f,)
        outs = ins[:-1] + (out_f,)
        W = _arr(name, "weight", w)
        if isinstance(node, nir.Affine):
            b = _arr(name, "bias", node.bias)
            if b.shape not in ((out_f,), ()):
                raise ShapeMismatchError(f"Node {name!r}: bias shape {b.shape} does not match weight rows {out_f}.")
            return maps.Affine(weight=W, bias=jnp.broadcast_to(b, (out_f,)), in_shape=ins, out_shape=outs)
        return maps.Linear(weight=W, in_shape=ins, out_shape=outs)
    if isinstance(node, nir.Scale):
        s = np.asarray(node.scale)
        shape = tuple(s.shape) if in_shape is None else tuple(in_shape)
        return maps.Scale(scale=_arr(name, "scale", s, shape), in_shape=shape, out_shape=shape)
    if isinstance(node, (nir.Conv1d, nir.Conv2d)):
        nd = 1 if isinstance(node, nir.Conv1d) else 2
        w = np.asarray(node.weight)
        if w.ndim != nd + 2:
            raise ShapeMismatchError(f"Node {name!r}: Conv{nd}d weight must have {nd + 2} axes, got {w.shape}.")
        if node.input_shape is not None:
            spatial = _tuple(node.input_shape, nd)
        elif in_shape is not None:
            spatial = tuple(in_shape[1:])
        else:
            return None
        groups = int(np.asarray(node.groups))
        ins = (w.shape[1] * groups, *spatial)
        stride = _tuple(node.stride, nd)
        dilation = _tuple(node.dilation, nd)
        padding = tuple(maps.conv_padding(node.padding if isinstance(node.padding, str) else _tuple(node.padding, nd), w.shape[2:], dilation))
        outs = maps.conv_out_shape(ins, w.shape, stride, padding, dilation)
        bias = np.zeros(w.shape[0]) if node.bias is None else np.broadcast_to(np.asarray(node.bias), (w.shape[0],))
        return maps.Conv(
            weight=_arr(name, "weight", w), bias=_arr(name, "bias", bias), stride=stride, padding=padding,
            dilation=dilation, groups=groups, in_shape=ins, out_shape=tuple(int(d) for d in outs),
        )
    if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
        if in_shape is None:
            return None
        if len(in_shape) != 3:
            raise ShapeMismatchError(f"Node {name!r}: 2-D pooling needs a (C, H, W) input, got {tuple(in_shape)}.")
        k = _tuple(node.kernel_size, 2)
        s = _tuple(node.stride, 2)
        p = tuple((v, v) for v in _tuple(node.padding, 2))
        outs = maps.pool_out_shape(tuple(in_shape), k, s, p)
        return maps.Pool2d(kernel_size=k, stride=s, padding=p, average=isinstance(node, nir.AvgPool2d),
                           in_shape=tuple(in_shape), out_shape=tuple(int(d) for d in outs))
    if isinstance(node, nir.Flatten):
        if in_shape is None:
            it = node.input_type.get("input") if node.input_type else None
            if it is None or np.size(it) == 0:
                return None
            in_shape = tuple(int(d) for d in np.asarray(it).ravel())
        outs = maps.flatten_shape(tuple(in_shape), int(node.start_dim), int(node.end_dim))
        return maps.Flatten(in_shape=tuple(in_shape), out_shape=outs)
    raise UnknownNodeError(_unknown_msg(name, type(node).__name__))


def _declared_shape(node, key):
    t = getattr(node, key, None) or {}
    v = t.get("input" if key == "input_type" else "output")
    if v is None or np.size(v) == 0:
        return None
    return tuple(int(d) for d in np.asarray(v).ravel())


# -- the graph --------------------------------------------------------------------
def lower(graph: nir.NIRGraph) -> Network:
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"expected a nir.NIRGraph, got {type(graph).__name__}")
    raw_nodes, edges, _, _ = _inline(graph)
    notes = []
    for name, node in raw_nodes.items():
        real = node[1] if isinstance(node, tuple) else node
        if type(real).__name__ not in KNOWN_TYPES:
            raise UnknownNodeError(_unknown_msg(name, type(real).__name__))
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
        shp = _declared_shape(raw_nodes[n], "output_type")
        if shp is None:
            raise MissingPortError(f"Input node {n!r} declares no shape.")
        shapes[n] = shp
    pending = [n for n in raw_nodes if n not in inputs and n not in outputs]
    for n in pending:
        node = raw_nodes[n]
        if isinstance(node, tuple) or not isinstance(node, nir.NIRNode):
            continue
        prim = _build_neuron(n, node)
        if prim is None and isinstance(node, nir.Delay):
            shape = tuple(np.shape(node.delay))
            prim = events.Delay(delay=_arr(n, "delay", node.delay, shape), shape=shape)
            if np.any(np.asarray(node.delay) < 0):
                raise ParameterError(f"Node {n!r}: delay must be >= 0 seconds, got {np.min(node.delay)}.")
        if prim is None and isinstance(node, nir.Threshold):
            shape = tuple(np.shape(node.threshold))
            prim = events.Threshold(threshold=_arr(n, "threshold", node.threshold, shape), shape=shape)
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
                prim = _build_map(n, node, in_shape)
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
        declared = _declared_shape(raw_nodes[n], "input_type")
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
