"""One semantics primitive per NIR node: parameters checked (finite, positive time
constants, shapes) and converted to JAX arrays of the default float type."""

from __future__ import annotations

import jax.numpy as jnp
import nir
import numpy as np

from .semantics import events, maps, neurons

from ._errors import ParameterError, ShapeMismatchError, UnknownNodeError
from ._reading import unknown_msg

def param_array(node_name, pname, value, shape=None, positive=False):
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


# NIR type -> (primitive, its parameters). Time constants (``tau*``) must be > 0,
# ``delay`` >= 0; a missing ``v_reset`` (files written by nir <= 1.0.5) is 0.
_DYNAMIC = {
    nir.LIF: (neurons.LIF, ("tau", "r", "v_leak", "v_threshold", "v_reset")),
    nir.LI: (neurons.LI, ("tau", "r", "v_leak")),
    nir.IF: (neurons.IF, ("r", "v_threshold", "v_reset")),
    nir.I: (neurons.I, ("r",)),
    nir.CubaLIF: (neurons.CubaLIF, ("tau_syn", "tau_mem", "r", "v_leak", "w_in", "v_threshold", "v_reset")),
    nir.CubaLI: (neurons.CubaLI, ("tau_syn", "tau_mem", "r", "v_leak", "w_in")),
    nir.Delay: (events.Delay, ("delay",)),
    nir.Threshold: (events.Threshold, ("threshold",)),
}


def build_dynamic(name, node):
    """The primitive of a neuron, Delay or Threshold node, or None for other types."""
    spec = _DYNAMIC.get(type(node))
    if spec is None:
        return None
    cls, fields = spec
    given = tuple(f for f in fields if not (f == "v_reset" and getattr(node, f, None) is None))
    shape = _neuron_shape(name, node, given)
    p = {f: param_array(name, f, getattr(node, f), shape, positive=f.startswith("tau")) for f in given}
    if "v_reset" in fields and "v_reset" not in p:
        p["v_reset"] = param_array(name, "v_reset", np.zeros(shape), shape)
    if "delay" in p and np.any(np.asarray(p["delay"]) < 0):
        raise ParameterError(f"Node {name!r}: delay must be >= 0 seconds, got {float(np.min(p['delay']))}.")
    return cls(shape=shape, **p)


def _tuple(x, n):
    return tuple(int(v) for v in np.broadcast_to(np.asarray(x).ravel() if np.ndim(x) else x, (n,)))


def build_map(name, node, in_shape):
    """Build a map; ``in_shape`` is the inferred shape of its input (None if unknown yet)."""
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = node.weight
        if np.ndim(w) != 2:
            raise ShapeMismatchError(f"Node {name!r}: weight must be 2-D (out, in), got shape {np.shape(w)}.")
        out_f, in_f = np.shape(w)
        ins = (in_f,) if in_shape is None else tuple(in_shape[:-1]) + (in_f,)
        outs = ins[:-1] + (out_f,)
        W = param_array(name, "weight", w)
        if isinstance(node, nir.Affine):
            b = param_array(name, "bias", node.bias)
            if b.shape not in ((out_f,), ()):
                raise ShapeMismatchError(f"Node {name!r}: bias shape {b.shape} does not match weight rows {out_f}.")
            return maps.Affine(weight=W, bias=jnp.broadcast_to(b, (out_f,)), in_shape=ins, out_shape=outs)
        return maps.Linear(weight=W, in_shape=ins, out_shape=outs)
    if isinstance(node, nir.Scale):
        s = np.asarray(node.scale)
        shape = tuple(s.shape) if in_shape is None else tuple(in_shape)
        return maps.Scale(scale=param_array(name, "scale", s, shape), in_shape=shape, out_shape=shape)
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
            weight=param_array(name, "weight", w), bias=param_array(name, "bias", bias), stride=stride, padding=padding,
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
    raise UnknownNodeError(unknown_msg(name, type(node).__name__))


def declared_shape(node, key):
    t = getattr(node, key, None) or {}
    v = t.get("input" if key == "input_type" else "output")
    if v is None or np.size(v) == 0:
        return None
    return tuple(int(d) for d in np.asarray(v).ravel())
