"""Stateless NIR primitives: instantaneous (affine) maps of signals.

A map applies to the continuous part of a signal with its bias
(:meth:`Map.__call__`) and to impulse areas without it (:meth:`Map.linear`):
a constant bias carries no impulses. Inputs are unbatched (``in_shape``);
batches are ``jax.vmap``'s job.
"""

from __future__ import annotations

import math

import numpy as np

import equinox as eqx
import jax
import jax.numpy as jnp


class Map(eqx.Module):
    in_shape: eqx.AbstractVar[tuple[int, ...]]
    out_shape: eqx.AbstractVar[tuple[int, ...]]

    def __call__(self, x):
        return self.linear(x)

    def linear(self, x):
        raise NotImplementedError


class Identity(Map):
    """Pass-through (an inlined subgraph's Input/Output port)."""

    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        return x


_UNROLL = 512


def _matvec(w, x):
    """``W x`` over the last axis, summed in a fixed order (``i = 0, 1, ...``).

    XLA vectorises a reduction differently for different shapes, so a batched
    ``dot`` (what ``jax.vmap`` makes of a matrix-vector product) rounds
    differently from the unbatched one; in a spiking network one rounding
    difference can move a grazing threshold crossing and change everything
    after it. An explicit multiply-accumulate chain is elementwise work, which
    rounds the same with and without ``vmap``: a batch equals a loop bit for
    bit. Above ``_UNROLL`` inputs the chain would bloat the program, and a
    plain ``dot`` is used (batches then agree to rounding only).
    """
    n = x.shape[-1]
    if n > _UNROLL:
        return jnp.einsum("oi,...i->...o", w, x)
    acc = w[:, 0] * x[..., 0:1]
    for i in range(1, n):
        acc = acc + w[:, i] * x[..., i : i + 1]
    return acc


class Linear(Map):
    """``y = W x`` over the last axis."""

    weight: jnp.ndarray
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        return _matvec(self.weight, x)


class Affine(Map):
    """``y = W x + b`` over the last axis."""

    weight: jnp.ndarray
    bias: jnp.ndarray
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        return _matvec(self.weight, x)

    def __call__(self, x):
        return self.linear(x) + self.bias


class Scale(Map):
    """``y = scale * x`` elementwise."""

    scale: jnp.ndarray
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        return self.scale * x


class Flatten(Map):
    """Merge the axes ``start_dim .. end_dim`` (indices without the batch axis), in NIR's
    (row-major, channels-first) order."""

    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        return jnp.reshape(x, self.out_shape)


def flatten_shape(shape, start_dim, end_dim):
    n = len(shape)
    s = start_dim % n
    e = end_dim % n
    if s > e:
        raise ValueError(f"start_dim {start_dim} lies after end_dim {end_dim} for shape {shape}")
    return tuple(shape[:s]) + (math.prod(shape[s : e + 1]),) + tuple(shape[e + 1 :])


def conv_padding(padding, kernel, dilation):
    """NIR padding (int, tuple, 'same', 'valid') -> lax pairs."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return pads
        raise ValueError(f"padding must be 'same', 'valid' or integers, got {padding!r}")
    pad = tuple(int(p) for p in np.broadcast_to(np.asarray(padding), (nd,)).tolist())
    return [(p, p) for p in pad]


class Conv(Map):
    """N-d cross-correlation as in ``torch.nn.ConvNd`` (NIR Conv1d / Conv2d):
    input ``(C_in, *spatial)``, weight ``(C_out, C_in/groups, *kernel)``."""

    weight: jnp.ndarray
    bias: jnp.ndarray
    stride: tuple[int, ...] = eqx.field(static=True)
    padding: tuple[tuple[int, int], ...] = eqx.field(static=True)
    dilation: tuple[int, ...] = eqx.field(static=True)
    groups: int = eqx.field(static=True)
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        y = jax.lax.conv_general_dilated(
            x[None],
            self.weight.astype(x.dtype),
            window_strides=self.stride,
            padding=self.padding,
            rhs_dilation=self.dilation,
            feature_group_count=self.groups,
        )
        return y[0]

    def __call__(self, x):
        b = jnp.reshape(self.bias, (-1,) + (1,) * (len(self.in_shape) - 1))
        return self.linear(x) + b


def conv_out_shape(in_shape, weight_shape, stride, padding, dilation):
    spatial = []
    for n, k, s, (p0, p1), d in zip(in_shape[1:], weight_shape[2:], stride, padding, dilation):
        spatial.append((n + p0 + p1 - d * (k - 1) - 1) // s + 1)
    return (weight_shape[0], *spatial)


class Pool2d(Map):
    """``SumPool2d`` (``average=False``) or ``AvgPool2d`` over ``(C, H, W)``."""

    kernel_size: tuple[int, int] = eqx.field(static=True)
    stride: tuple[int, int] = eqx.field(static=True)
    padding: tuple[tuple[int, int], ...] = eqx.field(static=True)
    average: bool = eqx.field(static=True)
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_shape: tuple[int, ...] = eqx.field(static=True)

    def linear(self, x):
        y = jax.lax.reduce_window(
            x,
            jnp.array(0, x.dtype),
            jax.lax.add,
            (1, *self.kernel_size),
            (1, *self.stride),
            [(0, 0), *self.padding],
        )
        if self.average:
            y = y / math.prod(self.kernel_size)
        return y


def pool_out_shape(in_shape, kernel, stride, padding):
    c, *sp = in_shape
    out = [(n + p0 + p1 - k) // s + 1 for n, k, s, (p0, p1) in zip(sp, kernel, stride, padding)]
    return (c, *out)
