"""Back to NIR: ``to_nir(graph)`` and ``save(graph, path)``, through the ``nir`` package.

Parameters are written as they are in the pytree (trained or swept values
included). Inlined subgraph ports (pass-through maps) are bypassed; nested
names stay as ``outer.inner``. Files are written with nir >= 1.0.6 fields
(``v_reset``); the reset rule "subtract" has no NIR field, so a graph meant
for it must say so out of band (as the braille "subtract" graph does).
"""

from __future__ import annotations

import os

import nir
import numpy as np

from .semantics import maps
from .semantics.network import Network

from ._convert import _DYNAMIC
from ._errors import UnsupportedError

# the inverse of the reader's table: primitive -> (NIR type, its parameters)
_FIELDS = {prim: (nir_type, fields) for nir_type, (prim, fields) in _DYNAMIC.items()}


def _np(x):
    return np.asarray(x, dtype=np.float64)


def _node(name, p):
    spec = _FIELDS.get(type(p))
    if spec is not None:
        cls, fields = spec
        return cls(**{f: _np(getattr(p, f)) for f in fields})
    if isinstance(p, maps.Affine):
        return nir.Affine(weight=_np(p.weight), bias=_np(p.bias))
    if isinstance(p, maps.Linear):
        return nir.Linear(weight=_np(p.weight))
    if isinstance(p, maps.Scale):
        return nir.Scale(scale=_np(p.scale))
    if isinstance(p, maps.Flatten):
        start = next((i for i, (a, b) in enumerate(zip(p.in_shape, p.out_shape)) if a != b), 0)
        end = start + len(p.in_shape) - len(p.out_shape)
        return nir.Flatten(input_type={"input": np.array(p.in_shape)}, start_dim=start, end_dim=end)
    if isinstance(p, maps.Conv):
        nd = len(p.stride)
        if all(a == b for a, b in p.padding):
            padding = tuple(a for a, _ in p.padding)
        elif list(p.padding) == maps.conv_padding("same", p.weight.shape[2:], p.dilation):
            padding = "same"
        else:
            raise UnsupportedError(f"Node {name!r}: asymmetric padding {p.padding} has no NIR form.")
        cls = nir.Conv1d if nd == 1 else nir.Conv2d
        spatial = p.in_shape[1:]
        return cls(input_shape=spatial[0] if nd == 1 else tuple(spatial), weight=_np(p.weight), stride=p.stride,
                   padding=padding[0] if nd == 1 and not isinstance(padding, str) else padding,
                   dilation=p.dilation[0] if nd == 1 else p.dilation, groups=p.groups, bias=_np(p.bias))
    if isinstance(p, maps.Pool2d):
        cls = nir.AvgPool2d if p.average else nir.SumPool2d
        return cls(kernel_size=np.array(p.kernel_size), stride=np.array(p.stride),
                   padding=np.array([a for a, _ in p.padding]))
    raise UnsupportedError(f"Node {name!r}: no NIR form for {type(p).__name__}.")


def to_nir(graph: Network) -> nir.NIRGraph:
    """The graph as a ``nir.NIRGraph`` with the current parameter values."""
    if not isinstance(graph, Network):
        raise TypeError(f"to_nir takes a graph from nirjax.load, got {type(graph).__name__}.")
    ports = {n for n, p in graph.nodes.items() if isinstance(p, maps.Identity)}

    def sources(n):  # predecessors with pass-through ports bypassed
        out = []
        for s in graph.preds(n):
            out.extend(sources(s) if s in ports else [s])
        return out

    nodes = {n: nir.Input(input_type={"input": np.array(graph.shape_of(n))}) for n in graph.inputs}
    for n, p in graph.nodes.items():
        if n not in ports:
            nodes[n] = _node(n, p)
    for n, shape in graph.output_shapes:
        nodes[n] = nir.Output(output_type={"output": np.array(shape)})
    edges = [(s, d) for d in nodes for s in sources(d)]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def save(graph: Network, path) -> None:
    """Write ``graph`` to a ``.nir`` file (HDF5) with ``nir.write``."""
    nir.write(os.fspath(path), to_nir(graph))
