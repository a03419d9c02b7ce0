"""Run a trained classifier graph in the real frameworks and record per-sample predictions
(issue 9: "the predictions must be what the real frameworks do").

    $PEERS_DIR/new/bin/python tests/parity/record_predictions.py --frameworks snntorch,norse,spyx \\
        --graph MODEL.nir --inputs INPUTS.npz --out DIR [--name yinyang] [--chunk 250]
    $PEERS_DIR/old/bin/python tests/parity/record_predictions.py --frameworks rockpool,sinabs ...

INPUTS.npz: `input` (T, B, *in) time-major, the binned input exactly as the platform
evaluation feeds it (any dtype; fed as float32); optional `dt` (default 1e-4, the step
the frameworks run at; snnTorch's is fixed at 1e-4).

Each framework imports MODEL.nir as its users do (the per-framework recorders'
`run_graph`: same options as the parity goldens, see README.md) and runs the samples
in chunks of `--chunk` (Rockpool: one sample per run). The readout, applied to the
spikes of the neuron node that feeds the graph's Output:
* first_spike_step (B, n_out): the first step with a spike (count > 0), T if none;
* prediction (B,): the output neuron with the earliest first spike, ties to the lowest
  index (np.argmin), -1 if no output neuron spikes;
* counts (B, n_out): spikes (counts for Rockpool/Sinabs) summed over the run.
Written to DIR/<name>_<framework>.npz (byte-reproducible) and DIR/<name>_<framework>.json
(versions, options, outcome; a framework that cannot import the graph gets outcome
"error" with its exception text, as in the parity manifests).

    python tests/parity/record_predictions.py --stage REPRO_DIR --name yinyang

copies a `nirjax reproduce yinyang --out REPRO_DIR` result into tests/golden/predictions/:
REPRO_DIR/model.nir -> yinyang_model.nir, REPRO_DIR/test_inputs.npz -> yinyang_inputs.npz
(the spike counts stored as uint8, labels and reported predictions as int16: asserted
exact; a few tens of KB instead of 4 MB).
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GOLDEN, _strip_paths, rel, save_npz, versions  # noqa: E402

ENV = {"snntorch": "new", "norse": "new", "spyx": "new", "rockpool": "old", "sinabs": "old"}
MODULES = {"snntorch": ["snntorch", "nir", "nirtorch", "torch"], "norse": ["norse", "nir", "nirtorch", "torch"],
           "spyx": ["spyx", "nir", "jax", "flax"], "rockpool": ["rockpool", "nir", "nirtorch", "torch"],
           "sinabs": ["sinabs", "nir", "nirtorch", "torch"]}


def readout(spikes: np.ndarray):
    """spikes (T, B, n_out) -> (first_spike_step (B, n), prediction (B,), counts (B, n))."""
    T = spikes.shape[0]
    fired = spikes > 0
    first = np.where(fired.any(0), fired.argmax(0), T).astype(np.int32)
    pred = np.where((first < T).any(1), first.argmin(1), -1).astype(np.int32)
    return first, pred, spikes.sum(0).astype(np.float32)


def output_node(path) -> str:
    import nir
    g = nir.read(str(path))
    out = [k for k, v in g.nodes.items() if isinstance(v, nir.Output)]
    src = [a for a, b in g.edges if b == out[0]]
    if len(out) != 1 or len(src) != 1:
        raise ValueError(f"need one Output fed by one node; got outputs {out}, sources {src}")
    return src[0]


def readable_copy(path: Path, tmpdir: Path):
    """(path to give the framework, note). nir 1.0.4 (the "old" env: Rockpool, Sinabs pin nir<=1.0.4)
    cannot read the v_reset field nir >= 1.0.6 writes (TypeError: unexpected keyword 'v_reset'). A user
    of those frameworks has to drop it; done here only where every v_reset is 0, which is exactly
    nir 1.0.4's implicit reset (to 0), so the copy means the same graph."""
    import shutil
    import h5py
    import nir
    try:
        nir.read(str(path))
        return path, None
    except TypeError as e:
        if "v_reset" not in str(e):
            raise
    dst = tmpdir / path.name
    shutil.copyfile(path, dst)
    dropped = []
    with h5py.File(dst, "r+") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "v_reset" in obj:
                if np.any(np.asarray(obj["v_reset"]) != 0):
                    raise ValueError(f"{name}: v_reset != 0 cannot be written for nir {nir.__version__}")
                dropped.append(name)
        f.visititems(visit)
        for name in dropped:
            del f[name]["v_reset"]
    return dst, (f"nir {nir.__version__} cannot read v_reset: read from a copy without it (all zero: nir "
                 f"{nir.__version__}'s implicit reset to 0) in {', '.join(n.split('/')[-1] for n in dropped)}")


def run_framework(fw: str, path: Path, x: np.ndarray, chunk: int):
    import tempfile
    tmp = tempfile.TemporaryDirectory()
    path, note = readable_copy(Path(path), Path(tmp.name))
    mod = __import__(f"record_{fw}")
    node = output_node(path)
    run = mod.run_graph
    if fw == "rockpool" and not mod.has_cycle(__import__("nir").read(str(path))):
        run = mod.run_graph_sequence  # stepping costs ~10 s of CPU per sample; exact for feed-forward
    B = x.shape[1]
    parts, info = [], None
    for b0 in range(0, B, chunk):
        arrays, info = run(path, np.ascontiguousarray(x[:, b0:b0 + chunk]))
        parts.append(np.asarray(arrays[f"spikes/{node}"], dtype=np.float32))
    spikes = np.concatenate(parts, axis=1)
    tmp.cleanup()
    if note:
        info = {**info, "graph_note": note}
    return spikes, info, node


def stage(src: Path, name: str, dest: Path = GOLDEN / "predictions") -> None:
    """Copy a reproduction's model.nir and test_inputs.npz into `dest`, compactly and exactly."""
    import shutil
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "model.nir", dest / f"{name}_model.nir")
    z = np.load(src / "test_inputs.npz")
    out = {}
    for k in z.files:
        a = np.asarray(z[k])
        if k == "input" or k == "labels" or k.startswith("predictions/"):
            small = a.astype(np.uint8 if k == "input" else np.int16)
            if not np.array_equal(small, a):
                raise ValueError(f"{k} does not fit {small.dtype} exactly")
            a = small
        out[k] = a
    save_npz(dest / f"{name}_inputs.npz", out)
    print(f"[predictions] staged {src} -> {dest}/{name}_model.nir, {name}_inputs.npz "
          f"({(dest / f'{name}_inputs.npz').stat().st_size} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", type=Path, default=None, help="copy REPRO_DIR's model and inputs (see above)")
    ap.add_argument("--frameworks", help="comma-separated: " + ", ".join(ENV))
    ap.add_argument("--graph", type=Path)
    ap.add_argument("--inputs", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--name", default=None, help="file prefix (default: the graph's file stem)")
    ap.add_argument("--chunk", type=int, default=250, help="samples per framework call")
    args = ap.parse_args()
    if args.stage is not None:
        stage(args.stage, args.name or "yinyang")
        return 0
    if not (args.frameworks and args.graph and args.inputs and args.out):
        ap.error("give --stage, or --frameworks, --graph, --inputs and --out")
    z = np.load(args.inputs)
    x = np.asarray(z["input"], dtype=np.float32)
    dt = float(z["dt"]) if "dt" in z.files else 1e-4
    if abs(dt - 1e-4) > 1e-12:
        sys.exit(f"inputs are binned at dt={dt}; the recorders run the frameworks at dt=1e-4 "
                 "(snnTorch's importer fixes it): bin the inputs at 1e-4")
    name = args.name or args.graph.stem
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for fw in [f.strip() for f in args.frameworks.split(",") if f.strip()]:
        if fw not in ENV:
            sys.exit(f"unknown framework {fw!r}; known: {', '.join(ENV)}")
        entry = {"framework": fw, "versions": versions(MODULES[fw]), "graph": rel(args.graph),
                 "inputs": rel(args.inputs), "dt": dt, "input_shape": list(x.shape),
                 "readout": "first spike step of each output neuron (T if none); prediction = earliest, "
                            "ties -> lowest index, -1 if no output spike"}
        print(f"[predictions] {fw}: {x.shape[1]} samples ...", flush=True)
        try:
            spikes, info, node = run_framework(fw, args.graph, x, args.chunk)
        except Exception as e:
            failed += 1
            entry.update(outcome="error", error=f"{type(e).__name__}: {e}",
                         traceback_tail=[_strip_paths(s) for s in traceback.format_exc().strip().splitlines()[-7:]])
            print(f"[predictions] {fw} FAILED: {entry['error']}", flush=True)
        else:
            first, pred, counts = readout(spikes)
            save_npz(args.out / f"{name}_{fw}.npz",
                     {"prediction": pred, "first_spike_step": first, "counts": counts})
            entry.update(outcome="recorded", file=f"{name}_{fw}.npz", output_node=node,
                         options=info.get("options"), **({"graph_note": info["graph_note"]}
                                                         if "graph_note" in info else {}),
                         no_output_spike=int(np.sum(pred < 0)),
                         class_histogram=np.bincount(pred[pred >= 0], minlength=spikes.shape[2]).tolist())
            if "labels" in z.files:
                entry["accuracy_vs_labels"] = float(np.mean(pred == np.asarray(z["labels"])))
            print(f"[predictions] {fw}: {entry['class_histogram']} (no spike: {entry['no_output_spike']})"
                  + (f", accuracy {entry['accuracy_vs_labels']:.4f}" if "accuracy_vs_labels" in entry else ""),
                  flush=True)
        with open(args.out / f"{name}_{fw}.json", "w") as f:
            json.dump(entry, f, indent=1, default=str)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
