"""nirjax.deviation on the paper graphs against every platform that can run them."""

import math

import numpy as np
import pytest

import nirjax

from conftest import PAPER

BRAILLE = {"bias_zero": ("braille_noDelay_bias_zero.nir", None), "subtract": ("braille_noDelay_noBias_subtract.nir", "subtract")}
# which platforms can run which graph (the others must refuse with UnsupportedError naming node and rule)
# snnTorch 1.0.0's import crashes on the braille graphs (tests/golden/snntorch/manifest.json): refused
RUNS_BRAILLE = {"euler", "zoh", "norse", "rockpool", "spyx", "lava", "nengo", "spinnaker2", "xylo"}
RUNS_CNN = {"euler", "zoh", "norse", "sinabs", "spyx", "lava", "loihi2", "nengo", "spinnaker2", "speck"}


def _check_sums(rep):
    explained = sum(a.explained for a in rep.attribution if a.explained is not None)
    assert rep.floor is not None
    assert math.isclose(rep.floor + explained + rep.interaction, rep.total, rel_tol=1e-9, abs_tol=1e-9)
    tot = math.sqrt(sum(d.van_rossum**2 for d in rep.nodes.values()))
    assert math.isclose(tot, rep.total, rel_tol=1e-9, abs_tol=1e-12)
    for a in rep.attribution:
        if a.explained is not None:
            assert math.isclose(a.explained, rep.total - a.distance, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("which", list(BRAILLE))
def test_deviation_braille_all_platforms(which, tmp_path):
    f, reset = BRAILLE[which]
    g = nirjax.load(PAPER / "03_rnn" / f, warn=False)
    x = (np.random.default_rng(1).random((96, 12)) < 0.25).astype(float)
    # attribution (one compilation per switched axis) on one of the two graphs: test time
    attribution = which == "subtract"
    reps = nirjax.deviation(g, "all", x, dt=1e-4, spike_area=1e-4, reset=reset, attribution=attribution)
    expected = set(RUNS_BRAILLE) | ({"loihi2"} if which == "subtract" else set())
    assert set(reps) == expected, (set(reps) ^ expected, reps.skipped)
    for name, why in reps.skipped.items():
        assert "node" in why or "'GraphModule' object has no attribute 'items'" in why, why
    for name, rep in reps.items():
        assert set(rep.nodes) == {"lif1.lif", "lif2"}
        assert name in str(rep)
        tot = math.sqrt(sum(d.van_rossum**2 for d in rep.nodes.values()))
        assert math.isclose(tot, rep.total, rel_tol=1e-9, abs_tol=1e-12)
    js = reps.to_json()
    assert '"skipped"' in js
    reps["spyx"].plot(tmp_path / "spyx.png")
    assert (tmp_path / "spyx.png").stat().st_size > 0
    if not attribution:
        return
    for name, rep in reps.items():
        _check_sums(rep)
    # the generic exact stepping is its own floor: only its reset (v_reset; the platform is not
    # told to subtract) can differ from the ideal run
    zoh = reps["zoh"]
    assert [a.axis for a in zoh.attribution] == ([] if reset is None else ["reset"])
    if reset is None:
        assert math.isclose(zoh.total, zoh.floor)
    # every platform whose latency differs from the ideal gets that axis attributed
    for name in ("nengo", "spinnaker2", "lava", "xylo"):
        lat = {a.axis: a for a in reps[name].attribution}["latency"]
        assert lat.ideal_value == "same" and lat.platform_value != "same"


def test_deviation_cnn_all_platforms():
    g = nirjax.load(PAPER / "02_cnn" / "cnn_sinabs.nir", warn=False)
    x = (np.random.default_rng(2).random((8, 2, 34, 34)) < 0.05).astype(float)
    reps = nirjax.deviation(g, "all", x, dt=1e-3, spike_area=1.0, input_as="spikes", attribution=False)
    assert set(reps) == RUNS_CNN, reps.skipped
    # Norse's IF (v += x, reset to 0 at theta = 1, integer inputs) equals the ideal IF with q = 1 here
    assert all(d.count_ideal == d.count_platform for d in reps["norse"].nodes.values())
    assert "IF" in reps.skipped["snntorch"] and "'1'" in reps.skipped["snntorch"]
    # Speck emits several spikes per step: that axis explains part of its excess spikes
    rep = nirjax.deviation(g, "speck", x, dt=1e-3, spike_area=1.0, input_as="spikes", trace_neurons=0)
    _check_sums(rep)
    sp = {a.axis: a for a in rep.attribution}
    assert sp["spikes_per_step"].explained > 0


def test_deviation_single_report_table_and_json():
    g = nirjax.load(PAPER / "01_lif" / "lif_norse.nir")
    from conftest import paper_pulse_input

    rep = nirjax.deviation(g, "spyx", paper_pulse_input(), dt=1e-4, version="0.1")
    assert isinstance(rep, nirjax.DeviationReport)
    text = str(rep)
    assert "order" in text and "fire_first" in text
    assert rep.nodes["1"].count_ideal == 4 and rep.nodes["1"].count_platform == 4
    # spyx fires from the previous v: every spike one step late
    assert rep.nodes["1"].first_divergence == pytest.approx(0.046)
    d = {a.axis: a for a in rep.attribution}
    assert d["order"].explained > 0
    assert '"attribution"' in rep.to_json()


def test_quirk_switches_are_attributed():
    """The nirtorch-2.0.2 executor feeds a join only its first in-edge (Sinabs). With every
    axis of the Sinabs model at its ideal value, that quirk alone separates it from the
    generic exact stepping: switching it off must remove exactly that part."""
    from conftest import ROOT

    g = nirjax.load(ROOT / "tests" / "golden" / "graphs" / "diamond.nir")
    x = (np.random.default_rng(4).random((200, 3)) < 0.3).astype(float)
    from nirjax.semantics.platforms import ideal_axes

    # a Platform value carries the platform's axes (deviation's own ``reset=`` is the ideal model's)
    rep = nirjax.deviation(g, nirjax.get_platform("sinabs", **ideal_axes()), x, dt=1e-4, spike_area=1e-4)
    q = {a.axis: a for a in rep.attribution}["quirk:first_input_only"]
    assert q.platform_value is True and q.ideal_value is False
    assert q.explained is not None and q.explained > 0
    assert math.isclose(q.distance, rep.floor, rel_tol=1e-12)  # quirk off == generic ZOH stepping
    _check_sums(rep)
    assert "nirtorch-2.0.2 first in-edge only" in str(rep)
