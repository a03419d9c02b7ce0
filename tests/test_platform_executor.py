"""The stepped executor and the platform registry: closed forms, convergence order,
jit/vmap/grad, errors that name node and rule."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest

import nirjax
from nirjax.semantics import platforms as P

from conftest import PAPER


def _lif_graph(tau=0.01, r=2.0, theta=1.0, w=1.0):
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([1])}),
            "fc": nir.Affine(weight=np.array([[w]]), bias=np.array([0.0])),
            "lif": nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0]),
                           v_threshold=np.array([theta]), v_reset=np.array([0.0])),
            "output": nir.Output(output_type={"output": np.array([1])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    return nirjax.load(g)


def test_registry_lists_and_refuses_unknown():
    names = nirjax.platforms()
    for n in ("euler", "zoh", "snntorch", "norse", "sinabs", "rockpool", "spyx", "lava", "loihi2", "nengo",
              "spinnaker2", "xylo", "speck"):
        assert n in names
    with pytest.raises(ValueError, match="Unknown platform 'nope'.*euler"):
        nirjax.get_platform("nope")
    with pytest.raises(TypeError, match="no option"):
        nirjax.get_platform("norse", bogus=1)
    with pytest.raises(ValueError, match="already registered"):
        P.register("norse", P.Norse)

    @dataclasses.dataclass(frozen=True)
    class Textbook(P.Platform):  # a user's platform: a final subclass of the abstract base
        name = "textbook"
        source = "a test"
        version: str = "1"
        decay: str = "euler"

    P.register("textbook", Textbook)
    try:
        assert nirjax.get_platform("textbook").decay == "euler"
        assert nirjax.get_platform("textbook", decay="exact").decay == "exact"
    finally:
        P.unregister("textbook")
    assert "textbook" not in nirjax.platforms()
    with pytest.raises(TypeError, match="final platform"):
        @dataclasses.dataclass(frozen=True)
        class MyNorse(P.Norse):
            pass
    with pytest.raises(TypeError, match="abstract"):
        P.Platform()
    for n in names:  # every platform documents its source and version
        p = nirjax.get_platform(n)
        assert p.source and p.version and type(p).__doc__
        assert "decay" in p.describe()


def test_unsupported_names_node_and_rule():
    g = nirjax.load(PAPER / "02_cnn" / "cnn_sinabs.nir", warn=False)
    x = np.zeros((2, 2, 34, 34))
    with pytest.raises(nirjax.UnsupportedError, match=r"node '1' \(IF\).*snnTorch 1.0.0 maps IF"):
        nirjax.simulate(g, x, dt=1e-3, platform="snntorch")
    b = nirjax.load(PAPER / "03_rnn" / "braille_noDelay_bias_zero.nir", warn=False)
    with pytest.raises(nirjax.UnsupportedError, match="'lif1.lif' \\(CubaLIF\\).*Sinabs"):
        nirjax.simulate(b, np.zeros((3, 12)), dt=1e-4, platform="sinabs")
    with pytest.raises(nirjax.UnsupportedError, match="non-zero bias"):
        nirjax.simulate(b, np.zeros((3, 12)), dt=1e-4, platform="loihi2")
    with pytest.raises(nirjax.UnsupportedError, match="cannot be configured with reset='subtract'"):
        nirjax.simulate(b, np.zeros((3, 12)), dt=1e-4, platform="snntorch", reset="subtract")


def test_zoh_is_exact_below_threshold_and_euler_is_first_order():
    """Constant input, no spike: v(t) = r x (1 - exp(-t/tau)) (closed form). ZOH stepping is
    exact at the step ends; forward Euler's error halves with dt (order 1)."""
    tau, r, x0 = 0.01, 2.0, 0.4  # v_inf = 0.8 < theta = 1
    g = _lif_graph(tau=tau, r=r)
    errs = []
    for dt in (1e-3, 5e-4, 2.5e-4):
        n = int(round(0.02 / dt))
        x = np.full((n, 1), x0)
        t = dt * np.arange(1, n + 1)
        exact = r * x0 * (1 - np.exp(-t / tau))
        vz = np.asarray(nirjax.simulate(g, x, dt=dt, platform="zoh", record=None).states["lif"]["v"][:, 0])
        np.testing.assert_allclose(vz, exact, rtol=1e-12, atol=1e-14)
        ve = np.asarray(nirjax.simulate(g, x, dt=dt, platform="euler", record=None).states["lif"]["v"][:, 0])
        errs.append(np.max(np.abs(ve - exact)))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    np.testing.assert_allclose(rates, 1.0, atol=0.1)


def test_solution_shapes_jit_vmap_and_surrogate_grad():
    g = _lif_graph(tau=0.005, r=1.0, theta=0.5, w=1.0)
    x = (np.random.default_rng(0).random((200, 1)) < 0.3) * 1.0
    sol = nirjax.simulate(g, x, dt=1e-4, platform="norse", record=None)
    assert sol.spikes["lif"].shape == (200, 1) and sol.states["lif"]["v"].shape == (200, 1)
    assert sol.ts.shape == (200,) and sol.spike_counts["lif"].shape == (1,)

    def count(w, xs):
        gg = eqx.tree_at(lambda q: q.nodes["fc"].weight, g, w)
        return jnp.sum(nirjax.simulate(gg, xs, dt=1e-4, platform="euler").spikes["lif"])

    w0 = g.nodes["fc"].weight
    c = jax.jit(count)(w0 * 20.0, x)
    assert float(c) > 0
    grad = jax.grad(count)(w0 * 20.0, x)
    assert np.all(np.isfinite(np.asarray(grad))) and float(jnp.abs(grad).sum()) > 0
    # vmap over a weight sweep: more drive, more spikes
    ws = jnp.stack([w0 * s for s in (5.0, 20.0, 80.0)])
    counts = np.asarray(jax.vmap(count, in_axes=(0, None))(ws, x))
    assert counts[0] <= counts[1] <= counts[2] and counts[2] > counts[0]


def test_fixed_point_axes_only_move_in_float():
    p = nirjax.get_platform("loihi2", decay="exact")
    g = _lif_graph(tau=0.005)
    with pytest.raises(nirjax.UnsupportedError, match="quantization=None"):
        nirjax.compile_platform(g, p, dt=1e-4)
    prog = nirjax.compile_platform(g, nirjax.get_platform("loihi2", quantization=None), dt=1e-4)
    assert prog.neurons["lif"].rule.kernel == "float"
    assert nirjax.compile_platform(g, "loihi2", dt=1e-4).neurons["lif"].rule.kernel == "loihi2"


def test_platforms_are_frozen_values():
    p = nirjax.get_platform("sinabs")
    assert dataclasses.replace(p, threshold_test=">") != p
    assert hash(p) == hash(nirjax.get_platform("sinabs"))


def test_snntorch_094_rsynaptic_resets_one_step_late():
    """PLATFORMS.md: snnTorch 0.9.4 RSynaptic ignores reset_delay=False: v_t = 0 if
    v_{t-1} > theta' (I = alpha I + x; v = beta v + I; no same-step reset)."""
    g = nirjax.load(PAPER / "03_rnn" / "braille_noDelay_noBias_subtract.nir", warn=False)
    x = (np.random.default_rng(3).random((60, 12)) < 0.3).astype(float)
    sol = nirjax.simulate(g, x, dt=1e-4, platform="snntorch", version="0.9.4", record=None)
    new = nirjax.simulate(g, x, dt=1e-4, platform="snntorch", version="0.9.4", reset_timing="same", record=None)
    # reference for the hidden layer, written from the rule (recurrent input from the spikes of t-1)
    n1, fc1, rec = g.nodes["lif1.lif"], g.nodes["fc1"], g.nodes["lif1.w_rec"]
    alpha = 1 - 1e-4 / np.asarray(n1.tau_syn)
    beta = 1 - 1e-4 / np.asarray(n1.tau_mem)
    thr = np.asarray(n1.v_threshold) * np.asarray(n1.tau_syn) / (np.asarray(n1.w_in) * 1e-4)
    i = np.zeros(n1.shape)
    v = np.zeros(n1.shape)
    s_prev = np.zeros(n1.shape)
    W1, Wr = np.asarray(fc1.weight), np.asarray(rec.weight)
    for t in range(60):
        i = alpha * i + W1 @ x[t] + Wr @ s_prev
        v = beta * v + i
        v = np.where(s_prev > 0, 0.0, v)  # the previous step's spike resets now
        s = (v > thr).astype(float)
        np.testing.assert_array_equal(np.asarray(sol.spikes["lif1.lif"][t]), s)
        np.testing.assert_allclose(np.asarray(sol.states["lif1.lif"]["v_native"][t]), v, rtol=1e-9, atol=1e-9)
        s_prev = s
    assert not np.array_equal(np.asarray(sol.spikes["lif1.lif"]), np.asarray(new.spikes["lif1.lif"]))


def test_unroll_changes_the_schedule_not_the_results():
    """Unrolled steps (the default for 2-d convolution graphs) are the same operations in
    the same order: every recorded value is bit-identical, also when the unroll does not
    divide the number of steps."""
    g = nirjax.load(PAPER / "02_cnn" / "cnn_sinabs.nir", warn=False)
    x = (np.random.default_rng(5).random((2, 22, 2, 34, 34)) < 0.2).astype(np.float32)
    ref = nirjax.stepper(g, "norse", dt=1e-3, dtype="float32", unroll=1)(x)
    assert float(sum(jnp.sum(s) for s in ref.spikes.values())) > 0
    for unroll in (None, 3):
        got = nirjax.stepper(g, "norse", dt=1e-3, dtype="float32", unroll=unroll)(x)
        for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(got)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="unroll must be a positive"):
        nirjax.stepper(g, "norse", dt=1e-3, unroll=0)


def _chain(delay=None, threshold=None, n_in=2):
    """input -> [Delay | Threshold] -> output (per-element parameters)."""
    mid = nir.Delay(delay=np.asarray(delay)) if delay is not None else nir.Threshold(threshold=np.asarray(threshold))
    return nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([n_in])}), "mid": mid,
               "output": nir.Output(output_type={"output": np.array([n_in])})},
        edges=[("input", "mid"), ("mid", "output")]))


@pytest.mark.parametrize("platform", ["euler", "zoh"])
def test_stepped_delay_is_a_whole_step_shift(platform):
    """y_t = x_{t-k} with k = delay/dt per element (0 before the first step), the
    stepped form of y(t) = x(t - delay)."""
    dt = 1e-3
    x = np.random.default_rng(1).random((12, 3))
    sol = nirjax.simulate(_chain(delay=[3e-3, 0.0, 5e-3], n_in=3), x, dt=dt, platform=platform, record=None)
    y = np.asarray(sol.stats["outputs"]["output"])
    for e, k in enumerate((3, 0, 5)):
        np.testing.assert_array_equal(y[:, e], np.concatenate([np.zeros(k), x[: len(x) - k, e]]))
    with pytest.raises(nirjax.UnsupportedError, match=r"Delay node 'mid': delay 0.00025 s is 0.25 steps of dt=0.001"):
        nirjax.simulate(_chain(delay=[2.5e-4, 0.0]), x[:, :2], dt=dt, platform=platform)


def test_stepped_delay_in_a_spiking_chain_shifts_the_downstream_raster():
    """LIF -> Delay(k dt) -> Affine -> LIF: the second layer sees the first layer's spikes
    k steps late; with zero initial state its raster is the undelayed one shifted by k."""
    def graph(k):
        nodes = {
            "input": nir.Input(input_type={"input": np.array([1])}),
            "fc1": nir.Affine(weight=np.array([[3.0]]), bias=np.array([0.0])),
            "lif1": nir.LIF(tau=np.array([2e-3]), r=np.array([1.0]), v_leak=np.array([0.0]),
                            v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
            "fc2": nir.Affine(weight=np.array([[2.5e3]]), bias=np.array([0.0])),
            "lif2": nir.LIF(tau=np.array([5e-3]), r=np.array([1.0]), v_leak=np.array([0.0]),
                            v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
            "output": nir.Output(output_type={"output": np.array([1])}),
        }
        edges = [("input", "fc1"), ("fc1", "lif1"), ("fc2", "lif2"), ("lif2", "output")]
        if k:
            nodes["dly"] = nir.Delay(delay=np.array([k * 1e-4]))
            edges += [("lif1", "dly"), ("dly", "fc2")]
        else:
            edges += [("lif1", "fc2")]
        return nirjax.load(nir.NIRGraph(nodes=nodes, edges=edges))

    x = (np.random.default_rng(2).random((300, 1)) < 0.5) * 1.0
    ref = nirjax.simulate(graph(0), x, dt=1e-4, platform="euler", spike_area=1e-4, record=None)
    got = nirjax.simulate(graph(7), x, dt=1e-4, platform="euler", spike_area=1e-4, record=None)
    s0, s7 = np.asarray(ref.spikes["lif2"][:, 0]), np.asarray(got.spikes["lif2"][:, 0])
    assert s0.sum() > 3
    np.testing.assert_array_equal(np.asarray(got.spikes["lif1"]), np.asarray(ref.spikes["lif1"]))
    np.testing.assert_array_equal(s7, np.concatenate([np.zeros(7), s0[:-7]]))


def test_stepped_threshold_fires_on_upward_crossings():
    """One spike (value q/dt: the ideal model's area q) in each step where the input
    goes from below the threshold to at or above it; the input before step 0 is 0."""
    x = np.array([[0.6, 0.0], [0.7, 0.2], [0.2, 0.5], [0.5, 0.4], [0.5, 0.9], [0.1, 0.9], [0.9, 0.1]])
    th = np.array([0.5, 0.5])
    sol = nirjax.simulate(_chain(threshold=th), x, dt=1e-3, platform="zoh", spike_area=2e-3)
    prev = np.vstack([np.zeros((1, 2)), x[:-1]])
    expected = ((prev < th) & (x >= th)).astype(float)
    np.testing.assert_array_equal(np.asarray(sol.spikes["mid"]), expected)
    np.testing.assert_allclose(np.asarray(sol.stats["outputs"]["output"]), expected * 2e-3 / 1e-3, rtol=1e-15)
    with pytest.raises(nirjax.UnsupportedError, match="order='fire_first' cannot run node 'mid' \\(Threshold\\)"):
        nirjax.simulate(_chain(threshold=th), x, dt=1e-3, platform="euler", order="fire_first")
    with pytest.raises(nirjax.UnsupportedError, match="'mid' \\(Threshold\\).*snnTorch"):
        nirjax.simulate(_chain(threshold=th), x, dt=1e-3, platform="snntorch")
