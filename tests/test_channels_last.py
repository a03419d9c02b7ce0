"""The executor's channels-last convolutions and pools (solvers/_channels_last.py)
against the definitions written out in numpy: NIR Conv2d is torch's cross-correlation
``y[o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x_pad[c, s_h i + d_h p, s_w j + d_w q]``
(``c`` within the group of ``o``); SumPool2d sums each window, AvgPool2d averages it.
Covers both evaluation paths (space-to-depth and direct) and the layout plan."""

import itertools

import jax.numpy as jnp
import nir
import numpy as np
import pytest

import nirjax
from nirjax.semantics.maps import Conv, Pool2d, conv_out_shape, pool_out_shape
from nirjax.solvers import _channels_last as cl


def _conv_reference(x, w, b, stride, padding, dilation, groups):
    c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), padding[0], padding[1]))
    _, oh, ow = conv_out_shape(x.shape, w.shape, stride, padding, dilation)
    y = np.zeros((c_out, oh, ow))
    per = c_out // groups
    for o, i, j in itertools.product(range(c_out), range(oh), range(ow)):
        g = o // per
        acc = b[o]
        for c, p, q in itertools.product(range(cg), range(kh), range(kw)):
            acc += w[o, c, p, q] * xp[g * cg + c, stride[0] * i + dilation[0] * p, stride[1] * j + dilation[1] * q]
        y[o, i, j] = acc
    return y


CONVS = [  # (c_in, c_out, h, w, kernel, stride, padding, dilation, groups)
    (2, 4, 11, 11, (5, 5), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),  # the paper CNN's input layer: space-to-depth
    (3, 2, 9, 10, (3, 4), (2, 3), ((2, 0), (1, 2)), (1, 1), 1),  # uneven strides, asymmetric padding
    (1, 3, 8, 8, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),  # kernel == stride
    (2, 2, 9, 9, (3, 3), (3, 3), ((0, 0), (0, 0)), (1, 1), 1),  # stride 3, rows left over (cropped)
    (8, 4, 7, 7, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),  # 8 channels: direct path
    (4, 4, 8, 8, (3, 3), (1, 1), ((1, 1), (1, 1)), (2, 2), 2),  # dilation and groups: direct path
]


@pytest.mark.parametrize("case", CONVS, ids=[f"cin{c[0]}-k{c[4]}-s{c[5]}" for c in CONVS])
def test_conv_matches_definition(case):
    c_in, c_out, h, wd, k, stride, padding, dilation, groups = case
    rng = np.random.default_rng(sum(map(ord, str(case))))
    w = rng.standard_normal((c_out, c_in // groups, *k))
    b = rng.standard_normal(c_out)
    x = rng.standard_normal((c_in, h, wd))
    out = conv_out_shape((c_in, h, wd), w.shape, stride, padding, dilation)
    m = Conv(weight=jnp.asarray(w), bias=jnp.asarray(b), stride=stride, padding=padding, dilation=dilation,
             groups=groups, in_shape=(c_in, h, wd), out_shape=out)
    y = cl.conv(m, cl.kernel(m, jnp.float64), cl.to_hwc(jnp.asarray(x)))
    assert y.shape == cl.hwc_shape(out)
    ref = _conv_reference(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(np.asarray(cl.to_chw(y)), ref, rtol=1e-12, atol=1e-12)
    # the space-to-depth rule: only strided, ungrouped, undilated, fewer than 8 input channels
    s2d = cl._space_to_depth(m)
    assert s2d == (groups == 1 and dilation == (1, 1) and max(stride) > 1 and c_in < cl.S2D_MAX_CHANNELS)


@pytest.mark.parametrize("average", [False, True])
def test_pool_matches_definition(average):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 9, 8))
    k, s, pad = (2, 3), (2, 2), ((1, 0), (0, 1))
    out = pool_out_shape(x.shape, k, s, pad)
    m = Pool2d(kernel_size=k, stride=s, padding=pad, average=average, in_shape=x.shape, out_shape=out)
    y = np.asarray(cl.to_chw(cl.pool(m, cl.to_hwc(jnp.asarray(x)))))
    xp = np.pad(x, ((0, 0), *pad))
    ref = np.array([[[xp[c, s[0] * i:s[0] * i + k[0], s[1] * j:s[1] * j + k[1]].sum() for j in range(out[2])]
                     for i in range(out[1])] for c in range(out[0])])
    np.testing.assert_allclose(y, ref / (k[0] * k[1]) if average else ref, rtol=1e-12, atol=1e-12)


def test_layout_plan():
    """Convolutions are channels-last; a neuron or pool joins only when every input is a
    channels-last value of its own shape; cycles of such neurons stay channels-last."""
    def conv(c_in):
        return Conv(weight=jnp.zeros((4, c_in, 3, 3)), bias=jnp.zeros(4), stride=(1, 1), padding=((1, 1), (1, 1)),
                    dilation=(1, 1), groups=1, in_shape=(c_in, 6, 6), out_shape=(4, 6, 6))

    def pool(c):
        return Pool2d(kernel_size=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), average=False,
                      in_shape=(c, 6, 6), out_shape=(c, 3, 3))

    maps = {"conv": conv(2), "rec": conv(4), "pool": pool(4), "pool_in": pool(2)}
    shapes = {"lif": (4, 6, 6), "after_pool": (4, 3, 3), "mixed": (4, 6, 6), "flat": (144,)}
    preds = {"conv": ("input",), "lif": ("conv", "rec"), "rec": ("lif",), "pool": ("lif",),
             "after_pool": ("pool",), "mixed": ("conv", "input2"), "pool_in": ("input",), "flat": ("lif",)}
    hwc = cl.plan(maps, shapes, preds)
    assert hwc == {"conv", "rec", "lif", "pool", "after_pool"}


def _lif(shape, tau=2e-3):
    one = np.ones(shape)
    return nir.LIF(tau=tau * one, r=one, v_leak=0 * one, v_threshold=one, v_reset=0 * one)


def _dense(f, in_shape):
    """The matrix of the linear map ``f`` on NIR-layout (C, H, W) values, flattened C-major."""
    n = int(np.prod(in_shape))
    return np.stack([f(np.eye(n)[k].reshape(in_shape)).ravel() for k in range(n)], axis=1)


@pytest.mark.parametrize("platform", ["norse", "spyx", "euler"])
def test_spatial_graph_equals_its_dense_twin(platform):
    """A recurrent spiking conv net (strided space-to-depth input conv, a conv self-loop,
    a sum pool) runs channels-last inside the executor; the same network written with
    dense matrices over flattened values never does. Both must give the same spikes and
    voltages, step by step."""
    rng = np.random.default_rng(3)
    w0, b0 = 1.5 * rng.standard_normal((3, 2, 3, 3)), 0.1 * rng.standard_normal(3)
    wr = 0.5 * rng.standard_normal((3, 3, 3, 3))
    x = (rng.random((40, 2, 7, 7)) < 0.3).astype(float)
    conv0 = dict(stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)
    rec = dict(stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)
    spatial = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, 7, 7])}),
        "conv0": nir.Conv2d(input_shape=(7, 7), weight=w0, stride=2, padding=1, dilation=1, groups=1, bias=b0),
        "lif1": _lif((3, 4, 4)),
        "rec": nir.Conv2d(input_shape=(4, 4), weight=wr, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lif2": _lif((3, 2, 2), tau=2e-4),
        "output": nir.Output(output_type={"output": np.array([3, 2, 2])}),
    }, edges=[("input", "conv0"), ("conv0", "lif1"), ("lif1", "rec"), ("rec", "lif1"), ("lif1", "pool"),
              ("pool", "lif2"), ("lif2", "output")])
    d0 = _dense(lambda v: _conv_reference(v, w0, np.zeros(3), **conv0), (2, 7, 7))
    dr = _dense(lambda v: _conv_reference(v, wr, np.zeros(3), **rec), (3, 4, 4))
    dp = _dense(lambda v: v.reshape(3, 2, 2, 2, 2).sum(axis=(2, 4)), (3, 4, 4))
    dense = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([98])}),
        "conv0": nir.Affine(weight=d0, bias=np.repeat(b0, 16)),
        "lif1": _lif((48,)),
        "rec": nir.Linear(weight=dr),
        "pool": nir.Linear(weight=dp),
        "lif2": _lif((12,), tau=2e-4),
        "output": nir.Output(output_type={"output": np.array([12])}),
    }, edges=list(spatial.edges))
    a = nirjax.simulate(nirjax.load(spatial), x, dt=1e-4, platform=platform, record=None)
    b = nirjax.simulate(nirjax.load(dense), x.reshape(40, 98), dt=1e-4, platform=platform, record=None)
    for n, shape in (("lif1", (3, 4, 4)), ("lif2", (3, 2, 2))):
        sb = np.asarray(b.spikes[n]).reshape(40, *shape)
        assert 0 < sb.sum() < sb.size, f"{n}: no activity to compare"
        np.testing.assert_array_equal(np.asarray(a.spikes[n]), sb)
        np.testing.assert_allclose(np.asarray(a.states[n]["v"]), np.asarray(b.states[n]["v"]).reshape(40, *shape),
                                   rtol=1e-12, atol=1e-12)
