"""Training on the ideal model: exact spike-time gradients drive an optax optimiser; the
training utilities (losses, readouts, encoders, constraints) against closed forms."""

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import optax
import pytest

import nirjax
from nirjax import training as T


def test_fit_spike_times_with_optax():
    """Learn input weights so that three LIF neurons first fire at target times."""
    n = 3
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "w": nir.Linear(weight=np.full((n, 2), 0.8)),
               "lif": nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                              v_reset=np.zeros(n)),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
    ))
    x = jnp.tile(jnp.array([[1.0, 0.5]]), (300, 1))
    target = jnp.array([0.004, 0.008, 0.012])
    params, static = eqx.partition(g, T.trainable(g, "w.weight"))

    @jax.jit
    def loss(params):
        sol = nirjax.simulate(eqx.combine(params, static), {"input": x}, dt=1e-4, max_spikes=16)
        return jnp.sum((sol.spike_times["lif"][:, 0] - target) ** 2)

    opt = optax.adam(5e-2)
    state = opt.init(params)
    step = jax.jit(lambda p, s: _update(opt, loss, p, s))
    first = float(loss(params))
    for _ in range(300):
        params, state = step(params, state)
    final = float(loss(params))
    assert first > 1e-4 and final < first * 1e-3
    t = nirjax.simulate(eqx.combine(params, static), {"input": x}, dt=1e-4, max_spikes=16).spike_times["lif"][:, 0]
    np.testing.assert_allclose(np.asarray(t), np.asarray(target), atol=3e-4)
    # only the weights moved
    assert np.array_equal(np.asarray(eqx.combine(params, static).nodes["lif"].tau), np.asarray(g.nodes["lif"].tau))


def _update(opt, loss, params, state):
    grads = jax.grad(loss)(params)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state


# -- losses: gradients against their closed forms ----------------------------------------------
def test_ttfs_cross_entropy_value_and_gradient():
    t = jnp.array([3e-3, 1e-3, 5e-3])
    tau = 2e-3
    loss, g = jax.value_and_grad(T.ttfs_cross_entropy)(t, 1, tau=tau)
    z = np.exp(-np.asarray(t) / tau)
    p = z / z.sum()
    np.testing.assert_allclose(float(loss), -np.log(p[1]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), -(p - np.eye(3)[1]) / tau, rtol=1e-10)
    # Göltz et al.'s regulariser alpha (exp(t_label / beta) - 1) adds alpha/beta exp(t_label/beta) to the label's slope
    reg, g2 = jax.value_and_grad(lambda t: T.ttfs_cross_entropy(t, 1, tau=tau, alpha=0.01, beta=5e-3))(t)
    np.testing.assert_allclose(float(reg - loss), 0.01 * np.expm1(1e-3 / 5e-3), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g2 - g), [0.0, 0.01 / 5e-3 * np.exp(0.2), 0.0], rtol=1e-10)


def test_target_time_mse():
    t = jnp.array([[4e-3, 7e-3, 5e-3]])
    loss, g = jax.value_and_grad(lambda t: T.target_time_mse(t, jnp.array([1]), t_correct=4e-3, t_wrong=6e-3,
                                                             tau=1e-2).sum())(t)
    d = np.array([4e-3 - 6e-3, 7e-3 - 4e-3, 5e-3 - 6e-3]) / 1e-2
    np.testing.assert_allclose(float(loss), np.sum(d ** 2), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g[0]), 2 * d / 1e-2, rtol=1e-12)


def test_silent_neuron_rule_has_the_documented_gradient():
    t_first = jnp.array([4e-3, jnp.inf, jnp.inf])
    v_end = jnp.array([0.0, 0.25, 1.5])  # the third is silent with a peak above threshold: stand-in = t1
    f = lambda t, v: T.silent_spike_time(t, v, t1=2e-2, v_threshold=1.0, tau=1e-3)  # noqa: E731
    out = f(t_first, v_end)
    np.testing.assert_allclose(np.asarray(out), [4e-3, 2e-2 + 1e-3 * 0.75, 2e-2], rtol=1e-12)
    gt, gv = jax.jacrev(f, argnums=(0, 1))(t_first, v_end)
    np.testing.assert_allclose(np.asarray(gv), np.diag([0.0, -1e-3, 0.0]))
    np.testing.assert_allclose(np.asarray(gt), np.diag([1.0, 0.0, 0.0]))
    # through the cross-entropy: finite, and the silent target is pulled towards firing
    g = jax.grad(lambda v: T.ttfs_cross_entropy(f(t_first, v), 1, tau=1e-3))(v_end)
    assert np.all(np.isfinite(np.asarray(g))) and float(g[1]) < 0


def test_stepped_first_spike_time_and_its_surrogate_gradient():
    dt, n = 1e-3, 6
    s = np.zeros((n, 2))
    s[3, 0] = 1.0
    s[4, 0] = 2.0  # a count > 1 counts as one spike
    np.testing.assert_allclose(np.asarray(T.stepped_first_spike_time(s, dt=dt, t0=0.5)), [0.5 + 3 * dt, 0.5 + n * dt])
    # silent raster: d t_hat / d s_k = t_k - t_end (closed form at s = 0)
    g = jax.grad(lambda s: T.stepped_first_spike_time(s, dt=dt)[0])(jnp.zeros((n, 1)))
    np.testing.assert_allclose(np.asarray(g[:, 0]), dt * np.arange(n) - n * dt, rtol=1e-12)


def test_soft_spike_count_and_count_loss():
    t = jnp.array([[1e-3, 5e-3, jnp.inf], [jnp.inf, jnp.inf, jnp.inf]])
    c, g = jax.value_and_grad(lambda t: T.soft_spike_count(t, t1=6e-3, tau=1e-3).sum())(t)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    np.testing.assert_allclose(float(c), sig(5.0) + sig(1.0), rtol=1e-12)
    d = lambda z: sig(z) * (1 - sig(z)) * -1e3  # noqa: E731
    np.testing.assert_allclose(np.asarray(g), [[d(5.0), d(1.0), 0.0], [0.0, 0.0, 0.0]], rtol=1e-10)
    np.testing.assert_allclose(float(T.spike_count_cross_entropy(jnp.array([2.0, 0.0]), 0)),
                               np.log(1 + np.exp(-2.0)), rtol=1e-12)
    v = jnp.array([[0.1, 0.5], [0.9, 0.2]])  # (steps, classes): peaks 0.9, 0.5
    np.testing.assert_allclose(float(T.membrane_cross_entropy(v, 0)), np.log(1 + np.exp(-0.4)), rtol=1e-12)


# -- readouts ---------------------------------------------------------------------------------
def test_predict_rules():
    inf = jnp.inf
    t = jnp.array([[2.0, 1.0, 3.0], [1.0, 1.0, 0.5], [2.0, 2.0, 3.0], [inf, inf, inf], [inf, 4.0, inf]])
    assert T.predict(t).tolist() == [1, 2, 0, -1, 1]
    r = np.zeros((5, 4, 3))
    r[2, 0, 1], r[3, 0, 0] = 1, 1  # sample 0: neuron 1 first
    r[1, 1, 2], r[1, 1, 0] = 1, 1  # sample 1: tie in step 1 -> lowest index
    r[4, 3, 2] = 3  # sample 3: only neuron 2; sample 2 silent
    assert T.predict_stepped(r).tolist() == [1, 0, -1, 2]
    assert T.first_spike_steps(r)[:, 2].tolist() == [5, 1, 5, 4]
    assert float(T.accuracy(jnp.array([1, -1, 2]), jnp.array([1, 0, 0]))) == pytest.approx(1 / 3)


def test_encoders():
    f = np.array([[0.0, 1.0, 0.25]])
    t = T.ttfs_times(f, t_early=1e-3, t_late=5e-3, t_bias=2e-3)
    np.testing.assert_allclose(t, [[1e-3, 5e-3, 2e-3, 2e-3]])
    sp = T.ttfs(f, t_early=1e-3, t_late=5e-3)
    assert isinstance(sp, nirjax.Spikes) and sp.times.shape == (1, 3, 1)
    # a spike exactly on a step start lands in that step (binned by construction in float64)
    x = T.raster(np.array([[0.0, 3e-4, 2.9999e-4, np.inf]]), dt=1e-4, steps=5)
    assert x.shape == (5, 1, 4)
    assert np.argmax(x[:, 0, :3], axis=0).tolist() == [0, 3, 2] and x[:, 0, 3].sum() == 0
    with pytest.raises(ValueError, match="outside"):
        T.raster(np.array([5e-4]), dt=1e-4, steps=5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        T.ttfs_times(np.array([1.5]), t_early=0.0, t_late=1.0)


# -- constraints and filters -------------------------------------------------------------------
def _tiny_net(seed=4):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.02, 0.006, (4, 3))  # 3 -> 4 -> 2: one or two spikes per neuron, both outputs fire
    w2 = rng.normal(0.012, 0.004, (2, 4))
    return nirjax.load(T.feedforward([w1, w2], tau_mem=1e-2, tau_syn=5e-3, dt=1e-4), warn=False)


def test_trainable_and_keep_valid():
    net = _tiny_net()
    spec = T.trainable(net, "fc1.weight", "lif1.tau_syn")
    assert spec.nodes["fc1"].weight is True and spec.nodes["lif1"].tau_syn is True
    assert spec.nodes["fc2"].weight is False and spec.nodes["lif1"].tau_mem is False
    with pytest.raises(ValueError, match="unknown node 'fc9'"):
        T.trainable(net, "fc9.weight")
    with pytest.raises(ValueError, match="no array parameter 'tau'"):
        T.trainable(net, "lif1.tau")
    params, static = eqx.partition(net, spec)
    opt = optax.chain(optax.sgd(1.0), T.keep_valid(min_tau=1e-4))
    state = opt.init(params)
    grads = jax.tree.map(lambda p: jnp.ones_like(p), params)  # a step of -1: tau_syn (5e-3) would go negative
    updates, state = opt.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(np.asarray(new.nodes["lif1"].tau_syn), 1e-4, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(new.nodes["fc1"].weight), np.asarray(params.nodes["fc1"].weight) - 1.0)


# -- exact gradients through spike times vs finite differences ----------------------------------
def test_first_spike_gradient_matches_finite_differences():
    # At some other points of weight space today's exp2 root finder returns a wrong time at
    # isolated parameter values (reported to the solver's owner, /work/coord/h5/root_miss.py).
    net = _tiny_net()
    params, static = eqx.partition(net, T.trainable(net, "fc1.weight", "fc2.weight"))
    times = jnp.array([[1e-3], [4e-3], [0.0]])

    @jax.jit
    def first(params):
        sol = nirjax.simulate(eqx.combine(params, static), {"input": nirjax.Spikes(times)}, dt=2e-2, t1=2e-2,
                              spike_area=1e-4, max_spikes=4, max_events=32, max_cascade=8)
        return sol.spike_times["lif2"][:, 0]

    t0 = first(params)
    assert np.all(np.isfinite(np.asarray(t0)))
    weights = jnp.array([1.0, -0.7])  # one scalar: c . t_first (a single reverse pass)
    phi = jax.jit(lambda p: jnp.dot(weights, first(p)))
    grad = jax.jit(jax.grad(phi))(params)
    rng = np.random.default_rng(0)
    direction = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape)) * 1e-3, params)
    eps = 1e-4  # a 1e-7 weight change; the central difference's truncation error is far below rtol
    fd = (phi(jax.tree.map(lambda p, d: p + eps * d, params, direction))
          - phi(jax.tree.map(lambda p, d: p - eps * d, params, direction))) / (2 * eps)
    ad = sum(jnp.sum(g * d) for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction)))
    assert abs(float(ad)) > 1e-6
    np.testing.assert_allclose(float(ad), float(fd), rtol=1e-5)
