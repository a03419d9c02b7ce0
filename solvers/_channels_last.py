"""Channels-last evaluation of 2-d spatial graphs in the time-stepped executor.

NIR's 2-d values are ``(C, H, W)``; XLA's CPU convolution is fastest in NHWC/HWIO.
Inside the step loop the executor therefore holds every 2-d convolution's output,
the pools over them and the neurons fed only by them as ``(H, W, C)``
(:func:`plan`), lays the kernels out once outside the loop (:func:`kernel`), and
changes layout only where a value meets a consumer that needs NIR's (a Flatten, a
dense map, an Output, a recording). The arithmetic is the same sums of the same
products; recorded values are returned in NIR's layout.

A strided convolution with few input channels (``C_in < 8``: an event camera's two
polarities, an RGB image) is evaluated by *space-to-depth*: the padded input is cut
into ``s_h x s_w`` blocks that become channels, and the kernel is zero-padded to a
multiple of the stride and cut the same way, so the convolution becomes a stride-1
one over ``s_h s_w C_in`` channels with a ``ceil(k/s)`` kernel. Every output is the
same sum of the same products (the added terms multiply exact zeros); only the
order of the additions may differ, as it may between any two convolution
algorithms. Measured on the 2-core CPU (batch 16, 100 steps in a scan,
``benchmarks/bench_conv.py``, results/conv_vm.json): 1.45x faster for C_in=2, k=5,
s=2 (the NIR paper's CNN input layer), 2.9x for C_in=3, k=7, s=2, 1.3x for C_in=4,
k=3, s=2, but 0.4-0.5x from C_in=8 on, hence the rule.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..semantics.maps import Conv, Pool2d

S2D_MAX_CHANNELS = 8  # space-to-depth only below this many input channels (measured, see above)


def is_conv2d(m) -> bool:
    return isinstance(m, Conv) and len(m.in_shape) == 3


def plan(maps, neuron_shapes, preds) -> frozenset:
    """The nodes whose per-step value is held ``(H, W, C)``: every 2-d convolution,
    and each pool or 3-d neuron whose inputs (``preds``: the edges it reads) all are
    channels-last values of its own shape (a fixed point, so cycles of such neurons
    stay channels-last)."""

    def out_shape(n):
        return maps[n].out_shape if n in maps else neuron_shapes.get(n)

    hwc = {n for n, m in maps.items() if is_conv2d(m) or isinstance(m, Pool2d)}
    hwc |= {n for n, s in neuron_shapes.items() if len(s) == 3}
    changed = True
    while changed:
        changed = False
        for n in sorted(hwc):
            if is_conv2d(maps.get(n)):
                continue
            want = maps[n].in_shape if n in maps else neuron_shapes[n]
            ps = preds.get(n, ())
            if not ps or any(p not in hwc or tuple(out_shape(p)) != tuple(want) for p in ps):
                hwc.discard(n)
                changed = True
    return frozenset(hwc)


def hwc_shape(shape):
    c, h, w = shape
    return (h, w, c)


def to_hwc(x):
    return jnp.transpose(x, (1, 2, 0))


def to_chw(x, batch_axes=0):
    """``(..., H, W, C)`` to ``(..., C, H, W)`` (``batch_axes`` leading axes kept)."""
    b = tuple(range(batch_axes))
    return jnp.transpose(x, b + (batch_axes + 2, batch_axes, batch_axes + 1))


def coefficient(a, shape):
    """A neuron coefficient for a channels-last neuron of NIR shape ``shape``: scalars
    (and folded constants) as they are, arrays broadcast to ``shape`` and transposed."""
    if isinstance(a, (int, float)) or jnp.ndim(a) == 0:
        return a
    return to_hwc(jnp.broadcast_to(a, shape))


def _space_to_depth(m) -> bool:
    return (
        m.groups == 1
        and all(d == 1 for d in m.dilation)
        and any(s > 1 for s in m.stride)
        and m.in_shape[0] < S2D_MAX_CHANNELS
    )


def _geometry(m):
    """Block kernel size and padded input size of the space-to-depth form."""
    _, oh, ow = m.out_shape
    kh, kw = m.weight.shape[2:]
    sh, sw = m.stride
    bh, bw = -(-kh // sh), -(-kw // sw)
    return (bh, bw), (sh * (oh - 1 + bh), sw * (ow - 1 + bw))


def kernel(m, dtype):
    """The weight of the 2-d convolution ``m`` laid out for :func:`conv` (HWIO;
    space-to-depth blocks where used). Call once, outside the step loop."""
    w = jnp.transpose(m.weight.astype(dtype), (2, 3, 1, 0))  # HWIO
    if not _space_to_depth(m):
        return w
    kh, kw, ci, co = w.shape
    sh, sw = m.stride
    (bh, bw), _ = _geometry(m)
    w = jnp.pad(w, ((0, sh * bh - kh), (0, sw * bw - kw), (0, 0), (0, 0)))
    w = jnp.reshape(w, (bh, sh, bw, sw, ci, co))
    return jnp.reshape(jnp.transpose(w, (0, 2, 1, 3, 4, 5)), (bh, bw, sh * sw * ci, co))


def conv(m, w, x, *, bias=True):
    """The 2-d convolution ``m`` on one ``(H, W, C_in)`` value with the kernel ``w``
    from :func:`kernel`; returns ``(H_out, W_out, C_out)``."""
    if _space_to_depth(m):
        c, h, wd = m.in_shape
        sh, sw = m.stride
        (ph0, _), (pw0, _) = m.padding
        _, (hp, wp) = _geometry(m)
        # pad (or crop rows no output reads) to exactly the block grid
        xp = jax.lax.pad(x, jnp.array(0, x.dtype), ((ph0, hp - h - ph0, 0), (pw0, wp - wd - pw0, 0), (0, 0, 0)))
        xp = jnp.reshape(xp, (hp // sh, sh, wp // sw, sw, c))
        xp = jnp.reshape(jnp.transpose(xp, (0, 2, 1, 3, 4)), (hp // sh, wp // sw, sh * sw * c))
        y = jax.lax.conv_general_dilated(xp[None], w, (1, 1), ((0, 0), (0, 0)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
    else:
        y = jax.lax.conv_general_dilated(
            x[None], w, window_strides=m.stride, padding=m.padding, rhs_dilation=m.dilation,
            feature_group_count=m.groups, dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
    return y[0] + jnp.reshape(m.bias, (1, 1, -1)) if bias else y[0]


def pool(m, x):
    """The :class:`~semantics.maps.Pool2d` ``m`` on one ``(H, W, C)`` value."""
    # a concrete zero makes this lax's differentiable window sum
    y = jax.lax.reduce_window(x, np.array(0, x.dtype), jax.lax.add, (*m.kernel_size, 1), (*m.stride, 1),
                              [*m.padding, (0, 0)])
    return y / math.prod(m.kernel_size) if m.average else y
