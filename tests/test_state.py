"""Explicit state of the ideal model: initial_state, final_state, chunked runs equal one run."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest

import nirjax

BRAILLE = ["braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"]


def one(v):
    return np.array([v], float)


def lif_graph(v_leak=2.0, tau=0.01):
    return nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])),
               "lif": nir.LIF(tau=one(tau), r=one(1.0), v_leak=one(v_leak), v_threshold=one(1.0), v_reset=one(0.0)),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "lif"), ("lif", "output")]), warn=False)


def finite(t):
    t = np.asarray(t)
    return t[np.isfinite(t)]


# -- initial state ---------------------------------------------------------------------------
def test_rest_zero_and_partial_initial_states_closed_form():
    """LIF with v_leak = 2 above threshold 1, no input: from v0 it crosses at
    tau ln((v_leak - v0) / (v_leak - 1)), then every tau ln 2 (reset to 0). At rest (v0 = v_leak)
    it is at threshold at t0 and fires there."""
    tau = 0.01
    g = lif_graph(tau=tau)
    x = np.zeros((300, 1))
    period = tau * math.log(2.0)
    rest = finite(nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=16).spike_times["lif"][0])
    np.testing.assert_allclose(rest, period * np.arange(len(rest)), rtol=0, atol=1e-15)
    assert len(rest) == int(0.03 // period) + 1
    zero = finite(nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=16, initial_state="zero").spike_times["lif"][0])
    np.testing.assert_allclose(zero, period * np.arange(1, len(zero) + 1), rtol=1e-12)
    part = nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=16, initial_state={"lif": {"v": 0.5}})
    first = tau * math.log((2.0 - 0.5) / (2.0 - 1.0))
    np.testing.assert_allclose(finite(part.spike_times["lif"][0]), first + period * np.arange(4), rtol=1e-12)


def test_cubalif_initial_current_is_the_impulse_response():
    """i_syn(0) = i0, v(0) = 0 is what an impulse at t0 leaves: the expm solution."""
    from test_exact import cubalif_graph, expm_response

    tau_syn, tau_mem, r, i0 = 0.002, 0.005, 2.0, 3.0
    g = nirjax.load(cubalif_graph(tau_syn, tau_mem, r, 1.0, theta=1e9), warn=False)
    sol = nirjax.simulate(g, {"input": np.zeros((100, 1))}, dt=1e-4, initial_state={"n": {"i_syn": np.array([i0])}})
    v, i = expm_response(tau_syn, tau_mem, r, i0, np.asarray(sol.ts))
    np.testing.assert_allclose(np.asarray(sol.states["n"]["v"][:, 0]), v, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(sol.states["n"]["i_syn"][:, 0]), i, rtol=1e-10, atol=1e-14)


def test_initial_state_traced_vmap_and_grad():
    """v0 traced: under vmap every member has its closed-form first crossing, and
    d t1 / d v0 = -tau / (v_leak - v0)."""
    tau = 0.01
    g = lif_graph(tau=tau)
    x = jnp.zeros((300, 1))

    def t_first(v0):
        sol = nirjax.simulate(g, {"input": x}, dt=1e-4, max_spikes=8, initial_state={"lif": {"v": v0}})
        return sol.spike_times["lif"][0, 0]

    v0 = jnp.array([0.0, 0.3, 0.9])
    t = jax.jit(jax.vmap(t_first))(v0)
    np.testing.assert_allclose(np.asarray(t), tau * np.log((2.0 - np.asarray(v0)) / 1.0), rtol=1e-12)
    grad = float(jax.grad(t_first)(jnp.array(0.3)))
    assert grad == pytest.approx(-tau / (2.0 - 0.3), rel=1e-9)


def test_initial_state_is_validated():
    g = lif_graph()
    x = np.zeros((10, 1))
    with pytest.raises(ValueError, match="no node 'nope' with state.*'lif'"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state={"nope": {"v": 0.0}})
    with pytest.raises(ValueError, match=r"initial_state\['lif'\]: unknown variable.*'i_syn'.*has \['v'\]"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state={"lif": {"i_syn": 0.0}})
    with pytest.raises(ValueError, match=r"shape \(3,\); node 'lif' has shape \(1,\)"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state={"lif": {"v": np.zeros(3)}})
    with pytest.raises(ValueError, match="'rest', 'zero' or a dict"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state="resting")
    with pytest.raises(TypeError, match=r"initial_state\['lif'\] must be a dict"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state={"lif": 0.0})
    with pytest.raises(nirjax.SimulationError, match=r"initial_state\['lif'\]\['v'\] contains NaN"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, initial_state={"lif": {"v": np.nan}})


# -- chunked runs equal one run ------------------------------------------------------------------
def _check_chunks(g, whole, parts, kw, chunk_kw, atol_t=1e-12, atol_v=1e-10, whole_kw=None):
    """``whole``: inputs of the one run; ``parts``: [(t0, inputs)] of the chunks."""
    one_run = nirjax.simulate(g, whole, **kw, **(whole_kw or {}))
    state, sols = None, []
    for t0, inp in parts:
        extra = {} if state is None else {"initial_state": state}
        s = nirjax.simulate(g, inp, t0=t0, **chunk_kw(t0), **kw, **extra)
        sols.append(s)
        state = s.final_state
    for n, c in one_run.spike_counts.items():
        np.testing.assert_array_equal(sum(np.asarray(s.spike_counts[n]) for s in sols), np.asarray(c))
    for n, t in one_run.spike_times.items():
        t = np.asarray(t).reshape(-1, np.shape(t)[-1])
        pieces = [np.asarray(s.spike_times[n]).reshape(t.shape[0], -1) for s in sols]
        for i in range(t.shape[0]):
            got = np.concatenate([finite(p[i]) for p in pieces])
            np.testing.assert_allclose(got, finite(t[i]), rtol=0, atol=atol_t)
    for n, st in one_run.states.items():
        for v, a in st.items():
            b = np.concatenate([np.asarray(s.states[n][v]) for s in sols])
            np.testing.assert_allclose(b, np.asarray(a), rtol=0, atol=atol_v)
    for n, st in one_run.final_state.items():
        for k, a in st.items():
            np.testing.assert_allclose(np.asarray(sols[-1].final_state[n][k]), np.asarray(a), rtol=0, atol=atol_v)
    return one_run


@pytest.mark.parametrize("name", BRAILLE)
def test_braille_in_chunks_equals_one_run(paper, name):
    g = nirjax.load(paper / "03_rnn" / f"{name}.nir", warn=False)
    x = (np.random.default_rng(5).random((256, 12)) < 0.2).astype(float)
    kw = dict(dt=1e-4, spike_area=1e-4, reset="subtract" if "subtract" in name else None)
    sol = _check_chunks(g, {"input": x}, [(0.0, {"input": x[:100]}), (100 * 1e-4, {"input": x[100:]})], kw,
                        lambda t0: {})
    assert int(np.sum(np.asarray(sol.spike_counts["lif1.lif"]))) > 20


def test_delays_and_threshold_in_chunks_equal_one_run():
    """Spikes in flight in a Delay (outside and inside a cycle) and a Threshold's last input
    cross the chunk boundary."""
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(delay=np.array([0.0123, 0.0004])),
               "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
               "wd": nir.Linear(weight=np.array([[0.0, 0.6], [0.6, 0.0]])), "d2": nir.Delay(delay=np.array([0.003, 0.005])),
               "back": nir.Linear(weight=np.eye(2) * 0.45), "output": nir.Output(np.array([2]))},
        edges=[("input", "d"), ("d", "if"), ("if", "wd"), ("wd", "d2"), ("d2", "back"), ("back", "if"), ("if", "output")]),
        warn=False)
    lists = [[0.001, 0.0021, 0.0105, 0.011], [0.003, 0.0099, 0.0101]]
    cut = 0.01
    whole = {"input": nirjax.Spikes.from_lists(lists, k=4)}
    first = {"input": nirjax.Spikes.from_lists([[t for t in ts if t < cut] for ts in lists], k=4)}
    second = {"input": nirjax.Spikes.from_lists([[t for t in ts if t >= cut] for ts in lists], k=4)}
    kw = dict(dt=1e-3, max_spikes=32)
    sol = _check_chunks(g, whole, [(0.0, first), (cut, second)], kw,
                        lambda t0: dict(t1=t0 + (0.01 if t0 == 0 else 0.02)), atol_t=1e-15, whole_kw=dict(t1=0.03))
    part = nirjax.simulate(g, first, t1=cut, **kw)
    assert np.isfinite(np.asarray(part.final_state["d"]["in_flight_times"])).any()  # spikes were in flight

    th = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "th": nir.Threshold(threshold=np.array([0.5])),
               "output": nir.Output(np.array([1]))}, edges=[("input", "th"), ("th", "output")]))
    x = np.array([0.0, 0.7, 0.9, 0.2, 0.6, 0.6, 0.1, 1.0])[:, None]
    whole = nirjax.simulate(th, {"input": x}, dt=1e-3)
    a = nirjax.simulate(th, {"input": x[:5]}, dt=1e-3)
    assert float(a.final_state["th"]["x_prev"][0]) == 0.6
    b = nirjax.simulate(th, {"input": x[5:]}, dt=1e-3, t0=5e-3, initial_state=a.final_state)
    np.testing.assert_array_equal(np.concatenate([a.spikes["th"], b.spikes["th"]]), np.asarray(whole.spikes["th"]))
    assert sol.result == nirjax.RESULTS.successful


def test_final_state_form():
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(delay=np.array([0.05, 0.01])),
               "cuba": nir.CubaLIF(tau_syn=np.full(2, 0.002), tau_mem=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                                   w_in=np.ones(2), v_threshold=np.full(2, 1e9), v_reset=np.zeros(2)),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "d"), ("d", "cuba"), ("cuba", "output")]), warn=False)
    sol = nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[0.001], [0.002]])}, dt=1e-3, t1=0.02, max_delayed=4)
    assert set(sol.final_state) == {"d", "cuba"}
    assert set(sol.final_state["cuba"]) == {"v", "i_syn"}
    t = np.asarray(sol.final_state["d"]["in_flight_times"])
    a = np.asarray(sol.final_state["d"]["in_flight_areas"])
    assert t.shape == a.shape == (2, 4)
    assert finite(t[0]).tolist() == [0.001 + 0.05] and a[0, 0] == 1.0  # due at 0.051 > t1: still in flight
    assert np.isinf(t[1]).all()
    # the state reached equals the closed form: i_syn decays from the jump at 0.012
    i = np.asarray(sol.final_state["cuba"]["i_syn"])
    assert i[1] == pytest.approx(1.0 / 0.002 * math.exp(-(0.02 - 0.012) / 0.002), rel=1e-12)
    assert i[0] == 0.0
