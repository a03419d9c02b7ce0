"""The platform pipeline as values: Platform -> compile_platform -> Program -> run -> Solution.

Platforms are immutable, validated values (every axis switchable, presets written out); every
platform model runs under jax.jit, jax.vmap and jax.grad with the graph traced; a run's
final_state continues it bit for bit; value checks survive jit; options are given one way."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nirjax
from nirjax.semantics import platforms as P

from conftest import PAPER, ROOT

BRAILLE = PAPER / "03_rnn" / "braille_noDelay_noBias_subtract.nir"
GRAPHS = ROOT / "tests" / "golden" / "graphs"

VALUES = {ax: vals for ax, vals in P.AXIS_VALUES.items() if isinstance(vals, tuple)}
VALUES["spikes_per_step"] = (1, 3, 2**15)
VALUES["ignores"] = (frozenset(), frozenset({"r"}), frozenset({"LIF.r", "v_reset"}))


def _braille():
    return nirjax.load(BRAILLE, warn=False)


# -- platforms are values -----------------------------------------------------------------------
@pytest.mark.parametrize("name", nirjax.platforms())
def test_replace_sets_every_axis_of_every_platform(name):
    """``replace(axis=v).axis == v`` for every axis and every valid value: nothing rewrites a field."""
    p = nirjax.get_platform(name)
    for ax in P.AXES:
        for v in VALUES[ax]:
            q = p.replace(**{ax: v})
            assert getattr(q, ax) == v, (name, ax, v)
            assert all(getattr(q, o) == getattr(p, o) for o in P.AXES if o != ax)
    for preset in type(p).PRESETS:
        pp = nirjax.get_platform(name, preset=preset)
        for ax in P.AXES:
            assert getattr(pp.replace(**{ax: VALUES[ax][0]}), ax) == VALUES[ax][0]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(nirjax.platforms()), axes=st.sets(st.sampled_from(P.AXES)),
       preset=st.integers(0, 3))
def test_an_axis_switched_to_ideal_is_the_ideal_value(name, axes, preset):
    """Property: whatever the platform, preset and subset of axes, switching them to the ideal
    model's values gives exactly those values, and leaves every other axis and quirk as it was."""
    cls = type(nirjax.get_platform(name))
    presets = [None, *cls.PRESETS]
    p = nirjax.get_platform(name, preset=presets[preset % len(presets)])
    ideal = P.ideal_axes()
    q = p.replace(**{a: ideal[a] for a in axes})
    for a in P.AXES:
        assert getattr(q, a) == (ideal[a] if a in axes else getattr(p, a))
    assert {k: getattr(q, k) for k in p.quirk_switches()} == {k: getattr(p, k) for k in p.quirk_switches()}


def test_axis_values_are_validated_at_construction():
    with pytest.raises(ValueError, match=r"unknown decay 'bogus'; valid values: \['euler', 'exact', 'dash'\]"):
        nirjax.get_platform("norse", decay="bogus")
    with pytest.raises(ValueError, match="spikes_per_step must be a positive int"):
        nirjax.get_platform("sinabs", spikes_per_step=0)
    with pytest.raises(ValueError, match="ignores: unknown entry 'tau'"):
        nirjax.get_platform("norse", ignores={"tau"})
    with pytest.raises(TypeError, match="has no option"):
        nirjax.get_platform("norse").replace(bogus=1)
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        nirjax.get_platform("loihi2", preset="nope")
    with pytest.raises(ValueError, match=r"models version\(s\) \['1.0.0', '0.9.4'\], not '2.0'"):
        nirjax.get_platform("snntorch", version="2.0")
    with pytest.raises(ValueError, match="unknown lif_gain"):
        nirjax.get_platform("xylo", lif_gain="exact")


def test_presets_write_their_axes_out():
    """A version preset is a constructor: its axes are plain fields, and replacing one sticks
    (there is no version rewrite behind it)."""
    old = nirjax.get_platform("snntorch", version="0.9.4")
    assert (old.reset_timing, old.nirtorch_fx_import, old.version) == ("next_recurrent", False, "0.9.4")
    assert old.replace(reset_timing="same").reset_timing == "same"
    assert nirjax.get_platform("spyx", version="0.1").input_scale == "gain_only"
    assert nirjax.get_platform("spyx", version="0.1").replace(input_scale="unit").input_scale == "unit"
    assert nirjax.get_platform("spinnaker2", preset="brian2").latency == "same"
    for name in ("norse", "snntorch", "lava", "spyx", "sinabs", "rockpool", "nengo", "loihi2", "spinnaker2", "xylo"):
        p = nirjax.get_platform(name, preset="paper")
        assert "paper" in p.version and type(p).__doc__
    assert nirjax.get_platform("loihi2", preset="paper").weight_gain == "dt_over_tau"
    # a platform value is hashable and equal by value (a static argument of jit)
    assert hash(nirjax.get_platform("loihi2", preset="paper")) == hash(P.Loihi2.preset("paper"))
    assert nirjax.get_platform("xylo") == nirjax.get_platform("xylo")


def test_no_per_graph_state_on_platform_values():
    """Mapping values (weight scales) are computed per program, never stored on the platform:
    compiling two graphs gives each its own scales, and the platform is unchanged."""
    g = _braille()
    for name in ("xylo", "spinnaker2"):
        p = nirjax.get_platform(name)
        before = dataclasses.asdict(p)
        a = nirjax.compile_platform(g, p, dt=1e-4)
        g2 = eqx.tree_at(lambda q: q.nodes["lif1.w_rec"].weight, g, g.nodes["lif1.w_rec"].weight * 3.0)
        b = nirjax.compile_platform(g2, p, dt=1e-4)
        a2 = nirjax.compile_platform(g, p, dt=1e-4)
        assert dataclasses.asdict(p) == before and not [k for k in vars(p) if k.startswith("_")]
        w = [np.asarray(q.maps["fc1"].weight) for q in (a, b, a2)]
        assert np.array_equal(w[0], w[2]) and not np.array_equal(w[0], w[1])  # one scale per population
    s = nirjax.get_platform("speck")
    g = nirjax.load(GRAPHS / "conv_if_a.nir", warn=False)
    assert nirjax.compile_platform(g, s, dt=1e-3).maps["conv1"].weight.shape == g.nodes["conv1"].weight.shape


def _chain(kind, n_in=3, n_hidden=5, n_out=2, seed=0):
    """input -> Affine -> kind -> Affine -> kind -> output, no biases, v_leak = 0, r = 1."""
    rng = np.random.default_rng(seed)

    def neuron(n):
        one = np.ones(n)
        if kind == "LIF":
            return nir.LIF(tau=2e-3 * (1 + rng.random(n)), r=one, v_leak=0 * one, v_threshold=one, v_reset=0 * one)
        if kind == "CubaLIF":
            tm = 2e-3 * (1 + rng.random(n))
            return nir.CubaLIF(tau_syn=1e-3 * (1 + rng.random(n)), tau_mem=tm, r=tm / 1e-4, v_leak=0 * one,
                               w_in=one, v_threshold=one, v_reset=0 * one)
        return nir.IF(r=one, v_threshold=one, v_reset=0 * one)

    scale = {"LIF": 3.0, "CubaLIF": 0.3, "IF": 5e3}[kind]
    return nirjax.load(nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=scale * rng.random((n_hidden, n_in)), bias=np.zeros(n_hidden)),
        "lif1": neuron(n_hidden),
        "fc2": nir.Affine(weight=scale * rng.random((n_out, n_hidden)), bias=np.zeros(n_out)),
        "lif2": neuron(n_out),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]))


# what each platform runs in the all-ideal test (a graph it accepts), and mapping options it needs
IDEAL_CASES = {"euler": "LIF", "zoh": "CubaLIF", "snntorch": "CubaLIF", "norse": "CubaLIF", "sinabs": "LIF",
               "rockpool": "CubaLIF", "spyx": "CubaLIF", "lava": "LIF", "loihi2": "LIF", "nengo": "CubaLIF",
               "spinnaker2": "LIF", "speck": "IF"}


@pytest.mark.parametrize("name", list(IDEAL_CASES))
def test_every_axis_and_quirk_at_ideal_is_the_zoh_stepping(name):
    """No platform hides a rule behind its axes: with every axis at the ideal model's value and
    every quirk off, each platform model is the generic exact (ZOH) stepping, spike for spike."""
    g = _chain(IDEAL_CASES[name], seed=len(name))
    x = (np.random.default_rng(1).random((120, 3)) < 0.4).astype(float)
    p = nirjax.get_platform(name)
    p = p.replace(**P.ideal_axes(), **p.quirk_switches())
    got = nirjax.simulate(g, x, dt=1e-4, spike_area=1e-4, platform=p, record=None)
    ref = nirjax.simulate(g, x, dt=1e-4, spike_area=1e-4, platform="zoh", record=None)
    assert float(sum(np.sum(s) for s in ref.spikes.values())) > 5
    for n in ("lif1", "lif2"):
        np.testing.assert_array_equal(np.asarray(got.spikes[n]), np.asarray(ref.spikes[n]), err_msg=f"{name}/{n}")
        np.testing.assert_allclose(np.asarray(got.states[n]["v"]), np.asarray(ref.states[n]["v"]), rtol=1e-9,
                                   atol=1e-12, err_msg=f"{name}/{n}")


def test_xylo_integer_rule_refuses_moving_its_axes():
    """Xylo's step is one integer recipe: its axes cannot move one by one (deviation reports them as
    not separable), only quantization and latency can."""
    g = _chain("CubaLIF")
    x = np.zeros((5, 3))
    with pytest.raises(nirjax.UnsupportedError, match="axis 'decay' is part of the fixed-point rule"):
        nirjax.simulate(g, x, dt=1e-4, platform="xylo", decay="exact")
    nirjax.simulate(g, x, dt=1e-4, platform="xylo", quantization=None, latency="same")


def test_snntorch_094_attribution_is_right_on_braille_subtract():
    """snnTorch 0.9.4 differs from 1.0.0 on the braille graph by RSynaptic's late reset (1.0.0 cannot
    import it at all: its nirtorch import crashes). Switching reset_timing to the ideal value must
    give exactly the run without that quirk, and explain a positive part of the deviation."""
    g = _braille()
    x = (np.random.default_rng(1).random((96, 12)) < 0.25).astype(float)
    old = nirjax.get_platform("snntorch", version="0.9.4")
    rep = nirjax.deviation(g, old, x, dt=1e-4, spike_area=1e-4, reset="subtract", trace_neurons=0)
    att = {a.axis: a for a in rep.attribution}["reset_timing"]
    assert (att.platform_value, att.ideal_value) == ("next_recurrent", "same")
    same = nirjax.deviation(g, old.replace(reset_timing="same"), x, dt=1e-4, spike_area=1e-4, reset="subtract",
                            attribution=False, trace_neurons=0)
    assert att.distance == same.total
    assert att.explained > 0.5
    with pytest.raises(nirjax.UnsupportedError, match="'GraphModule' object has no attribute 'items'"):
        nirjax.deviation(g, "snntorch", x, dt=1e-4, spike_area=1e-4)


# -- every model under jit, vmap and grad with the graph traced --------------------------------------
RUNS_BRAILLE = ["euler", "zoh", "snntorch", "norse", "rockpool", "spyx", "lava", "loihi2", "nengo", "spinnaker2",
                "xylo"]


def _count_fn(platform, node):
    def count(g, x):
        return jnp.sum(nirjax.simulate(g, x, dt=1e-4, spike_area=1e-4, platform=platform).spike_counts[node])

    return count


@pytest.mark.parametrize("name", RUNS_BRAILLE)
def test_surrogate_gradient_with_traced_graph(name):
    """jax.grad of an output spike count with respect to the whole graph (every parameter traced,
    value checks included), under jax.jit and jax.vmap over a batch: the gradient with respect to
    the input weights is finite and non-zero."""
    g = _braille()
    p = nirjax.get_platform("snntorch", version="0.9.4") if name == "snntorch" else name
    xs = (np.random.default_rng(2).random((2, 60, 12)) < 0.3).astype(float)
    count = _count_fn(p, "lif2")

    def total(g):
        return jnp.sum(jax.vmap(count, in_axes=(None, 0))(g, xs))

    value, grads = eqx.filter_jit(eqx.filter_value_and_grad(total))(g)
    gw = np.asarray(grads.nodes["fc1"].weight)
    assert np.all(np.isfinite(gw)) and np.abs(gw).sum() > 0, name
    assert float(value) == float(total(g))  # jit gives the eager value


@pytest.mark.parametrize("name", ["speck", "sinabs"])
def test_surrogate_gradient_conv_if(name):
    """The platforms that cannot run the braille graph (no CubaLIF) on an integer conv + IF graph."""
    g = nirjax.load(GRAPHS / "conv_if_a.nir", warn=False)
    x = (np.random.default_rng(3).random((2, 30, 2, 8, 8)) < 0.3).astype(float)

    def total(g):
        c = jax.vmap(lambda xx: nirjax.simulate(g, xx, dt=1e-3, platform=name).spike_counts["if2"])(x)
        return jnp.sum(c)

    grads = eqx.filter_jit(eqx.filter_grad(total))(g)
    gw = np.asarray(grads.nodes["conv1"].weight)
    assert np.all(np.isfinite(gw)) and np.abs(gw).sum() > 0


# -- value checks survive jit ----------------------------------------------------------------
def test_value_refusals_raise_eagerly_and_under_jit():
    """snnTorch asserts v_leak == 0: eagerly a PlatformError; with the graph traced, an error_if
    naming the node and the rule (nothing is dropped silently under jit)."""
    g = _chain("LIF")
    g = eqx.tree_at(lambda q: q.nodes["lif2"].v_leak, g, g.nodes["lif2"].v_leak + 0.1)
    x = np.zeros((10, 3))
    with pytest.raises(nirjax.PlatformError, match="asserts v_leak == 0.*'lif2'"):
        nirjax.simulate(g, x, dt=1e-4, platform="snntorch")
    with pytest.raises(Exception, match="asserts v_leak == 0.*'lif2'"):
        jax.block_until_ready(jax.jit(lambda gg: nirjax.simulate(gg, x, dt=1e-4, platform="snntorch").spikes)(g))
    ok = eqx.tree_at(lambda q: q.nodes["lif2"].v_leak, g, g.nodes["lif2"].v_leak * 0)
    jax.block_until_ready(jax.jit(lambda gg: nirjax.simulate(gg, x, dt=1e-4, platform="snntorch").spikes)(ok))


# -- state: initial_state, final_state, chunked runs -------------------------------------------------
CHUNKED = [("norse", {}), ("snntorch", {"version": "0.9.4"}), ("spyx", {}), ("rockpool", {}), ("lava", {}),
           ("loihi2", {}), ("nengo", {}), ("spinnaker2", {}), ("xylo", {})]


@pytest.mark.parametrize("name,opts", CHUNKED, ids=[c[0] for c in CHUNKED])
def test_chunked_run_equals_one_run_braille(name, opts):
    """Two chunks, the second started from the first's final_state, give the one run's rasters and
    native states bit for bit (pending late resets, previous-step edge values, fire-first spikes and
    the chips' integer states are all carried)."""
    g = _braille()
    x = (np.random.default_rng(4).random((80, 12)) < 0.3).astype(float)
    one = nirjax.simulate(g, x, dt=1e-4, platform=name, **opts, record=None)
    a = nirjax.simulate(g, x[:37], dt=1e-4, platform=name, **opts, record=None)
    b = nirjax.simulate(g, x[37:], dt=1e-4, t0=37e-4, platform=name, initial_state=a.final_state, **opts, record=None)
    assert float(sum(np.sum(s) for s in one.spikes.values())) > 0
    for n in one.spikes:
        np.testing.assert_array_equal(np.concatenate([a.spikes[n], b.spikes[n]]), np.asarray(one.spikes[n]))
        np.testing.assert_array_equal(np.concatenate([a.states[n]["v_native"], b.states[n]["v_native"]]),
                                      np.asarray(one.states[n]["v_native"]))
    np.testing.assert_allclose(np.asarray(b.ts), np.asarray(one.ts[37:]), rtol=1e-12)
    jax.tree.map(np.testing.assert_array_equal, b.final_state, one.final_state)


def _delay_graph():
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc1": nir.Affine(weight=np.array([[3.0, 1.0], [0.5, 2.0]]), bias=np.zeros(2)),
        "lif1": nir.LIF(tau=np.array([2e-3, 3e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                        v_reset=np.zeros(2)),
        "dly": nir.Delay(delay=np.array([3e-4, 5e-4])),
        "fc2": nir.Affine(weight=np.array([[2.5e3, 1e3]]), bias=np.zeros(1)),
        "lif2": nir.LIF(tau=np.array([5e-3]), r=np.array([1.0]), v_leak=np.array([0.0]),
                        v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
        "thr": nir.Threshold(threshold=np.array([0.5, 0.5])),
        "output": nir.Output(output_type={"output": np.array([1])}),
        "output2": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "dly"), ("dly", "fc2"), ("fc2", "lif2"), ("lif2", "output"),
             ("input", "thr"), ("thr", "output2")]
    return nirjax.load(nir.NIRGraph(nodes=nodes, edges=edges))


@pytest.mark.parametrize("name", ["euler", "zoh"])
def test_chunked_run_equals_one_run_with_delay(name):
    g = _delay_graph()
    x = (np.random.default_rng(5).random((90, 2)) < 0.5).astype(float) * np.array([1.0, 0.8])
    one = nirjax.simulate(g, x, dt=1e-4, platform=name, spike_area=1e-4, record=None)
    # cut where spikes are in flight in the Delay (the one run's lif1 spiked within the last 5 steps)
    k = next(k for k in range(40, 80) if np.asarray(one.spikes["lif1"][k - 3:k]).sum() > 0)
    a = nirjax.simulate(g, x[:k], dt=1e-4, platform=name, spike_area=1e-4, record=None)
    assert a.final_state["dly"]["buffer"].shape == (5, 2) and "x_prev" in a.final_state["thr"]
    assert np.asarray(a.final_state["dly"]["buffer"]).any()
    b = nirjax.simulate(g, x[k:], dt=1e-4, platform=name, spike_area=1e-4, initial_state=a.final_state, record=None)
    assert float(np.sum(one.spikes["lif2"])) > 3
    for n in one.spikes:
        np.testing.assert_array_equal(np.concatenate([a.spikes[n], b.spikes[n]]), np.asarray(one.spikes[n]))
    np.testing.assert_array_equal(np.concatenate([a.stats["outputs"]["output2"], b.stats["outputs"]["output2"]]),
                                  np.asarray(one.stats["outputs"]["output2"]))
    # without the carried state the continuation differs (the Delay's spikes in flight are lost)
    c = nirjax.simulate(g, x[k:], dt=1e-4, platform=name, spike_area=1e-4,
                        initial_state={n: v for n, v in a.final_state.items() if n != "dly"})
    assert not np.array_equal(np.asarray(c.spikes["lif2"]), np.asarray(b.spikes["lif2"]))


def test_initial_state_options_and_errors():
    g = nirjax.load(GRAPHS / "vleak_cuba.nir", warn=False)
    g = eqx.tree_at(lambda q: (q.nodes["fc1"].bias, q.nodes["fc2"].bias), g,
                    (g.nodes["fc1"].bias * 0, g.nodes["fc2"].bias * 0))  # no drive at all
    x = np.zeros((3, 3))
    vl = np.asarray(g.nodes["lif1"].v_leak)
    rest = nirjax.simulate(g, x[:1], dt=1e-4, platform="zoh", initial_state="rest", record=None)
    zero = nirjax.simulate(g, x[:1], dt=1e-4, platform="zoh", initial_state="zero", record=None)
    # one exact step from v = v_leak, I = 0 with no input stays at rest (closed form); from 0 it moves toward v_leak
    np.testing.assert_allclose(np.asarray(rest.states["lif1"]["v"][0]), vl, rtol=1e-12)
    assert not np.allclose(np.asarray(zero.states["lif1"]["v"][0]), vl)
    # each platform's own convention: Rockpool (LIFTorch) starts at 0, Norse at v_leak
    assert nirjax.get_platform("rockpool").initial_state == "zero"
    assert nirjax.get_platform("norse").initial_state == "rest"
    part = nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state={"lif2": {"v": np.full(2, 0.5)}}, record=None)
    n1 = g.nodes["lif1"].shape[0]
    np.testing.assert_allclose(np.asarray(part.states["lif2"]["v"][0]), 0.5 * np.exp(-1e-4 / np.asarray(
        g.nodes["lif2"].tau_mem)) + np.asarray(g.nodes["lif2"].v_leak) * -np.expm1(-1e-4 / np.asarray(
            g.nodes["lif2"].tau_mem)), rtol=1e-9)  # no current: v relaxes from 0.5 toward v_leak (closed form)
    with pytest.raises(ValueError, match="node 'nope' has no state.*nodes with state"):
        nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state={"nope": {"v": 0.0}})
    with pytest.raises(ValueError, match=r"initial_state\['lif1'\]: unknown key\(s\) \['u'\]"):
        nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state={"lif1": {"u": np.zeros(n1)}})
    with pytest.raises(ValueError, match=rf"initial_state\['lif1'\]\['v'\] has shape \(3,\), expected \({n1},\)"):
        nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state={"lif1": {"v": np.zeros(3)}})
    with pytest.raises(ValueError, match="initial_state must be 'rest', 'zero'"):
        nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state="warm")
    fs = dict(rest.final_state)
    fs["lif1"] = {**fs["lif1"], "v": fs["lif1"]["v"] + 1.0}  # edited v, stale v_native
    with pytest.raises(nirjax.PlatformError, match="'v' and v_native disagree"):
        nirjax.simulate(g, x, dt=1e-4, platform="zoh", initial_state=fs)


# -- one way to give options ------------------------------------------------------------------
def test_options_that_do_not_apply_raise_and_platform_values_are_accepted_everywhere(tmp_path):
    g = _braille()
    x = (np.random.default_rng(6).random((30, 12)) < 0.3).astype(float)
    for bad in ({"max_spikes": 10}, {"method": "rk"}, {"throw": False}, {"max_events": 3}):
        with pytest.raises(TypeError, match=f"ideal solver.*{next(iter(bad))}"):
            nirjax.simulate(g, x, dt=1e-4, platform="norse", **bad)
    p = nirjax.get_platform("norse", reset="subtract")
    by_value = nirjax.simulate(g, x, dt=1e-4, platform=p)
    by_name = nirjax.simulate(g, x, dt=1e-4, platform="norse", reset="subtract")
    jax.tree.map(np.testing.assert_array_equal, by_value.spikes, by_name.spikes)
    # compile_platform takes a path; run_platform runs the Program
    with pytest.warns(nirjax.SpikeAreaHint):
        prog = nirjax.compile_platform(BRAILLE, p, dt=1e-4)
    jax.tree.map(np.testing.assert_array_equal, nirjax.run_platform(prog, x).spikes, by_value.spikes)
    # stepper: the same, batched
    sb = nirjax.stepper(g, p, dt=1e-4)(np.stack([x, x]))
    np.testing.assert_array_equal(np.asarray(sb.spikes["lif2"][1]), np.asarray(by_value.spikes["lif2"]))
    # sweep over a weight with a platform
    sw = nirjax.sweep(g, {"fc1.weight": np.stack([g.nodes["fc1"].weight] * 2)}, x, dt=1e-4, platform=p)
    np.testing.assert_array_equal(np.asarray(sw.spikes["lif2"][0]), np.asarray(by_value.spikes["lif2"]))
    # deviation: a Platform value, a list of values, platform options as keywords for one platform
    rep = nirjax.deviation(g, p, x, dt=1e-4, spike_area=1e-4, attribution=False, trace_neurons=0)
    assert rep.platform == "norse" and rep.axes["reset"] == "subtract"
    reps = nirjax.deviation(g, [p, nirjax.get_platform("spyx")], x, dt=1e-4, spike_area=1e-4, attribution=False,
                            trace_neurons=0)
    assert set(reps) == {"norse", "spyx"}
    with pytest.raises(TypeError, match="several platforms give Platform values"):
        nirjax.deviation(g, ["norse", "spyx"], x, dt=1e-4, decay="exact")
    # deviation forwards the ideal solver's options (its overflow error tells users to pass them)
    rep = nirjax.deviation(g, "norse", x, dt=1e-4, spike_area=1e-4, max_spikes=40, max_events=512,
                           attribution=False, trace_neurons=0)
    assert rep.nodes["lif2"].count_ideal >= 0


def test_record_options():
    """What a platform run keeps per step: by default the outputs and the spikes of the layer feeding
    them (spike counts of every node and the final state always); None: everything; kinds,
    "states", or per node."""
    g = _braille()
    x = (np.random.default_rng(7).random((20, 12)) < 0.3).astype(float)
    full = nirjax.simulate(g, x, dt=1e-4, platform="norse", record=None)
    assert set(full.states["lif2"]) == {"v", "i_syn", "v_native", "i_native"}
    default = nirjax.simulate(g, x, dt=1e-4, platform="norse")
    assert default.states == {} and set(default.spikes) == {"lif2"} and set(default.stats["outputs"]) == {"output"}
    np.testing.assert_array_equal(np.asarray(default.spikes["lif2"]), np.asarray(full.spikes["lif2"]))
    for n in ("lif1.lif", "lif2"):  # counts of every spiking node, summed in the loop
        np.testing.assert_array_equal(np.asarray(default.spike_counts[n]), np.sum(np.asarray(full.spikes[n]), axis=0))
    jax.tree.map(np.testing.assert_array_equal, default.final_state, full.final_state)
    only = nirjax.simulate(g, x, dt=1e-4, platform="norse", record="spikes")
    assert only.states == {} and set(only.spikes) == {"lif1.lif", "lif2"} and only.stats["outputs"] == {}
    one = nirjax.simulate(g, x, dt=1e-4, platform="norse", record={"lif2": "v", "output": "outputs"})
    assert set(one.states) == {"lif2"} and set(one.states["lif2"]) == {"v"} and one.spikes == {}
    np.testing.assert_array_equal(np.asarray(one.states["lif2"]["v"]), np.asarray(full.states["lif2"]["v"]))
    np.testing.assert_array_equal(np.asarray(one.stats["outputs"]["output"]), np.asarray(full.stats["outputs"]["output"]))
    with pytest.raises(ValueError, match="no exact spike times"):
        nirjax.simulate(g, x, dt=1e-4, platform="norse", record="spike_times")
    with pytest.raises(ValueError, match="no node 'lif9'"):
        nirjax.simulate(g, x, dt=1e-4, platform="norse", record={"lif9": "v"})
