"""Derivatives of feed-forward layers by replaying their spikes (solvers/_replay.py) equal the
derivatives of the global event loop (``decompose=False``, differentiated through its iterations),
and finite differences; values are unchanged. (Input spikes lie off the 1 ms recording grid: a
recorded state is the left limit at a step end, not differentiable in an impulse exactly there.) Cases the replay must get right: spikes pushed over
threshold by an input impulse, same-instant cascades (reset by subtraction after a large jump),
a neuron at threshold at t0, biases and ``v_leak != 0`` (a constant drive), recorded per-step
states, final states, gradients with respect to input spike times."""

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest

import nirjax
from nirjax.solvers import _replay

def cubalif(n, rng, **kw):
    p = dict(tau_syn=rng.uniform(3e-3, 6e-3, n), tau_mem=rng.uniform(8e-3, 1.2e-2, n), r=np.ones(n),
             v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n), w_in=np.ones(n))
    p.update(kw)
    return nir.CubaLIF(**p)


def two_layer_cubalif():
    rng = np.random.default_rng(7)
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])),
               "fc1": nir.Linear(weight=rng.uniform(0.5, 3.0, (5, 3)) * 40),
               "lif1": cubalif(5, rng, v_leak=np.full(5, 0.1), r=np.full(5, 1.2)),
               "fc2": nir.Affine(weight=rng.uniform(0.2, 2.0, (2, 5)) * 30, bias=np.array([2.0, -1.0])),
               "lif2": cubalif(2, rng),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")])
    times = np.array([[1.3e-3, 4.1e-3, 9.4e-3], [2.2e-3, 2.2e-3 + 1e-9, np.inf], [5.5e-3, 1.23e-2, np.inf]])
    return g, times, "v_reset", {"lif1": ("spike_times", "v", "i_syn"), "lif2": ("spike_times", "v")}


def lif_jumps_and_cascades():
    """LIF driven by impulses that jump v by several thresholds: fires at the impulse (at
    threshold already), then again at the same instant (reset by subtraction), a bias and
    v_leak != 0 as constant drive; one neuron starts above threshold and fires at t0."""
    n = 3
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])),
               "fc": nir.Affine(weight=np.array([[250.0, 40.0], [90.0, 0.0], [30.0, 60.0]]), bias=np.array([0.5, 0.0, 1.5])),
               "lif": nir.LIF(tau=np.array([1e-2, 8e-3, 5e-3]), r=np.array([1.0, 1.5, 0.8]), v_leak=np.array([0.2, -0.1, 0.0]),
                              v_threshold=np.ones(n), v_reset=np.zeros(n)),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    times = np.array([[2.5e-3, 7.2e-3, np.inf], [3.4e-3, 5.6e-3, 1.17e-2]])
    return g, times, "subtract", {"lif": ("spike_times", "v")}


def if_zero_reset():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])),
               "fc": nir.Affine(weight=np.array([[6000.0, 2500.0], [1000.0, 5000.0]]), bias=np.array([20.0, 35.0])),
               "if": nir.IF(r=np.array([1.0, 2.0]), v_threshold=np.array([1.0, 0.7]), v_reset=np.zeros(2)),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "fc"), ("fc", "if"), ("if", "output")])
    times = np.array([[1.2e-3, 4.3e-3, 6.6e-3], [2.7e-3, 8.1e-3, np.inf]])
    return g, times, "zero", {"if": ("spike_times", "v")}


CASES = {"two_layer_cubalif": two_layer_cubalif, "lif_jumps_and_cascades": lif_jumps_and_cascades,
         "if_zero_reset": if_zero_reset}


def objective(case, decompose, initial_state="rest"):
    g, times, reset, record = CASES[case]()
    net = nirjax.load(g, warn=False)

    def f(net, times):
        sol = nirjax.simulate(net, {"input": nirjax.Spikes(times)}, dt=1e-3, t1=2e-2, reset=reset, max_spikes=12,
                              record=record, decompose=decompose, initial_state=initial_state, spike_area=1e-4)
        out = 0.0
        for node, kinds in record.items():
            st = sol.spike_times[node]
            w = jnp.arange(1, st.size + 1, dtype=st.dtype).reshape(st.shape)  # every spike, each its own weight
            out = out + jnp.sum(jnp.where(jnp.isfinite(st), w * st, 0.0)) * 1e3
            for v in kinds:
                if v != "spike_times":
                    out = out + jnp.sum(jnp.cos(jnp.arange(sol.states[node][v].size)).reshape(sol.states[node][v].shape)
                                        * sol.states[node][v])
            out = out + sum(jnp.sum(x) for x in jax.tree.leaves(sol.final_state[node]))
        return out, sol

    return net, jnp.asarray(times), f


def _grads(f, net, times):
    params, static = eqx.partition(net, eqx.is_inexact_array)

    def loss(params, times):
        return f(eqx.combine(params, static), times)[0]

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(params, times)


@pytest.mark.parametrize("case", list(CASES))
def test_replay_gradients_equal_the_global_loop(case, monkeypatch):
    calls = []
    real = _replay.replayed
    monkeypatch.setattr(_replay, "replayed", lambda *a, **k: calls.append(1) or real(*a, **k))
    net, times, f = objective(case, decompose=True)
    (v1, (g1, gt1)) = _grads(f, net, times)
    assert calls, "the replay was not used for this feed-forward graph"
    _, sol = f(net, times)
    assert sum(int(np.sum(c)) for c in jax.tree.leaves(sol.spike_counts)) > 3, "the case must spike"
    net0, _, f0 = objective(case, decompose=False)
    (v0, (g0, gt0)) = _grads(f0, net0, times)
    assert float(v1) == pytest.approx(float(v0), rel=1e-12)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g0)):
        assert np.all(np.isfinite(np.asarray(a)))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-7, atol=1e-8 * max(1.0, float(np.max(np.abs(b)))))
    fin = np.isfinite(np.asarray(times))
    np.testing.assert_allclose(np.asarray(gt1)[fin], np.asarray(gt0)[fin], rtol=1e-7, atol=1e-6)
    assert any(float(np.max(np.abs(np.asarray(a)))) > 0 for a in jax.tree.leaves(g1))


def test_replay_cases_exercise_impulse_and_cascade_firing():
    """The LIF case really fires at impulses and in same-instant cascades (what the replay's
    special rules are for), and the neuron above threshold at t0 fires at t0."""
    net, times, f = objective("lif_jumps_and_cascades", decompose=True, initial_state={"lif": {"v": jnp.array([1.2, 0.0, 0.0])}})
    _, sol = f(net, times)
    st = np.asarray(sol.spike_times["lif"])
    fin = st[np.isfinite(st)]
    assert np.any(np.isclose(fin, 2.5e-3, atol=0, rtol=1e-12)), st  # at an input impulse
    assert any(np.sum(row == t) >= 2 for row in st for t in row[np.isfinite(row)]), st  # cascade: same instant twice
    assert st[0, 0] == 0.0, st  # at threshold at t0


def test_replay_gradient_matches_finite_differences():
    net, times, f = objective("lif_jumps_and_cascades", decompose=True, initial_state={"lif": {"v": jnp.array([1.2, 0.0, 0.0])}})
    params, static = eqx.partition(net, eqx.is_inexact_array)
    w = params.nodes["fc"].weight

    def loss(w):
        return f(eqx.combine(eqx.tree_at(lambda p: p.nodes["fc"].weight, params, w), static), times)[0]

    g = np.asarray(jax.jit(jax.grad(loss))(w))
    eps = 1e-6
    fd = np.zeros_like(g)
    for idx in np.ndindex(g.shape):
        e = np.zeros_like(g)
        e[idx] = eps
        fd[idx] = (float(loss(w + e)) - float(loss(w - e))) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * np.max(np.abs(fd)))


def test_replay_leaves_values_bit_identical():
    for case in CASES:
        net, times, f = objective(case, decompose=True)
        _, a = jax.jit(f)(net, times)
        # the same run, differentiated: the primal values must not change
        _, b = jax.jit(lambda n, t: jax.jvp(lambda t: f(n, t), (t,), (jnp.zeros_like(t),))[0])(net, times)
        for x, y in zip(jax.tree.leaves((a.spike_times, a.states, a.final_state)),
                        jax.tree.leaves((b.spike_times, b.states, b.final_state))):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
