"""The exact solver against closed forms and the NIR paper's recorded exact trace."""

import math

import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest
from conftest import paper_pulse_input

import nirjax


def lif_graph(n=1, tau=0.01, r=1.0, v_leak=0.0, theta=1.0, v_reset=0.0, w=None):
    ones = np.ones(n)
    nodes = {
        "input": nir.Input(np.array([n])),
        "lif": nir.LIF(tau=tau * ones, r=r * ones, v_leak=v_leak * ones, v_threshold=theta * ones, v_reset=v_reset * ones),
        "output": nir.Output(np.array([n])),
    }
    edges = [("lif", "output")]
    if w is None:
        edges.append(("input", "lif"))
    else:
        nodes["w"] = nir.Linear(weight=np.asarray(w, float))
        edges += [("input", "w"), ("w", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


# -- the NIR paper's LIF neuron -----------------------------------------------------
def closed_form_paper(x, tau, theta, dt):
    """Independent event-by-event solution: r = 1, v_leak = 0, ZOH input, reset to 0."""
    v, spikes, vs = 0.0, [], []
    for k, i_k in enumerate(x):
        t, end = k * dt, (k + 1) * dt
        while True:
            if i_k > theta and v < theta:
                s = tau * math.log((v - i_k) / (theta - i_k))
                if t + s <= end:
                    t += s
                    spikes.append(t)
                    v = 0.0
                    continue
            v = i_k + (v - i_k) * math.exp(-(end - t) / tau)
            break
        vs.append(v)
    return np.array(spikes), np.array(vs)


def test_paper_lif_spike_times_and_trace(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    x = paper_pulse_input()
    sol = nirjax.simulate(g, {"input": x}, dt=1e-4, t1=0.1, reset="subtract")
    times = np.asarray(sol.spike_times["1"][0])
    times = times[np.isfinite(times)]
    tau = float(np.asarray(g.nodes["1"].tau)[0])
    theta = float(np.asarray(g.nodes["1"].v_threshold)[0])
    expected, v_expected = closed_form_paper(x[:, 0], tau, theta, 1e-4)
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-9)
    # the paper's rounded values (nir-paper/README.md), in ms
    np.testing.assert_allclose(times * 1e3, [46.084, 51.090, 71.092, 76.091], atol=6e-4)
    csv = np.loadtxt(paper / "01_lif" / "lif_exact.csv", delimiter=",")
    v = np.asarray(sol.states["1"]["v"][:, 0])
    np.testing.assert_allclose(v, csv[:, 1], rtol=0, atol=1e-7)
    np.testing.assert_allclose(v, v_expected, rtol=0, atol=1e-12)
    assert np.asarray(sol.spikes["1"][:, 0]).nonzero()[0].tolist() == [460, 510, 710, 760]


# -- closed forms -----------------------------------------------------------------------
@pytest.mark.parametrize("v_reset", [0.0, -0.3])
def test_lif_constant_drive_period(v_reset):
    tau, r, theta, current, v_leak = 0.02, 2.0, 1.0, 3.0, 0.1
    g = nirjax.load(lif_graph(tau=tau, r=r, theta=theta, v_reset=v_reset, v_leak=v_leak))
    dt, steps = 1e-3, 1000
    sol = nirjax.simulate(g, {"input": np.full((steps, 1), current)}, dt=dt, max_spikes=512)
    t = np.asarray(sol.spike_times["lif"][0])
    t = t[np.isfinite(t)]
    v_inf = v_leak + r * current
    first = tau * math.log((v_inf - v_leak) / (v_inf - theta))
    period = tau * math.log((v_inf - v_reset) / (v_inf - theta))
    n = len(t)
    assert n >= 100
    expected = first + period * np.arange(n)
    np.testing.assert_allclose(t, expected, rtol=1e-9, atol=0)


def test_if_constant_drive():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "if": nir.IF(r=np.array([1.5, 0.5]), v_threshold=np.array([1.0, 2.0]),
                                                                   v_reset=np.array([0.0, -1.0])),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "if"), ("if", "output")],
    )
    x = np.tile([[3.0, 7.0]], (200, 1))
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3, max_spikes=256)
    times = np.asarray(sol.spike_times["if"])
    for i, (r, th, vr, xi) in enumerate([(1.5, 1.0, 0.0, 3.0), (0.5, 2.0, -1.0, 7.0)]):
        t = times[i][np.isfinite(times[i])]
        expected = th / (r * xi) + (th - vr) / (r * xi) * np.arange(len(t))
        assert len(t) == int((0.2 - th / (r * xi)) // ((th - vr) / (r * xi))) + 1
        np.testing.assert_allclose(t, expected, rtol=1e-12)


def test_li_step_response():
    tau, r, x0 = 0.005, 3.0, 0.7
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "li": nir.LI(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "li"), ("li", "output")],
    )
    sol = nirjax.simulate(g, {"input": np.full((50, 1), x0)}, dt=1e-3)
    ts = np.asarray(sol.ts)
    np.testing.assert_allclose(np.asarray(sol.states["li"]["v"][:, 0]), r * x0 * (1 - np.exp(-ts / tau)), rtol=1e-13, atol=1e-15)


def cubalif_graph(tau_syn, tau_mem, r, w_in, theta, v_leak=0.0):
    a = lambda v: np.array([v])  # noqa: E731
    return nir.NIRGraph(
        nodes={"input": nir.Input(a(1)),
               "n": nir.CubaLIF(tau_syn=a(tau_syn), tau_mem=a(tau_mem), r=a(r), v_leak=a(v_leak), v_threshold=a(theta),
                                v_reset=a(0.0), w_in=a(w_in)),
               "output": nir.Output(a(1))},
        edges=[("input", "n"), ("n", "output")],
    )


def expm2(M):
    """Matrix exponential by scaling and squaring of a 30-term Taylor series
    (accurate also when the eigenvalues coincide, unlike an eigendecomposition)."""
    norm = np.abs(M).sum(axis=1).max()
    k = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    A = M / 2**k
    E, term = np.eye(len(M)), np.eye(len(M))
    for j in range(1, 30):
        term = term @ A / j
        E = E + term
    for _ in range(k):
        E = E @ E
    return E


def expm_response(tau_syn, tau_mem, r, i0, ts):
    """(v, I) after an initial current i0: exp(A s) applied to (0, i0), with the
    2x2 system matrix A of tau_syn I' = -I, tau_mem v' = -v + r I."""
    A = np.array([[-1 / tau_mem, r / tau_mem], [0.0, -1 / tau_syn]])
    out = np.stack([expm2(A * t) @ np.array([0.0, i0]) for t in ts])
    return out[:, 0], out[:, 1]


@pytest.mark.parametrize("tau_syn", [0.002, 0.005, 0.0050000001])
def test_cubalif_impulse_response(tau_syn):
    tau_mem, r, w_in, q = 0.005, 2.0, 1.5, 0.01
    g = nirjax.load(cubalif_graph(tau_syn, tau_mem, r, w_in, theta=1e9))
    t_in = 0.002
    sol = nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[t_in]])}, dt=1e-4, t1=0.03, spike_area=q)
    ts = np.asarray(sol.ts)
    after = ts > t_in + 1e-12  # the state at ts == t_in is the left limit (before the impulse)
    i0 = w_in * q / tau_syn
    v, i = expm_response(tau_syn, tau_mem, r, i0, ts[after] - t_in)
    np.testing.assert_allclose(np.asarray(sol.states["n"]["v"][after, 0]), v, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(np.asarray(sol.states["n"]["i_syn"][after, 0]), i, rtol=1e-9, atol=1e-13)
    assert np.all(np.asarray(sol.states["n"]["v"][~after]) == 0)


def test_cubalif_spike_time_root():
    """A CubaLIF crossing (rising and falling v) against a bisection on the expm solution."""
    tau_syn, tau_mem, r, w_in, q = 0.003, 0.008, 1.0, 1.0, 0.01
    i0 = w_in * q / tau_syn
    peak_t = math.log(tau_mem / tau_syn) / (1 / tau_syn - 1 / tau_mem)
    peak_v = expm_response(tau_syn, tau_mem, r, i0, [peak_t])[0][0]
    theta = 0.9 * peak_v
    g = nirjax.load(cubalif_graph(tau_syn, tau_mem, r, w_in, theta=theta))
    sol = nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[0.001]])}, dt=1e-3, t1=0.05, spike_area=q)
    lo, hi = 0.0, peak_t
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if expm_response(tau_syn, tau_mem, r, i0, [mid])[0][0] >= theta:
            hi = mid
        else:
            lo = mid
    t = np.asarray(sol.spike_times["n"][0])
    assert np.isfinite(t).sum() == 1
    np.testing.assert_allclose(t[0], 0.001 + hi, rtol=0, atol=1e-13)


def test_delay_is_exact():
    d = np.array([0.0123, 0.0004])
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(delay=d),
               "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)), "output": nir.Output(np.array([2]))},
        edges=[("input", "d"), ("d", "if"), ("if", "output")],
    )
    t_in = [[0.001, 0.0021], [0.003]]
    sol = nirjax.simulate(g, {"input": nirjax.Spikes.from_lists(t_in)}, dt=1e-3, t1=0.02)
    t = np.asarray(sol.spike_times["if"])
    np.testing.assert_array_equal(t[0][np.isfinite(t[0])], np.array(t_in[0]) + d[0])
    np.testing.assert_array_equal(t[1][np.isfinite(t[1])], np.array(t_in[1]) + d[1])


@pytest.mark.parametrize("reset", [None, "subtract"])
def test_two_layer_impulse_cascade(reset):
    """input spike -> (x2) -> IF (theta 1) -> (x0.6) -> LIF (jump = A since r = tau) -> cascade by hand."""
    tau = 0.01
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "w1": nir.Linear(weight=np.array([[2.0]])),
               "if": nir.IF(r=np.array([1.0]), v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
               "w2": nir.Linear(weight=np.array([[0.6]])),
               "lif": nir.LIF(tau=np.array([tau]), r=np.array([tau]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]),
                              v_reset=np.array([0.0])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "w1"), ("w1", "if"), ("if", "w2"), ("w2", "lif"), ("lif", "output")],
    )
    t_in = 0.0025
    sol = nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[t_in]])}, dt=1e-3, t1=0.01, reset=reset)
    if_t = np.asarray(sol.spike_times["if"][0])
    lif_t = np.asarray(sol.spike_times["lif"][0])
    ts = np.asarray(sol.ts)
    v = np.asarray(sol.states["lif"]["v"][:, 0])
    if reset is None:
        # IF: v = 2 >= 1 -> one spike, v <- 0. LIF: v = 0.6, then decays.
        assert np.isfinite(if_t).sum() == 1 and if_t[0] == t_in
        assert np.isfinite(lif_t).sum() == 0
        after = ts >= t_in
        np.testing.assert_allclose(v[after], 0.6 * np.exp(-(ts[after] - t_in) / tau), rtol=1e-12)
    else:
        # subtract: IF v = 2 -> 1 -> 0, two spikes at t_in; LIF gets 1.2 >= 1 -> fires, v <- 0.2.
        assert if_t[:2].tolist() == [t_in, t_in] and np.isfinite(if_t).sum() == 2
        assert lif_t[0] == t_in and np.isfinite(lif_t).sum() == 1
        after = ts >= t_in
        np.testing.assert_allclose(v[after], 0.2 * np.exp(-(ts[after] - t_in) / tau), rtol=1e-12)
        assert np.asarray(sol.states["if"]["v"][-1, 0]) == 0.0


def test_threshold_node_on_piecewise_constant_input():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "th": nir.Threshold(threshold=np.array([0.5])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "th"), ("th", "output")],
    )
    x = np.array([0.0, 0.7, 0.9, 0.2, 0.6, 0.6, 0.1, 1.0])[:, None]
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3)
    t = np.asarray(sol.spike_times["th"][0])
    np.testing.assert_allclose(t[np.isfinite(t)], [1e-3, 4e-3, 7e-3], rtol=1e-12)


def test_rk_path_agrees_with_exact_on_paper_graph(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    x = paper_pulse_input()
    a = nirjax.simulate(g, {"input": x}, dt=1e-4, method="exact")
    b = nirjax.simulate(g, {"input": x}, dt=1e-4, method="rk", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(b.spike_times["1"]), np.asarray(a.spike_times["1"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.asarray(b.states["1"]["v"]), np.asarray(a.states["1"]["v"]), rtol=0, atol=1e-8)


def test_exact_refuses_continuous_coupling_rk_runs_it():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "li": nir.LI(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0])),
               "w": nir.Linear(weight=np.array([[3.0]])),
               "lif": nir.LIF(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]),
                              v_reset=np.array([0.0])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "li"), ("li", "w"), ("w", "lif"), ("lif", "output")],
    )
    x = np.ones((100, 1))
    with pytest.raises(nirjax.UnsupportedError, match="'lif'.*'li'.*method='rk'"):
        nirjax.simulate(g, {"input": x}, dt=1e-3)
    sol = nirjax.simulate(g, {"input": x}, dt=1e-3, method="rk")
    # li: v = 1 - e^{-t/tau}; lif: tau v' = -v + 3 (1 - e^{-t/tau}) -> v = 3 (1 - e^{-s} - s e^{-s}), s = t / tau
    s = np.linspace(0.05, 3, 2000)
    first = s[np.argmax(3 * (1 - np.exp(-s) - s * np.exp(-s)) >= 1)] * 0.01
    t = float(sol.spike_times["lif"][0, 0])
    assert abs(t - first) < 0.01 * 3 / 2000 * 2


def test_jit_and_float_defaults(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    x = jnp.asarray(paper_pulse_input())
    f = jax.jit(lambda g, x: nirjax.simulate(g, {"input": x}, dt=1e-4).spike_times["1"])
    np.testing.assert_array_equal(np.asarray(f(g, x)), np.asarray(nirjax.simulate(g, {"input": x}, dt=1e-4).spike_times["1"]))


def test_float32_mode(paper):
    """Without jax_enable_x64 the same code runs in float32, spike times exact to float32 rounding."""
    import subprocess
    import sys

    code = (
        "import jax, numpy as np, nirjax\n"
        "assert not jax.config.jax_enable_x64\n"
        f"x = np.loadtxt({str(paper / '01_lif' / 'lif_exact.csv')!r}, delimiter=',')[:, :1]\n"
        f"sol = nirjax.simulate(nirjax.load({str(paper / '01_lif' / 'lif_norse.nir')!r}), {{'input': x}}, dt=1e-4)\n"
        "t = np.asarray(sol.spike_times['1'][0]); print(t.dtype, *t[np.isfinite(t)])\n"
    )
    import os
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(__file__)), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    dtype, *times = res.stdout.split()
    assert dtype == "float32"
    tau = float(np.float32(2.5e-3))
    expected, _ = closed_form_paper(paper_pulse_input()[:, 0], tau, float(np.float32(0.1)), 1e-4)
    np.testing.assert_allclose(np.array(times, float), expected, rtol=2e-6)
