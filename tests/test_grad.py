"""Spike-time gradients: the implicit-function formula, closed forms and finite differences."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest
from test_exact import cubalif_graph, expm_response

import nirjax

X, W, R, TAU, THETA = 2.0, 1.5, 0.8, 0.01, 1.0


def lif_net():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "w": nir.Linear(weight=np.array([[W]])),
               "lif": nir.LIF(tau=np.array([TAU]), r=np.array([R]), v_leak=np.array([0.0]),
                              v_threshold=np.array([THETA]), v_reset=np.array([0.0])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
    )
    return nirjax.load(g)


WHERE = {
    "tau": lambda g: g.nodes["lif"].tau,
    "r": lambda g: g.nodes["lif"].r,
    "v_threshold": lambda g: g.nodes["lif"].v_threshold,
    "weight": lambda g: g.nodes["w"].weight,
}


def spike_time_fn(net, where, k, autodiff="reverse"):
    x = jnp.full((400, 1), X)

    def f(p):
        g = eqx.tree_at(where, net, p)
        sol = nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=8, autodiff=autodiff)
        return sol.spike_times["lif"][0, k]

    return f


def closed_form_grads(k):
    """t_k = (k+1) tau ln(A/(A - theta)), A = r w x (v0 = v_reset = 0)."""
    A = R * W * X
    L = math.log(A / (A - THETA))
    dA = -TAU * THETA / (A * (A - THETA))
    n = k + 1
    return {"tau": n * L, "v_threshold": n * TAU / (A - THETA), "r": n * dA * W * X, "weight": n * dA * R * X}


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("name", list(WHERE))
def test_lif_spike_time_gradient(name, k):
    net = lif_net()
    where = WHERE[name]
    f = spike_time_fn(net, where, k)
    p0 = where(net)
    t = float(f(p0))
    A = R * W * X
    assert t == pytest.approx((k + 1) * TAU * math.log(A / (A - THETA)), rel=1e-12)
    g = float(jnp.ravel(jax.grad(f)(p0))[0])
    assert g == pytest.approx(closed_form_grads(k)[name], rel=1e-7)
    h = 1e-6 * float(jnp.ravel(p0)[0])
    fd = (float(f(p0 + h)) - float(f(p0 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-5)
    fwd = float(jnp.ravel(jax.jacfwd(spike_time_fn(net, where, k, autodiff="forward"))(p0))[0])
    assert fwd == pytest.approx(g, rel=1e-10)


CUBA = dict(tau_syn=0.003, tau_mem=0.008, r=1.0, w_in=1.0)
Q, T_IN = 0.01, 0.001


def cuba_crossing(p):
    """Independent spike time: bisection on the matrix-exponential solution."""
    i0 = p["w_in"] * Q / p["tau_syn"]
    peak = math.log(p["tau_mem"] / p["tau_syn"]) / (1 / p["tau_syn"] - 1 / p["tau_mem"])
    lo, hi = 0.0, peak
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if expm_response(p["tau_syn"], p["tau_mem"], p["r"], i0, [mid])[0][0] >= p["theta"]:
            hi = mid
        else:
            lo = mid
    return hi


def test_cubalif_spike_time_gradient_implicit_formula():
    tau_syn, tau_mem, r, w_in = CUBA.values()
    i0 = w_in * Q / tau_syn
    peak = math.log(tau_mem / tau_syn) / (1 / tau_syn - 1 / tau_mem)
    theta = 0.9 * expm_response(tau_syn, tau_mem, r, i0, [peak])[0][0]
    net = nirjax.load(cubalif_graph(tau_syn, tau_mem, r, w_in, theta))
    spikes = nirjax.Spikes.from_lists([[T_IN]])

    def t_of(name):
        where = lambda g: getattr(g.nodes["n"], name)  # noqa: E731
        return lambda p: nirjax.simulate(eqx.tree_at(where, net, p), {"input": spikes}, dt=1e-3, t1=0.03,
                                         spike_area=Q).spike_times["n"][0, 0], where(net)

    base = dict(CUBA, theta=theta)
    t_star = cuba_crossing(base)

    def g_of(p, s):  # the threshold function v(s; p) - theta from the independent matrix exponential
        i0 = p["w_in"] * Q / p["tau_syn"]
        return expm_response(p["tau_syn"], p["tau_mem"], p["r"], i0, [s])[0][0] - p["theta"]

    hs = 1e-9
    dg_dt = (g_of(base, t_star + hs) - g_of(base, t_star - hs)) / (2 * hs)
    for name, key in [("tau_syn", "tau_syn"), ("tau_mem", "tau_mem"), ("w_in", "w_in"), ("v_threshold", "theta")]:
        h = 1e-7 * base[key]
        dg_dp = (g_of({**base, key: base[key] + h}, t_star) - g_of({**base, key: base[key] - h}, t_star)) / (2 * h)
        implicit = -dg_dp / dg_dt
        f, p0 = t_of(name)
        assert float(f(p0)) == pytest.approx(T_IN + t_star, abs=1e-12)
        grad = float(jnp.ravel(jax.grad(f)(p0))[0])
        assert grad == pytest.approx(implicit, rel=1e-5), name
        hp = 1e-6 * float(jnp.ravel(p0)[0])
        fd = (float(f(p0 + hp)) - float(f(p0 - hp))) / (2 * hp)
        assert grad == pytest.approx(fd, rel=1e-5), name


def test_parameter_sweep_with_vmap():
    """vmap over a batch of graphs (a tau sweep) gives each member's closed-form spike time."""
    net = lif_net()
    taus = jnp.linspace(0.005, 0.02, 8)[:, None]
    x = jnp.full((400, 1), X)
    nets = jax.vmap(lambda t: eqx.tree_at(lambda g: g.nodes["lif"].tau, net, t))(taus)
    first = jax.vmap(lambda g: nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=64).spike_times["lif"][0, 0])(nets)
    A = R * W * X
    np.testing.assert_allclose(np.asarray(first), np.asarray(taus[:, 0]) * math.log(A / (A - THETA)), rtol=1e-12)


def test_simultaneous_crossings_keep_their_own_gradients():
    """Three identical neurons cross at the same instant (one event); each spike time
    must still depend only on its own weights, with the closed-form derivative."""
    n = 3
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "w": nir.Linear(weight=np.full((n, 1), W)),
               "lif": nir.LIF(tau=np.full(n, TAU), r=np.full(n, R), v_leak=np.zeros(n), v_threshold=np.ones(n),
                              v_reset=np.zeros(n)),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
    ))
    x = jnp.full((400, 1), X)

    def times(w):
        sol = nirjax.simulate(eqx.tree_at(lambda g: g.nodes["w"].weight, g, w), {"input": x}, dt=1e-4, max_spikes=8)
        return sol.spike_times["lif"][:, :2]  # first and second spike of each neuron

    jac = np.asarray(jax.jacrev(times)(g.nodes["w"].weight))  # (n, 2, n, 1)
    expected = np.zeros((n, 2, n, 1))
    for i in range(n):
        for k in range(2):
            expected[i, k, i, 0] = closed_form_grads(k)["weight"]
    np.testing.assert_allclose(jac, expected, rtol=1e-7, atol=1e-12)
