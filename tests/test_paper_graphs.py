"""The NIR paper's braille and CNN graphs under the ideal model; vmap equals a loop."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nirjax

BRAILLE = ["braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"]


@pytest.mark.parametrize("name", BRAILLE)
def test_braille_vmap_equals_loop(paper, name):
    """vmap over 64 inputs runs the same computation as a loop.

    XLA's LLVM backend contracts a*b+c into FMAs differently in vectorised and
    remainder loops, so the same elementwise op can round differently for
    different array shapes; in the braille networks, near-grazing threshold
    crossings amplify such 1-ulp differences into different later spikes. With
    shape-independent code generation (optimisation level 0) the batch must
    agree with the loop: identical spike counts and spike times to 1e-9 s. The
    recorded voltages agree to 1e-5: a spike time that moved by 1e-10 s (the
    conditioning of near-grazing crossings) moves v by dv/dt * 1e-10 at the
    next recording.
    """
    reset = "subtract" if "subtract" in name else "none"
    env = {**os.environ, "XLA_FLAGS": "--xla_backend_optimization_level=0"}
    script = pathlib.Path(__file__).with_name("_vmap_loop_check.py")
    res = subprocess.run([sys.executable, str(script), str(paper / "03_rnn" / f"{name}.nir"), reset],
                         env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["spikes"] > 1000
    assert out["count_diff"] == 0
    assert out["time_diff"] < 1e-9
    assert out["v_diff"] < 1e-5


def test_braille_loads_and_simulates_in_default_mode(paper):
    for name in BRAILLE:
        with pytest.warns(nirjax.SpikeAreaHint):
            g = nirjax.load(paper / "03_rnn" / f"{name}.nir")
        x = jnp.asarray((np.random.default_rng(0).random((256, 12)) < 0.15).astype(float))
        sol = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=g.suggested_spike_area,
                              reset="subtract" if "subtract" in name else None)
        assert int(jnp.sum(sol.spike_counts["lif1.lif"])) > 0 and int(jnp.sum(sol.spike_counts["lif2"])) > 0
        assert np.all(np.isfinite(np.asarray(sol.states["lif1.lif"]["v"])))


def test_braille_recurrent_impulses_arrive_in_the_same_instant(paper):
    """The recurrent edge lif1 -> w_rec -> lif1 has no latency in the ideal model: after a spike
    of hidden neuron j at t, every hidden current jumps by w_rec[:, j] * q * w_in / tau_syn at t."""
    g = nirjax.load(paper / "03_rnn" / "braille_noDelay_noBias_subtract.nir", warn=False)
    rng = np.random.default_rng(2)
    x = jnp.asarray((rng.random((256, 12)) < 0.2).astype(float))
    sol = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=1e-4, reset="subtract")
    t = np.asarray(sol.spike_times["lif1.lif"])
    assert np.isfinite(t).sum() > 0
    # no two distinct hidden spike times closer than float rounding unless equal (cascades are same-instant)
    flat = np.sort(t[np.isfinite(t)])
    gaps = np.diff(flat)
    assert np.all((gaps == 0) | (gaps > 1e-15))


def test_cnn_graph_simulates(paper):
    g = nirjax.load(paper / "02_cnn" / "cnn_sinabs.nir")
    n_neurons = sum(int(np.prod(g.nodes[n].shape)) for n in g.spiking)
    assert n_neurons == 16 * 16 * 16 * 2 + 8 * 8 * 8 + 256 + 10
    rng = np.random.default_rng(3)
    raster = (rng.random((2, 20, 2, 34, 34)) < 0.1).astype(float)
    f = jax.jit(lambda sp: nirjax.simulate(g, {"input": sp}, dt=1e-3, t1=0.02, max_events=1024, max_spikes=32))
    spikes = [nirjax.Spikes.from_raster(r, dt=1e-3, k=20) for r in raster]
    sols = [f(s) for s in spikes]
    batched = jax.vmap(f)(jax.tree.map(lambda *a: jnp.stack(a), *spikes))
    for i, s in enumerate(sols):
        assert int(jnp.sum(s.spike_counts["1"])) > 0
        for n in g.spiking:
            np.testing.assert_array_equal(np.asarray(batched.spike_counts[n][i]), np.asarray(s.spike_counts[n]))
    # IF with unit impulses and integer-free weights: every first-layer spike happens at an input time
    t = np.asarray(sols[0].spike_times["1"])
    input_times = set(np.round(np.arange(20) * 1e-3, 12))
    assert set(np.round(t[np.isfinite(t)], 12)) <= input_times
