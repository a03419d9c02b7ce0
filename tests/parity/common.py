"""Shared helpers for the parity recorders (numpy only: imported from both peer envs).

Every recorder uses the same case list, the same seeded inputs and the same
npz/manifest layout, so nirjax tests can compare against any framework.
"""
from __future__ import annotations

import io
import json
import keyword
import os
import platform
import sys
import traceback
import zipfile
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
# Graphs nobody here tuned a model on (issue 7 item 5): recurrent CubaLIF/LIF with biases,
# v_leak != 0, the same graphs under other node names, conv + IF with integer sums landing
# exactly on thresholds. Built by make_graphs.py; see README.md "Cases".
NEW_CASES = [
    "rnn_a", "rnn_b", "rnn_c", "rnn_lif",
    "vleak_lif", "vleak_cuba", "vleak_rnn",
    "names_rnn_braille", "names_rnn_in", "names_rnn_a_input", "names_rnn_dotted",
    "names_chain_in", "names_chain_digits", "names_chain_collide",
    "rnn2", "names_rnn2_layers",
    "conv_if_a", "conv_if_b",
]
CONV_CASES = ["conv_if_a", "conv_if_b"]
# renamed graphs take the input of the graph they rename (same numbers, other names)
INPUT_OF = {"names_rnn_braille": "rnn_a", "names_rnn_in": "rnn_a", "names_rnn_a_input": "rnn_a",
            "names_rnn_dotted": "rnn_a", "names_chain_in": "lif_chain_r1",
            "names_chain_digits": "lif_chain_r1", "names_chain_collide": "lif_chain_r1",
            "names_rnn2_layers": "rnn2"}
IN_FEATURES = {"rnn_b": 4, "rnn_c": 2}  # input width where it is not 3
GRAPH_CASES = RANDOM_CASES + NEW_CASES  # every graph in tests/golden/graphs/
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
    case = INPUT_OF.get(case, case)
    if case in CONV_CASES:  # (T=30, B=2, C=2, 8, 8), p = 0.3: integer conv sums hit the thresholds
        rng = np.random.default_rng(300 + sum(map(ord, case)))
        return (rng.random((30, 2, 2, 8, 8)) < 0.3).astype(np.float32)
    if case in BRAILLE_CASES:
        rng = np.random.default_rng(1234)
        return (rng.random((256, 4, 12)) < 0.2).astype(np.float32)
    if case == CNN_CASE:  # p = 0.1: every layer spikes (the output layer a few dozen times)
        rng = np.random.default_rng(2024)
        return (rng.random((30, 2, 2, 34, 34)) < 0.1).astype(np.float32)
    rng = np.random.default_rng(100 + sum(map(ord, case)))
    return (rng.random((200, 2, IN_FEATURES.get(case, 3))) < 0.3).astype(np.float32)


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
        pass
    try:
        return "shared/" + str(p.relative_to(SHARED.resolve()))
    except ValueError:
        return str(p)


def sanitized_names(graph) -> dict:
    """{name as nirtorch's executors call the module: NIR node name} for every node
    (nested subgraphs too). nirtorch 2.0/2.6 replace '.' by '_' (nirtorch 2.6's
    nir_to_torch also prefixes Python keywords with 'nir_node_'). Names that collide
    after sanitizing map to a list of the NIR names."""
    out: dict = {}

    def add(name):
        for key in {name.replace(".", "_"),
                    ("nir_node_" + name.replace(".", "_")) if keyword.iskeyword(name.replace(".", "_")) else None}:
            if key is None:
                continue
            prev = out.get(key)
            out[key] = name if prev is None or prev == name else sorted(set(
                (prev if isinstance(prev, list) else [prev]) + [name]))

    for name, node in graph.nodes.items():
        add(name)
        for sub in getattr(node, "nodes", {}) or {}:
            add(sub)
    return out


def save_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed, but byte-reproducible: sorted keys, fixed zip timestamps.
    (np.savez stamps every member with the current time, so re-recording identical
    arrays would still change the files.) np.load reads it as usual."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def versions(mods) -> dict:
    out = {"python": sys.version.split()[0], "machine": platform.machine()}
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


class Silent(Exception):
    """Raised by a recorder when the framework ran without error but did not run the graph."""


class Hang(Silent):
    """Raised by a recorder when the framework did not return (run in a subprocess, timed out)."""


def _strip_paths(line: str) -> str:
    """Traceback lines without machine-specific path prefixes (reproducible manifests)."""
    line = line.replace(str(ROOT) + "/", "")
    marker = "site-packages/"
    i = line.find(marker)
    if i >= 0:
        j = line.rfind('"', 0, i)
        return line[:j + 1] + line[i + len(marker):]
    return line


class Recorder:
    """Collects per-case results for one framework and writes npz + manifest."""

    def __init__(self, framework: str, modules: list[str], notes: dict | None = None):
        self.framework = framework
        self.dir = GOLDEN / framework
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "framework": framework,
            "versions": versions(modules),
            "dt": DT,
            "layout": {
                "input": "(T, B, *in_shape) float32, time-major, as fed to the framework",
                "dt": "scalar float, the simulation step the recording represents",
                "spikes/<node>": "(T, B, *shape) float32, the node's output at each step",
                "v/<node>": "(T, B, *shape) float32, membrane voltage after the step, native units",
                "i_syn/<node>": "(T, B, *shape) float32, synaptic current after the step (CubaLIF only, where available)",
                "<node>": "the NIR node name; the framework's own module name is in the case's framework_names",
            },
            "outcomes": {
                "recorded": "the framework ran the graph; its results are in <case>.npz",
                "error": "the framework raised (import or run): error + traceback_tail; a model of "
                         "this framework must refuse the graph with the framework's reason",
                "silent": "the framework ran without error but did not run the graph (e.g. an empty "
                          "model); what it did is in 'explanation'; a model must refuse",
                "hang": "the framework's import did not return (observed in a subprocess with a "
                        "timeout; why in 'explanation'); a model must refuse",
                "unsupported_by_mapping": "our re-implemented mapping (Nengo: the paper notebook's; "
                                          "Xylo: rockpool-style) has no rule for a node or parameter",
                "not_attempted": "not run (reason given)",
            },
            "notes": notes or {},
            "cases": {},
        }

    def explain(self, case: str, text: str):
        """Attach a human explanation to a case (typically why it failed)."""
        if case in self.manifest["cases"]:
            self.manifest["cases"][case]["explanation"] = text

    def run(self, case: str, fn, unsupported: tuple = ()):
        """fn() -> (arrays: dict, info: dict). Exceptions are recorded, never faked.

        fn may raise Silent(explanation, info) when the framework ran without error
        but did not run the graph. Exceptions of the types in `unsupported` are our
        own mapping's refusals (outcome "unsupported_by_mapping"), not the framework's."""
        print(f"[{self.framework}] {case} ...", flush=True)
        graph = rel(graph_path(case.replace("_reset_subtract", "")))
        try:
            arrays, info = fn()
        except Silent as e:
            kind = "hang" if isinstance(e, Hang) else "silent"
            self.manifest["cases"][case] = {"recorded": False, "outcome": kind, "graph": graph,
                                            "explanation": e.args[0], **(e.args[1] if len(e.args) > 1 else {})}
            print(f"[{self.framework}] {case} {kind.upper()}: {e.args[0]}", flush=True)
            return
        except Exception as e:
            tb = traceback.format_exc()
            self.manifest["cases"][case] = {
                "recorded": False,
                "outcome": "unsupported_by_mapping" if isinstance(e, unsupported) else "error",
                "graph": graph,
                "error": f"{type(e).__name__}: {e}",
                "traceback_tail": [_strip_paths(line) for line in tb.strip().splitlines()[-7:]],
            }
            print(f"[{self.framework}] {case} FAILED: {type(e).__name__}: {e}", flush=True)
            return
        out = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
        out["dt"] = np.float64(info.pop("dt", DT))
        path = self.dir / f"{case}.npz"
        save_npz(path, out)
        spike_counts = {k[len("spikes/"):]: float(v.sum()) for k, v in out.items()
                        if k.startswith("spikes/")}
        entry = {
            "recorded": True,
            "outcome": "recorded",
            "file": path.name,
            "graph": graph,
            "keys": {k: list(v.shape) for k, v in out.items() if k != "dt"},
            "dt": float(out["dt"]),
            "total_spikes": spike_counts,
        }
        entry.update(info)
        self.manifest["cases"][case] = entry
        print(f"[{self.framework}] {case} ok: spikes {spike_counts}", flush=True)

    def fail(self, case: str, reason: str):
        self.manifest["cases"][case] = {"recorded": False, "outcome": "not_attempted", "error": reason}
        print(f"[{self.framework}] {case} not run: {reason}", flush=True)

    def write(self):
        with open(self.dir / "manifest.json", "w") as f:
            json.dump(self.manifest, f, indent=1, sort_keys=False, default=str)
            f.write("\n")
        print(f"[{self.framework}] wrote {self.dir / 'manifest.json'}")
