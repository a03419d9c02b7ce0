"""The Yin-Yang reproduction's pieces on tiny problems: a 2-epoch training lowers the loss; the
platform evaluation reads each platform's first output spike."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nirjax
from nirjax import training as T
from nirjax._reproduce import _load


@pytest.fixture(scope="module")
def yy():
    return _load("yinyang")


def test_two_epochs_lower_the_loss(yy):
    cfg = dict(yy.CONFIG, hidden=8, batch=32, lr=1e-3)
    (x, y) = yy.dataset("train", cfg)
    x, y = x[:64], y[:64]
    net0 = nirjax.load(yy.init_graph(cfg), warn=False)
    params0, static = yy.split_params(net0)
    opt = yy.optimizer_for(cfg, n_batches=2)
    _, _, batch_loss = yy.make_ideal_fns(static, cfg, opt)
    loss = jax.jit(lambda p: batch_loss(p, jnp.asarray(x), jnp.asarray(y))[0])
    before = float(loss(params0))
    net, hist = yy.train(cfg, 2, data=((x, y), (x, y)), validation=(x, y), log=False)
    assert hist["selected_epoch"] == 1 + int(np.argmax(hist["validation_accuracy"]))
    after = float(loss(yy.split_params(net)[0]))
    assert np.isfinite(before) and after < before
    assert hist["failed_samples"] == [0, 0]
    # only the weights trained; the neurons are untouched
    assert np.array_equal(np.asarray(net.nodes["lif1"].tau_syn), np.asarray(net0.nodes["lif1"].tau_syn))
    assert not np.array_equal(np.asarray(net.nodes["fc1"].weight), np.asarray(net0.nodes["fc1"].weight))


def test_platform_readout_on_a_tiny_model(yy):
    """Three identical CubaLIF neurons, each driven by its own input spike: the neuron whose input
    comes first fires first (time invariance), on the ideal model and on every platform model that
    runs the graph; that neuron is the predicted class."""
    g = T.feedforward([np.eye(3) * 0.1], tau_mem=1e-2, tau_syn=5e-3, dt=1e-4)
    net = nirjax.load(g, warn=False)
    cfg = dict(yy.CONFIG, output_node="lif1", t1=4e-3, max_spikes=16)  # its own graph: one layer, "lif1"
    times = np.array([[1.0e-3, 0.5e-3, 2.0e-3], [0.3e-3, 0.8e-3, 0.2e-3], [0.0, 1.1e-3, 0.7e-3]])
    expected = np.argmin(times, axis=1)
    x = T.raster(times, dt=1e-4, steps=40)
    t_first = jax.vmap(lambda t: yy.ideal_sample(net, t, cfg)[0])(jnp.asarray(times))
    assert T.predict(t_first).tolist() == expected.tolist()
    ran = []
    for name in nirjax.platforms():
        try:
            pred = yy.platform_predict(net, name, x, cfg)
        except nirjax.UnsupportedError:
            continue
        ran.append(name)
        assert pred.tolist() == expected.tolist(), name
    assert {"snntorch", "norse", "spyx"} <= set(ran)
