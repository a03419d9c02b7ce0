"""The NIR paper's LIF experiment: each platform model against its recorded trace
(shared/nir-paper/01_lif/*.csv), and the chip predictions against PLATFORMS.md
(independent integer re-implementations written from its rules)."""

import json

import equinox as eqx
import numpy as np
import pytest

import nirjax

from conftest import PAPER, paper_pulse_input

DT = 1e-4
GAIN = 0.04  # dt/tau * r, the scaling the paper applied by hand

# csv -> (platform, options, weight factor, input factor); voltages compared in the CSV's units (v_native)
RECORDED = {
    "lif_norse.csv": ("norse", {}, 1.0, 1.0),
    "lif_snntorch.csv": ("snntorch", {}, 1.0, 1.0),
    "lif_lava_cpu_float.csv": ("lava", {"preset": "paper"}, 1.0, 1.0),  # weights x r dt/tau (the paper's mapping)
    "lif_spyx.csv": ("spyx", {"version": "0.1"}, 1.0, 1.0),
    "lif_sinabs.csv": ("sinabs", {"dt_convention": "argument"}, 1.0, 1.0),  # its column 0 is already x0.04
    "lif_rockpool.csv": ("rockpool", {"preset": "paper"}, 1.0, 1.0),
    "lif_nengo.csv": ("nengo", {}, 1.0, 1.0),
}


@pytest.fixture(scope="module")
def graph():
    return nirjax.load(PAPER / "01_lif" / "lif_norse.nir")


def _scaled(g, f):
    return eqx.tree_at(lambda q: q.nodes["0"].weight, g, g.nodes["0"].weight * f) if f != 1.0 else g


@pytest.mark.parametrize("csv", list(RECORDED))
def test_platform_reproduces_recorded_trace(graph, csv):
    plat, opts, wf, xf = RECORDED[csv]
    d = np.loadtxt(PAPER / "01_lif" / csv, delimiter=",")
    x = d[:, :1]  # the recorded input, column 0 (Sinabs': pre-multiplied by 0.04)
    np.testing.assert_array_equal(np.round(x / (GAIN if csv == "lif_sinabs.csv" else 1.0)), paper_pulse_input())
    sol = nirjax.simulate(_scaled(graph, wf), x * xf, dt=DT, platform=plat, **opts, record=None)
    steps = np.nonzero(np.asarray(sol.spikes["1"][:, 0]))[0]
    np.testing.assert_array_equal(steps, np.nonzero(d[:, 2])[0])
    v = np.asarray(sol.states["1"]["v_native"][:, 0])
    assert np.max(np.abs(v - d[:, 1])) <= 1e-6


def test_recorded_rockpool_graph_gives_the_same_trace():
    g = nirjax.load(PAPER / "01_lif" / "lif_rockpool.nir")  # Linear(0.04) -> LIF(r = 24.02): r ignored
    d = np.loadtxt(PAPER / "01_lif" / "lif_rockpool.csv", delimiter=",")
    sol = nirjax.simulate(g, d[:, :1], dt=DT, platform="rockpool", native_lif=True, record=None)
    neuron = g.neurons[0]
    np.testing.assert_array_equal(np.nonzero(np.asarray(sol.spikes[neuron][:, 0]))[0], np.nonzero(d[:, 2])[0])
    assert np.max(np.abs(np.asarray(sol.states[neuron]["v_native"][:, 0]) - d[:, 1])) <= 1e-6


def test_naive_models_do_not_reproduce_the_shifted_traces(graph):
    """Negative control: the generic Euler model (same step) misses the +1 traces and the >= traces."""
    x = paper_pulse_input()
    e = np.nonzero(np.asarray(nirjax.simulate(graph, x, dt=DT, platform="euler").spikes["1"][:, 0]))[0]
    for csv in ("lif_lava_cpu_float.csv", "lif_spyx.csv", "lif_sinabs.csv"):
        d = np.loadtxt(PAPER / "01_lif" / csv, delimiter=",")
        assert not np.array_equal(e, np.nonzero(d[:, 2])[0])


def test_xylo_prediction_matches_platforms_md(graph):
    sol = nirjax.simulate(graph, paper_pulse_input(), dt=DT, platform="xylo", approximate=True)
    assert np.nonzero(np.asarray(sol.spikes["1"][:, 0]))[0].tolist() == [450, 491, 531, 710, 751]
    with pytest.raises(nirjax.UnsupportedError, match="'1'.*approximate=True"):
        nirjax.simulate(graph, paper_pulse_input(), dt=DT, platform="xylo")


def _loihi2_reference(x, w_nir, theta, tau):
    """PLATFORMS.md's Loihi 2 rule in plain Python integers (one Dense: +1 step)."""
    w = min(int(256 * w_nir), 255)
    dv, vth = int(DT / tau * 4095), (int(theta * 131071) >> 9) << 6
    u = v = 0
    a_prev = 0
    vs, sp = [], []
    for t in range(len(x)):
        u = 0 + (a_prev << 6)  # du = 4095: u wiped each step
        p = v * (4096 - dv)
        v = (abs(p) >> 12) * (1 if p >= 0 else -1) + u
        s = v > vth
        if s:
            v = 0
        vs.append(v)
        sp.append(int(s))
        a_prev = w * int(x[t])
    return np.array(vs), np.array(sp)


def test_loihi2_bit_accurate_to_platforms_md_rule(graph):
    """The paper preset pre-multiplies the weights by r dt/tau = 0.04 before quantizing them."""
    x = paper_pulse_input()
    sol = nirjax.simulate(graph, x, dt=DT, platform="loihi2", preset="paper", record=None)
    v_ref, s_ref = _loihi2_reference(x[:, 0], GAIN, 0.1, 2.5e-3)
    np.testing.assert_array_equal(np.asarray(sol.states["1"]["v_native"][:, 0]), v_ref)
    np.testing.assert_array_equal(np.asarray(sol.spikes["1"][:, 0]), s_ref)


def test_spinnaker2_follows_platforms_md_rule(graph):
    """alpha = 1 - dt/tau (FORWARD), input unscaled and delayed one step, threshold
    theta/(a r) * w_scale, int8 weights (w_scale = 127), reset to zero."""
    x = paper_pulse_input()[:, 0]
    sol = nirjax.simulate(graph, x[:, None], dt=DT, platform="spinnaker2", decay="euler", reset="zero", record=None)
    tau, theta = float(graph.nodes["1"].tau[0]), float(graph.nodes["1"].v_threshold[0])  # the file's float32 values
    a = DT / tau
    thr = theta / a * 127
    v, prev, vs, sp = 0.0, 0.0, [], []
    for t in range(len(x)):
        v = (1 - a) * v + prev
        s = v > thr
        v = 0.0 if s else v
        vs.append(v)
        sp.append(int(s))
        prev = 127 * x[t]
    np.testing.assert_array_equal(np.asarray(sol.spikes["1"][:, 0]), sp)
    np.testing.assert_allclose(np.asarray(sol.states["1"]["v_native"][:, 0]), vs, rtol=1e-12, atol=1e-9)


def test_cli_reproduce_lif(tmp_path):
    from nirjax._cli import main

    assert main(["reproduce", "lif", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    for name in ("exact", "norse", "snntorch", "lava", "spyx", "sinabs", "rockpool", "nengo", "xylo", "loihi2", "spinnaker2",
                 "spinnaker2_chip"):
        assert len(res[name]["v"]) == 1000, name
        assert res[name]["spike_steps"], name
    assert res["xylo"]["spike_steps"] == [450, 491, 531, 710, 751]
    assert all(res[n].get("reproduced") for n in ("exact", "norse", "snntorch", "lava", "spyx", "sinabs", "rockpool", "nengo"))
    assert "unsupported" in res["speck"]
    assert (tmp_path / "lif_comparison.png").stat().st_size > 0
    assert "max|dv|" in (tmp_path / "table.txt").read_text()
