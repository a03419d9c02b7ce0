"""Robust defaults of the ideal model, tried as a new user would: float32, binning of spike
inputs, recording options and sizes, traced value checks, readable errors, silent neurons."""

import math
import os
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest

import nirjax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(v):
    return np.array([v], float)


def lif_net(n=1, tau=0.01, r=1.0):
    return nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n])),
               "lif": nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n),
                              v_reset=np.zeros(n)),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "lif"), ("lif", "output")]), warn=False)


# under jax.jit an error raised by equinox.error_if surfaces as a JAX runtime error carrying
# the message (under equinox.filter_jit: an EquinoxRuntimeError)
TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError)


def run_float32(code):
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_float32_rk_default_tolerances_and_raster_binning(paper):
    """In float32 (JAX's default) method='rk' runs with its default tolerances on the README's
    LIF graph and on LI -> LIF (the graph method='exact' sends users to), and spikes given as a
    raster land in their own steps (from_raster uses the solver's step boundaries)."""
    code = f"""
import jax, numpy as np, nir, nirjax
assert not jax.config.jax_enable_x64
g = nirjax.load({str(paper / '01_lif' / 'lif_norse.nir')!r})
x = np.loadtxt({str(paper / '01_lif' / 'lif_exact.csv')!r}, delimiter=',')[:, :1]
a = nirjax.simulate(g, {{'input': x}}, dt=1e-4, t1=0.1)
b = nirjax.simulate(g, {{'input': x}}, dt=1e-4, t1=0.1, method='rk')
ta, tb = np.asarray(a.spike_times['1'][0]), np.asarray(b.spike_times['1'][0])
print('lif', str(b.result._value), np.isfinite(tb).sum(), np.isfinite(ta).sum(), np.nanmax(np.abs(np.where(np.isfinite(ta), ta - tb, 0))))
li = nir.NIRGraph(nodes={{'input': nir.Input(np.array([1])), 'li': nir.LI(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0])),
  'w': nir.Linear(weight=np.array([[3.0]])), 'lif': nir.LIF(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0]),
  v_threshold=np.array([1.0]), v_reset=np.array([0.0])), 'output': nir.Output(np.array([1]))}},
  edges=[('input', 'li'), ('li', 'w'), ('w', 'lif'), ('lif', 'output')])
s = nirjax.simulate(li, {{'input': np.ones((100, 1))}}, dt=1e-3, method='rk')
print('lilif', str(s.result._value), float(s.spike_times['lif'][0, 0]))
r = (np.random.default_rng(0).random((300, 3)) < 0.3).astype(float)
ifg = nir.NIRGraph(nodes={{'input': nir.Input(np.array([3])), 'if': nir.IF(r=np.ones(3), v_threshold=np.full(3, 0.5),
  v_reset=np.zeros(3)), 'output': nir.Output(np.array([3]))}}, edges=[('input', 'if'), ('if', 'output')])
sp = nirjax.Spikes.from_raster(r, dt=1e-3)
sol = nirjax.simulate(ifg, {{'input': sp}}, dt=1e-3, t1=0.3)
print('raster', str(sol.spike_times['if'].dtype), int(np.abs(np.asarray(sol.spikes['if']) - r).sum()), int(r.sum()))
"""
    out = {line.split()[0]: line.split()[1:] for line in run_float32(code).strip().splitlines()}
    assert out["lif"][0] == "0" and out["lif"][1] == out["lif"][2] == "4"
    assert float(out["lif"][3]) < 1e-5  # float32 Runge-Kutta vs the float32 closed form
    assert out["lilif"][0] == "0"
    # li: v = 1 - e^(-t/tau); lif: v = 3 (1 - e^(-s) - s e^(-s)), s = t / tau: first crossing
    s = np.linspace(0.05, 3, 200001)
    first = s[np.argmax(3 * (1 - np.exp(-s) - s * np.exp(-s)) >= 1)] * 0.01
    assert abs(float(out["lilif"][1]) - first) < 1e-5
    assert out["raster"][0] == "float32" and out["raster"][1] == "0" and int(out["raster"][2]) > 200


def test_traced_invalid_parameters_and_inputs_are_reported():
    g = lif_net()
    x = jnp.full((50, 1), 3.0)

    @jax.jit
    def run(tau, x):
        sol = nirjax.simulate(eqx.tree_at(lambda n: n.nodes["lif"].tau, g, tau), {"input": x}, dt=1e-4, throw=False)
        return sol.result, sol.stats["invalid"], sol.states["lif"]["v"]

    res, inv, v = run(jnp.array([0.01]), x)
    assert res == nirjax.RESULTS.successful
    res, inv, v = run(jnp.array([-0.01]), x)
    assert res == nirjax.RESULTS.invalid_parameter
    bad = [m for m, f in inv["parameters"].items() if bool(f)]
    assert bad == ["node 'lif': parameter 'tau' must be a finite time constant > 0 (seconds)"]
    assert np.all(np.isfinite(np.asarray(v)))  # nothing simulated: no NaN voltages
    res, inv, _ = run(jnp.array([jnp.nan]), x)
    assert res == nirjax.RESULTS.invalid_parameter
    res, inv, _ = run(jnp.array([0.01]), x.at[7, 0].set(jnp.inf))
    assert res == nirjax.RESULTS.invalid_input
    assert [m for m, f in inv["inputs"].items() if bool(f)] == ["input 'input' contains NaN or inf"]
    with pytest.raises(TRACED_ERRORS, match="parameter 'tau' must be a finite time constant"):
        jax.jit(lambda tau: nirjax.simulate(eqx.tree_at(lambda n: n.nodes["lif"].tau, g, tau), {"input": x},
                                            dt=1e-4).spike_counts)(jnp.array([0.0]))
    with pytest.raises(nirjax.SimulationError, match="input 'input' contains NaN"):
        nirjax.simulate(g, {"input": np.full((5, 1), np.nan)}, dt=1e-4)
    assert "invalid" in str(nirjax.RESULTS[nirjax.RESULTS.invalid_parameter]).lower()


def test_traced_spike_time_out_of_range_and_delay_bias_are_reported():
    """Issue 7 item 4: under jit, a spike time beyond t1 and a bias feeding a Delay are errors
    (eagerly they are refused before running)."""
    g = lif_net()
    f = jax.jit(lambda t: nirjax.simulate(g, {"input": nirjax.Spikes(t)}, dt=1e-3, t1=0.01, throw=False).result)
    assert f(jnp.array([[0.005]])) == nirjax.RESULTS.successful
    assert f(jnp.array([[0.02]])) == nirjax.RESULTS.invalid_input
    with pytest.raises(TRACED_ERRORS, match=r"spike times must lie in \[t0, t1\)"):
        jax.jit(lambda t: nirjax.simulate(g, {"input": nirjax.Spikes(t)}, dt=1e-3, t1=0.01).spike_counts)(
            jnp.array([[0.02]]))
    d = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "a": nir.Affine(weight=np.ones((1, 1)), bias=np.zeros(1)),
               "d": nir.Delay(delay=np.array([0.01])), "if": nir.IF(r=one(1), v_threshold=one(1), v_reset=one(0)),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "a"), ("a", "d"), ("d", "if"), ("if", "output")]))
    sp = nirjax.Spikes.from_lists([[0.001]])
    run = jax.jit(lambda b: nirjax.simulate(eqx.tree_at(lambda n: n.nodes["a"].bias, d, b), {"input": sp}, dt=1e-3,
                                            t1=0.02, throw=False).result)
    assert run(jnp.zeros(1)) == nirjax.RESULTS.successful
    assert run(jnp.ones(1)) == nirjax.RESULTS.invalid_parameter
    with pytest.raises(TRACED_ERRORS, match="'bias' feeds Delay node 'd' and must be 0"):
        jax.jit(lambda b: nirjax.simulate(eqx.tree_at(lambda n: n.nodes["a"].bias, d, b), {"input": sp}, dt=1e-3,
                                          t1=0.02).spike_counts)(jnp.ones(1))


def test_overflow_is_one_readable_line():
    g = lif_net(tau=0.01, r=0.01)
    x = np.full((100, 1), 500.0)
    with pytest.raises(nirjax.SimulationError) as e:
        nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=3)
    msg = str(e.value)
    assert "\n" not in msg
    assert "spike-time buffer full at node 'lif'" in msg and "max_spikes=3" in msg
    n = int(nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=100).spike_counts["lif"][0])
    assert f"pass a larger max_spikes={n} (or more)" in msg
    assert e.value.__suppress_context__
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes={"lif": 3}, throw=False)
    assert "max_spikes" in str(sol.result) and bool(sol.stats["flags"]["lif"]["spikes"])


def test_result_prints_its_meaning():
    g = lif_net()
    sol = nirjax.simulate(g, {"input": np.full((20, 1), 3.0)}, dt=1e-4)
    assert "completed" in str(sol.result)


def test_first_spike_times_of_silent_neurons():
    """Neuron 0 fires (closed form), neuron 1 is silent: its time is the end of the run with a
    zero gradient and fired = False."""
    tau, x0 = 0.01, 2.0
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "w": nir.Linear(weight=np.array([[1.0], [0.4]])),
               "lif": nir.LIF(tau=np.full(2, tau), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                              v_reset=np.zeros(2)), "output": nir.Output(np.array([2]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")]))
    x = jnp.full((100, 1), x0)

    def first(w):
        sol = nirjax.simulate(eqx.tree_at(lambda n: n.nodes["w"].weight, g, w), {"input": x}, dt=1e-4, max_spikes=8)
        return sol.first_spike_times("lif")

    w = g.nodes["w"].weight
    t, fired = first(w)
    assert fired.tolist() == [True, False]
    assert float(t[0]) == pytest.approx(tau * math.log(x0 / (x0 - 1.0)), rel=1e-12)
    assert float(t[1]) == pytest.approx(0.01, rel=1e-12)
    grad = jax.grad(lambda w: jnp.sum(first(w)[0]))(w)
    a = x0  # t = tau ln(A / (A - 1)), A = w x0: dt/dw = -tau / (w (A - 1)) x0 / A * ... = -tau x0 / (A (A - 1))
    assert float(grad[0, 0]) == pytest.approx(-tau * x0 / (a * (a - 1.0)), rel=1e-7)
    assert float(grad[1, 0]) == 0.0


def test_jacfwd_with_reverse_says_what_to_do():
    g = lif_net()
    x = jnp.full((100, 1), 3.0)

    def t_first(tau, autodiff):
        sol = nirjax.simulate(eqx.tree_at(lambda n: n.nodes["lif"].tau, g, tau), {"input": x}, dt=1e-4, max_spikes=8,
                              autodiff=autodiff)
        return sol.spike_times["lif"][0, 0]

    tau = jnp.array([0.01])
    with pytest.raises(TypeError, match="autodiff='forward'"):
        jax.jacfwd(lambda p: t_first(p, "reverse"))(tau)
    fwd = jax.jacfwd(lambda p: t_first(p, "forward"))(tau)
    assert float(fwd[0]) == pytest.approx(math.log(3.0 / 2.0), rel=1e-9)


def test_record_options():
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "lif": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                                                                   v_threshold=np.ones(2), v_reset=np.zeros(2)),
               "w": nir.Linear(weight=np.ones((3, 2))),
               "cuba": nir.CubaLIF(tau_syn=np.full(3, 0.005), tau_mem=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                                   w_in=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)),
               "output": nir.Output(np.array([3]))},
        edges=[("input", "lif"), ("lif", "w"), ("w", "cuba"), ("cuba", "output")]), warn=False)
    x = np.full((200, 2), 3.0)
    full = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=0.01)
    assert set(full.states) == {"lif", "cuba"} and set(full.states["cuba"]) == {"v", "i_syn"}
    assert set(full.spikes) == set(full.spike_times) == {"lif", "cuba"}
    times = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=0.01, record="spike_times")
    assert times.states == {} and times.spikes == {} and set(times.spike_times) == {"lif", "cuba"}
    np.testing.assert_array_equal(np.asarray(times.spike_times["cuba"]), np.asarray(full.spike_times["cuba"]))
    part = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=0.01, record={"cuba": ("v", "spikes")})
    assert set(part.states) == {"cuba"} and set(part.states["cuba"]) == {"v"} and set(part.spikes) == {"cuba"}
    np.testing.assert_array_equal(np.asarray(part.states["cuba"]["v"]), np.asarray(full.states["cuba"]["v"]))
    np.testing.assert_array_equal(np.asarray(part.spike_counts["lif"]), np.asarray(full.spike_counts["lif"]))
    with pytest.raises(ValueError, match="no recordable node 'nope'"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, record={"nope": "v"})
    with pytest.raises(ValueError, match="unknown kind 'voltage'"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, record="voltage")
    with pytest.raises(ValueError, match="node 'lif' has no 'i_syn'"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, record={"lif": "i_syn"})


def test_a_run_that_cannot_fit_is_refused_with_its_size():
    """10^5 neurons x 10^5 steps of per-step states would be ~75 GiB: refused before allocating."""
    n = 100_000
    g = lif_net(n=n)
    sp = nirjax.Spikes(jnp.full((n, 1), jnp.inf))
    with pytest.raises(MemoryError, match=r"would hold about [0-9.]+ GiB.*per-step states.*record="):
        nirjax.simulate(g, {"input": sp}, dt=1e-6, t1=0.1)
    # the same run keeping only spike times fits, and its default buffer is bounded
    from nirjax._ideal import default_max_spikes

    assert default_max_spikes(g, 100_000) * n <= 2**24 or default_max_spikes(g, 100_000) == 64
