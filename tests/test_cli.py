"""The command line (nirjax/_cli.py), run in-process (fast) and once as a subprocess.
Expected spikes come from the NIR paper's recorded traces (nirjax/data, byte-identical to
../shared/nir-paper/01_lif) and the graphs' own parameters."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import nirjax
from nirjax._cli import _parser, main

from conftest import PAPER

LIF = nirjax.data.path("lif_norse.nir")
PULSES = nirjax.data.path("lif_input.csv")
BRAILLE = PAPER / "03_rnn" / "braille_noDelay_noBias_subtract.nir"


def recorded_steps(name):
    d = np.loadtxt(nirjax.data.path(f"lif_{name}.csv.gz"), delimiter=",")
    return np.flatnonzero(d[:, 2]).tolist()


def test_help_lists_exactly_the_commands_that_exist(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    listed = re.findall(r"^  (\w+)\s{2,}", text.split("Subcommands:")[1].split("`nirjax COMMAND")[0], flags=re.M)
    sub = next(a for a in _parser()._actions if a.dest == "cmd")
    assert listed and set(listed) == set(sub.choices)
    for name, p in sub.choices.items():  # every argument of every command says what it means
        for a in p._actions:
            if a.dest != "help":
                assert a.help and len(a.help) > 15, (name, a.dest)
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0


def test_info_lif(capsys):
    assert main(["info", LIF]) == 0
    out = capsys.readouterr().out
    assert "input (1,)" in out and "output (1,) <- 1" in out
    assert re.search(r"^\s+1\s+LIF\s+\(1,\)\s+<- 0$", out, flags=re.M)
    assert re.search(r"tau\s+0.0025$", out, flags=re.M) and re.search(r"v_threshold\s+0.1$", out, flags=re.M)
    assert "spike-area hint: none" in out
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^    (\w+)\s+(runs it|cannot: .*)$", out, flags=re.M)}
    assert set(lines) == set(nirjax.platforms())
    assert lines["norse"] == "runs it"
    assert lines["speck"].startswith("cannot:") and "'1'" in lines["speck"] and "LIF" in lines["speck"]


def test_info_braille_hint_and_json(tmp_path, capsys):
    """The braille graphs were exported by snnTorch at dt = 1e-4: r = tau_mem / dt."""
    j = tmp_path / "info.json"
    assert main(["info", str(BRAILLE), "--json", str(j)]) == 0
    out = capsys.readouterr().out
    assert "dt = 0.0001 s" in out and "--spike-area 0.0001" in out
    d = json.loads(j.read_text())
    assert d["spike_area_hint"] == pytest.approx(1e-4)
    node = d["nodes"]["lif1.lif"]
    assert node["type"] == "CubaLIF" and node["shape"] == [40]
    assert node["params"]["r"]["min"] == pytest.approx(node["params"]["tau_mem"]["min"] / 1e-4)
    assert d["platforms"]["norse"] is None and "CubaLIF" in d["platforms"]["sinabs"]
    assert ["input", "fc1"] in d["edges"] and ["lif1.lif", "lif1.w_rec"] in d["edges"]


def test_simulate_ideal_and_platform_match_the_paper_recordings(tmp_path, capsys):
    out = tmp_path / "sol.npz"
    assert main(["simulate", LIF, "--input", PULSES, "--dt", "1e-4", "--reset", "subtract", "--out", str(out)]) == 0
    z = np.load(out)
    assert np.flatnonzero(z["spikes/1"][:, 0]).tolist() == recorded_steps("exact")
    t = z["spike_times/1"][0]
    np.testing.assert_allclose(t[np.isfinite(t)] * 1e3, [46.084, 51.090, 71.092, 76.091], atol=1e-3)
    exact = np.loadtxt(nirjax.data.path("lif_exact.csv.gz"), delimiter=",")
    np.testing.assert_allclose(z["states/1/v"][:, 0], exact[:, 1], atol=1e-8)
    assert z["ts"].shape == (1000,) and str(z["result"]) == ""
    # a platform with an option: Spyx 0.1.x as the paper ran it (version is a string, not the float 0.1)
    x = np.loadtxt(PULSES)[:, None]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "spyx"
    assert main(["simulate", LIF, "-i", str(tmp_path / "x.npy"), "--dt", "1e-4", "-p", "spyx", "-o", "version=0.1",
                 "--out", str(out)]) == 0
    z = np.load(str(out) + ".npz")
    assert np.flatnonzero(z["spikes/1"][:, 0]).tolist() == recorded_steps("spyx")
    spyx = np.loadtxt(nirjax.data.path("lif_spyx.csv.gz"), delimiter=",")
    np.testing.assert_allclose(z["states/1/v_native"][:, 0], spyx[:, 1], atol=1e-6)
    assert "spike_times/1" not in z.files


def test_simulate_npz_inputs_and_errors(tmp_path, capsys):
    x = np.loadtxt(PULSES)[:, None]
    np.savez(tmp_path / "x.npz", input=x)
    assert main(["simulate", LIF, "-i", str(tmp_path / "x.npz"), "--dt", "1e-4", "-p", "norse", "--out",
                 str(tmp_path / "n.npz")]) == 0
    assert np.flatnonzero(np.load(tmp_path / "n.npz")["spikes/1"][:, 0]).tolist() == recorded_steps("norse")
    capsys.readouterr()
    np.savez(tmp_path / "bad.npz", inp=x)
    cases = [
        (["-i", str(tmp_path / "missing.npy")], "No input file"),
        (["-i", str(tmp_path / "bad.npz")], "inp"),
        (["-i", PULSES, "-o", "version=0.1"], "--option and --preset apply to platform models"),
        (["-i", PULSES, "--preset", "paper"], "--option and --preset apply to platform models"),
        (["-i", PULSES, "-p", "norse", "--preset", "nosuch"], "nosuch"),
        (["-i", PULSES, "-p", "norse", "--method", "rk"], "--method applies to the ideal model only"),
        (["-i", PULSES, "-p", "nosuch"], "nosuch"),
        (["-i", PULSES, "-p", "speck"], "'1'"),
        (["-i", PULSES, "--max-spikes", "1"], "spike-time buffer"),  # an error_if inside the jitted run
    ]
    for extra, msg in cases:
        assert main(["simulate", LIF, "--dt", "1e-4", "--out", str(tmp_path / "e.npz"), *extra]) == 1, extra
        err = capsys.readouterr().err
        assert "nirjax simulate: error:" in err and msg in err, (extra, err)
    with pytest.raises(SystemExit) as e:  # bad usage: argparse's exit status 2
        main(["simulate", LIF, "--out", "x.npz"])
    assert e.value.code == 2


def test_deviation_writes_table_json_figure(tmp_path, capsys):
    out = tmp_path / "dev"
    assert main(["deviation", LIF, "-i", PULSES, "--dt", "1e-4", "-p", "spyx", "-o", "version=0.1",
                 "--out", str(out)]) == 0
    res = capsys.readouterr()
    assert "ideal model: 1000 steps" in res.err and "platform spyx" in res.err  # progress output
    assert "spyx (0.1" in res.out and (out / "report.txt").read_text().strip() == res.out.strip()
    d = json.loads((out / "report.json").read_text())
    n = d["nodes"]["1"]
    assert n["count_ideal"] == 4 and n["count_platform"] == 4
    assert n["first_divergence"] == pytest.approx(recorded_steps("exact")[0] * 1e-4)
    tr = n["traces"]
    assert tr["neurons"] == [[0]]
    np.testing.assert_allclose(tr["platform_spike_times"][0], np.array(recorded_steps("spyx")) * 1e-4)
    assert (out / "deviation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_deviation_all_platforms(tmp_path, capsys):
    out = tmp_path / "all"
    assert main(["deviation", LIF, "-i", PULSES, "--dt", "1e-4", "--reset", "subtract", "-p", "all",
                 "--no-attribution", "--trace-neurons", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    k = len(nirjax.platforms())
    assert f"[{k}/{k}]" in err
    d = json.loads((out / "report.json").read_text())
    assert set(d["reports"]) | set(d["skipped"]) == set(nirjax.platforms())
    assert "'1'" in d["skipped"]["speck"]
    assert d["reports"]["norse"]["nodes"]["1"]["count_platform"] == len(recorded_steps("norse"))
    assert (out / "deviation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["deviation", LIF, "-i", PULSES, "--dt", "1e-4", "-p", "all", "-p", "norse", "--out", str(out)]) == 1
    assert "do not combine" in capsys.readouterr().err


def test_platforms_and_data(capsys):
    assert main(["platforms"]) == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^  {p}\s", out, flags=re.M) for p in nirjax.platforms())
    assert main(["platforms", "snntorch", "-o", "threshold_test=>="]) == 0
    assert re.search(r"threshold_test\s+'>='", capsys.readouterr().out)
    assert main(["platforms", "snntorch", "--preset", "0.9.4"]) == 0  # the release's own axes
    assert re.search(r"presets: .*0\.9\.4", capsys.readouterr().out)
    assert main(["data", "lif_norse.nir"]) == 0
    assert capsys.readouterr().out.strip() == LIF
    assert main(["data"]) == 0
    assert "lif_spyx.csv.gz" in capsys.readouterr().out


def test_subprocess_entry_point(tmp_path):
    """`python -m nirjax` from an empty folder: the console wiring, not just main()."""
    r = subprocess.run([sys.executable, "-m", "nirjax", "info", LIF], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "LIF" in r.stdout and "runs it" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nirjax", "simulate", LIF, "--dt", "1e-4", "-i",
                        str(pathlib.Path(tmp_path) / "none.npy"), "--out", "x.npz"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "No input file" in r.stderr and "Traceback" not in r.stderr
