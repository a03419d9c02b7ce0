"""Report values (nirjax/_report.py): the choice of traces, strict JSON files, figures for
one platform and for several. Expected values are worked out by hand from the inputs."""

import json
import math
import re

import numpy as np
import pytest

from nirjax import DeviationReport, DeviationReports
from nirjax._report import Attribution, NeuronTraces, NodeDeviation


def _strict(s):
    def bad(c):
        raise ValueError(f"non-standard JSON constant {c}")

    return json.loads(s, parse_constant=bad)


def test_traces_pick_the_most_divergent_neurons():
    steps, dt, t0 = 5, 0.5, 1.0
    raster = np.zeros((steps, 1, 3))
    raster[[1, 3], 0, 1] = [2, 1]  # neuron (0, 1): 2 spikes in step 1, 1 in step 3
    ideal_times = np.full((1, 3, 2), np.inf)
    ideal_times[0, 2, 0] = 1.7
    vi = np.zeros((steps, 1, 3))
    vp = np.zeros((steps, 1, 3))
    vp[2, 0, 0] = 0.3
    tr = NeuronTraces.select(distance_sq=[0.0, 4.0, 1.0], ideal_times=ideal_times, ideal_v=vi, raster_p=raster,
                             v_p=vp, v_threshold=np.array([1.0, 2.0, 3.0]), shape=(1, 3), dt=dt, t0=t0, k=2)
    assert tr.neurons == [(0, 1), (0, 2)] and tr.distance == [2.0, 1.0]
    assert tr.platform_spike_times == [[1.5, 1.5, 2.5], []]  # step starts t0 + k dt, repeated per spike
    assert tr.ideal_spike_times == [[], [1.7]]
    assert tr.v_threshold == [2.0, 3.0]
    assert tr.ideal_v.shape == tr.platform_v.shape == (steps, 2)
    # equal distances: the larger membrane error first, then the neuron that fires in the ideal model
    tr = NeuronTraces.select(distance_sq=[0.0, 0.0, 0.0], ideal_times=ideal_times, ideal_v=vi, raster_p=raster,
                             v_p=vp, v_threshold=1.0, shape=(1, 3), dt=dt, t0=t0, k=3)
    assert tr.neurons == [(0, 0), (0, 2), (0, 1)]
    assert NeuronTraces.select(distance_sq=[1.0], ideal_times=np.full((1, 1), np.inf), ideal_v=np.zeros((4, 1)),
                               raster_p=np.zeros((4, 1)), v_p=np.zeros((4, 1)), v_threshold=1.0, shape=(1,), dt=1.0,
                               t0=0.0, k=0).neurons == []


def _report(name, total, explained, traces=True):
    steps = 20
    tr = None
    if traces:
        v = np.linspace(0, 1, steps)[:, None]
        tr = NeuronTraces(t0=0.0, dt=1e-3, neurons=[(3,)], distance=[total], ideal_spike_times=[[0.0101]],
                          platform_spike_times=[[0.010, 0.012]], ideal_v=v, platform_v=v * 0.9, v_threshold=[1.0])
    nd = NodeDeviation(count_ideal=1, count_platform=2, mean_abs_shift=1e-4, max_abs_shift=1e-4,
                       first_divergence=0.012, v_rmse=0.1, v_max_error=0.2, van_rossum=total, traces=tr)
    att = [Attribution("decay", "euler", "exact", total - explained, explained),
           Attribution("ignores", frozenset({"v_leak", "r"}), frozenset(), None, None, "not separable: why"),
           Attribution("quantization", "loihi2", None, math.inf, -math.inf)]
    return DeviationReport(platform=name, version="1.0", dt=1e-3, spike_area=1.0, n_steps=steps, nodes={"lif": nd},
                           total=total, attribution=att, floor=0.25, interaction=total - 0.25 - explained, quirks={},
                           axes={"ignores": frozenset({"v_leak", "r"}), "quantization": None, "decay": "euler"})


def test_single_report_json_file_is_strict(tmp_path):
    rep = _report("norse", 1.0, 0.5)
    s = rep.to_json(tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text() == s
    d = _strict(s)
    assert d["axes"]["ignores"] == ["r", "v_leak"] and d["axes"]["quantization"] is None
    assert d["attribution"][1]["platform_value"] == ["r", "v_leak"] and d["attribution"][1]["explained"] is None
    assert d["attribution"][2]["distance"] == "inf" and d["attribution"][2]["explained"] == "-inf"
    tr = d["nodes"]["lif"]["traces"]
    assert tr["neurons"] == [[3]] and len(tr["ideal_v"]) == 20 and tr["platform_spike_times"] == [[0.01, 0.012]]
    assert rep.to_json(str(tmp_path / "y.json")) == s  # a str path too
    assert rep.main_cause().axis == "decay"


def test_many_reports_print_json_and_plot(tmp_path):
    reps = DeviationReports()
    reps["norse"] = _report("norse", 1.0, 0.5)
    reps["lava"] = _report("lava", 3.0, 2.0, traces=False)
    reps.skipped["speck"] = "Platform 'speck' cannot run node 'lif' (LIF): IF only."
    text = str(reps)
    assert re.search(r"^norse\s+1\s+0.25\s+decay \(0.5\)", text, flags=re.M)
    assert "speck        cannot run: Platform 'speck' cannot run node 'lif'" in text
    d = _strict(reps.to_json(tmp_path / "all.json"))
    assert set(d["reports"]) == {"norse", "lava"} and "speck" in d["skipped"]
    assert _strict((tmp_path / "all.json").read_text()) == d
    for path in (reps.plot(tmp_path / "all.png"), reps["norse"].plot(tmp_path / "one.png"),
                 reps["lava"].plot(tmp_path / "no_traces.svg")):
        assert path.stat().st_size > 1000


