"""Reading ``.nir`` files through the ``nir`` package, with nirjax's own checks of the
raw structure first (node types and edges, also inside nested graphs), so that a
malformed file gets an error naming the node or edge instead of nir's internals."""

from __future__ import annotations

import difflib
import os

import h5py
import nir
import numpy as np

from ._errors import DanglingEdgeError, NIRFileError, UnknownNodeError

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
            raise UnknownNodeError(unknown_msg(label, kind))
        if kind == "NIRGraph":
            _check_raw(node, where=f"{label}.")
    edges = raw.get("edges", [])
    for src, dst in np.asarray(edges).reshape(-1, 2).tolist():
        src, dst = _s(src), _s(dst)
        for end, role in ((src, "source"), (dst, "destination")):
            head = end.split(".")[0]
            if end not in nodes and not (head in nodes and nodes[head].get("type") == "NIRGraph"):
                raise DanglingEdgeError(dangling_msg(where, (src, dst), end, role, list(nodes)))


def _s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def unknown_msg(name, kind):
    return (
        f"Node {name!r} has type {kind!r}, which nirjax has no semantics for. "
        f"Known NIR types: {', '.join(KNOWN_TYPES)}. Replace the node by supported "
        "primitives or register a semantics for it."
    )


def dangling_msg(where, edge, end, role, names):
    scope = f"inside subgraph {where[:-1]!r}" if where else "in the graph"
    close = difflib.get_close_matches(end, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"Edge {edge} {scope} names {role} node {end!r}, which does not exist. "
        f"Nodes there: {sorted(names)}.{hint} Fix the edge list (rename the edge end or the node)."
    )
