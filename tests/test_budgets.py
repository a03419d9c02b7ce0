"""Static event budgets: every overflow is a result code, and raises with advice when throw=True."""

import equinox as eqx
import nir
import numpy as np
import pytest

import nirjax


def lif_self_loop(w_self):
    one = lambda v: np.array([v], float)  # noqa: E731
    return nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(one(1).astype(int)),
               "lif": nir.LIF(tau=one(0.01), r=one(0.01), v_leak=one(0.0), v_threshold=one(1.0), v_reset=one(0.0)),
               "rec": nir.Linear(weight=np.array([[w_self]])), "output": nir.Output(one(1).astype(int))},
        edges=[("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
    ))


def test_spike_buffer_overflow():
    g = lif_self_loop(0.0)
    x = np.full((100, 1), 500.0)  # v_inf = r x = 5: fires every ~2.2 ms
    with pytest.raises(eqx.EquinoxRuntimeError, match="max_spikes"):
        nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=3)
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=3, throw=False)
    assert sol.result == nirjax.RESULTS.spike_buffer_full
    full = nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=100)
    assert int(sol.spike_counts["lif"][0]) == int(full.spike_counts["lif"][0]) > 3  # counts stay correct
    np.testing.assert_array_equal(np.asarray(sol.spike_times["lif"][0]), np.asarray(full.spike_times["lif"][0, :3]))


def test_unbounded_cascade_is_reported():
    g = lif_self_loop(2.0)  # each spike jumps v by 2 > threshold - reset: fires forever at one instant
    x = np.full((20, 1), 500.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="cascade"):
        nirjax.simulate(g, {"input": x}, dt=1e-3, spike_area=1.0, max_cascade=16)
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3, spike_area=1.0, max_cascade=16, throw=False)
    assert sol.result == nirjax.RESULTS.cascade_unsettled


def test_event_budget_per_step():
    g = lif_self_loop(0.0)
    x = np.full((10, 1), 500.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="max_events"):
        nirjax.simulate(g, {"input": x}, dt=1e-2, max_events=2)


def test_delay_buffer_overflow():
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "d": nir.Delay(delay=np.array([0.05])),
               "if": nir.IF(r=np.ones(1), v_threshold=np.ones(1), v_reset=np.zeros(1)), "output": nir.Output(np.array([1]))},
        edges=[("input", "d"), ("d", "if"), ("if", "output")],
    ))
    sp = nirjax.Spikes.from_lists([[0.001, 0.002, 0.003, 0.004]])
    with pytest.raises(eqx.EquinoxRuntimeError, match="max_delayed"):
        nirjax.simulate(g, {"input": sp}, dt=1e-3, t1=0.1, max_delayed=3)
    ok = nirjax.simulate(g, {"input": sp}, dt=1e-3, t1=0.1, max_delayed=4)
    t = np.asarray(ok.spike_times["if"][0])
    np.testing.assert_allclose(t[np.isfinite(t)], [0.051, 0.052, 0.053, 0.054], rtol=1e-12)


def test_delay_and_threshold_signal_kinds_are_checked():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "d": nir.Delay(delay=np.array([0.01])),
               "if": nir.IF(r=np.ones(1), v_threshold=np.ones(1), v_reset=np.zeros(1)), "output": nir.Output(np.array([1]))},
        edges=[("input", "d"), ("d", "if"), ("if", "output")],
    )
    with pytest.raises(nirjax.UnsupportedError, match="Delay node 'd' receives a continuous signal"):
        nirjax.simulate(g, {"input": np.ones((10, 1))}, dt=1e-3)
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "th": nir.Threshold(threshold=np.array([0.5])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "th"), ("th", "output")],
    )
    with pytest.raises(nirjax.UnsupportedError, match="Threshold node 'th' receives spikes"):
        nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[0.001]])}, dt=1e-3, t1=0.01)
