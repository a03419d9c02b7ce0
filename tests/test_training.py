"""Training on the ideal model: exact spike-time gradients drive an optax optimiser."""

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import optax

import nirjax


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
    params, static = eqx.partition(g, eqx.is_array)

    @jax.jit
    def loss(params):
        sol = nirjax.simulate(eqx.combine(params, static), {"input": x}, dt=1e-4, max_spikes=16)
        return jnp.sum((sol.spike_times["lif"][:, 0] - target) ** 2)

    labels = jax.tree.map(lambda _: "freeze", params)
    labels = eqx.tree_at(lambda p: p.nodes["w"].weight, labels, "train")
    opt = optax.multi_transform({"train": optax.adam(5e-2), "freeze": optax.set_to_zero()}, labels)
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
    assert np.array_equal(np.asarray(params.nodes["lif"].tau), np.asarray(g.nodes["lif"].tau))


def _update(opt, loss, params, state):
    grads = jax.grad(loss)(params)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state
