"""Shared helpers for the parity recorders (numpy only: imported from both peer envs).

Every recorder uses the same case list, the same seeded inputs and the same
npz/manifest layout, so nirjax tests can compare against any framework.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
GRAPHS = GOLDEN / "graphs"
SHARED = Path(os.environ.get("NIRJAX_SHARED", ROOT.parent / "shared"))
PAPER = SHARED / "nir-paper"

DT = 1e-4

# case name -> (graph path, input description)
RANDOM_CASES = ["lif_chain", "lif_chain_r1", "cubalif_chain", "if_chain", "diamond", "recurrent"]
CNN_CASE = "cnn"  # the paper's N-MNIST CNN (conv, pool, flatten: the channels-last executor path)
BRAILLE_CASES = {
    "braille_bias_zero": "03_rnn/braille_noDelay_bias_zero.nir",
    "braille_subtract": "03_rnn/braille_noDelay_noBias_subtract.nir",
}


def graph_path(case: str) -> Path:
    if case in ("lif_paper", "lif_paper_config"):
        return PAPER / "01_lif" / "lif_norse.nir"
    if case in BRAILLE_CASES:
        return PAPER / BRAILLE_CASES[case]
    if case == CNN_CASE:
        return PAPER / "02_cnn" / "cnn_sinabs.nir"
    return GRAPHS / f"{case}.nir"


def paper_pulse_input() -> np.ndarray:
    """The paper's LIF pulse train, shape (T=1000, B=1, 1), read from lif_norse.csv col 0."""
    x = np.loadtxt(PAPER / "01_lif" / "lif_norse.csv", delimiter=",")[:, 0]
    steps = np.flatnonzero(x)
    expected = ([60, 220, 270, 310, 320, 350, 370, 400, 410]
                + list(range(430, 531, 10)) + list(range(670, 781, 10)) + [840, 850])
    assert steps.tolist() == expected, steps
    return x.astype(np.float32).reshape(-1, 1, 1)


def random_input(case: str) -> np.ndarray:
    """Seeded binary input, time-major (T, B, features)."""
    if case in BRAILLE_CASES:
        rng = np.random.default_rng(1234)
        return (rng.random((256, 4, 12)) < 0.2).astype(np.float32)
    if case == CNN_CASE:  # p = 0.1: every layer spikes (the output layer a few dozen times)
        rng = np.random.default_rng(2024)
        return (rng.random((30, 2, 2, 34, 34)) < 0.1).astype(np.float32)
    rng = np.random.default_rng(100 + sum(map(ord, case)))
    return (rng.random((200, 2, 3)) < 0.3).astype(np.float32)


def case_input(case: str) -> np.ndarray:
    if case in ("lif_paper", "lif_paper_config"):
        return paper_pulse_input()
    return random_input(case)


def rel(p: Path) -> str:
    """Path as stored in manifests: repo-relative, or 'shared/...' for the shared folder."""
    p = Path(p).resolve()
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return "shared/" + str(p.relative_to(SHARED.resolve()))


def versions(mods) -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for m in mods:
        try:
            mod = __import__(m)
            out[m] = getattr(mod, "__version__", None)
            if out[m] is None:
                from importlib.metadata import version
                out[m] = version(m)
        except Exception as e:  # pragma: no cover
            out[m] = f"not importable: {e}"
    return out


class Recorder:
    """Collects per-case results for one framework and writes npz + manifest."""

    def __init__(self, framework: str, modules: list[str], notes: dict | None = None):
        self.framework = framework
        self.dir = GOLDEN / framework
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "framework": framework,
            "versions": versions(modules),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "dt": DT,
            "layout": {
                "input": "(T, B, *in_shape) float32, time-major, as fed to the framework",
                "dt": "scalar float, the simulation step the recording represents",
                "spikes/<node>": "(T, B, *shape) float32, the node's output at each step",
                "v/<node>": "(T, B, *shape) float32, membrane voltage after the step, native units",
                "i_syn/<node>": "(T, B, *shape) float32, synaptic current after the step (CubaLIF only, where available)",
            },
            "notes": notes or {},
            "cases": {},
        }

    def explain(self, case: str, text: str):
        """Attach a human explanation to a case (typically why it failed)."""
        if case in self.manifest["cases"]:
            self.manifest["cases"][case]["explanation"] = text

    def run(self, case: str, fn):
        """fn() -> (arrays: dict, info: dict). Exceptions are recorded, never faked."""
        print(f"[{self.framework}] {case} ...", flush=True)
        try:
            arrays, info = fn()
        except Exception as e:
            tb = traceback.format_exc()
            self.manifest["cases"][case] = {
                "recorded": False,
                "graph": rel(graph_path(case.replace("_reset_subtract", ""))),
                "error": f"{type(e).__name__}: {e}",
                "traceback_tail": tb.strip().splitlines()[-7:],
            }
            print(f"[{self.framework}] {case} FAILED: {type(e).__name__}: {e}", flush=True)
            return
        out = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
        out["dt"] = np.float64(info.pop("dt", DT))
        path = self.dir / f"{case}.npz"
        np.savez_compressed(path, **out)
        spike_counts = {k[len("spikes/"):]: float(v.sum()) for k, v in out.items()
                        if k.startswith("spikes/")}
        entry = {
            "recorded": True,
            "file": path.name,
            "graph": rel(graph_path(case.replace("_reset_subtract", ""))),
            "keys": {k: list(v.shape) for k, v in out.items() if k != "dt"},
            "dt": float(out["dt"]),
            "total_spikes": spike_counts,
        }
        entry.update(info)
        self.manifest["cases"][case] = entry
        print(f"[{self.framework}] {case} ok: spikes {spike_counts}", flush=True)

    def fail(self, case: str, reason: str):
        self.manifest["cases"][case] = {"recorded": False, "error": reason}
        print(f"[{self.framework}] {case} not run: {reason}", flush=True)

    def write(self):
        with open(self.dir / "manifest.json", "w") as f:
            json.dump(self.manifest, f, indent=1, sort_keys=False, default=str)
            f.write("\n")
        print(f"[{self.framework}] wrote {self.dir / 'manifest.json'}")
