"""Compare nirjax's platform models with the real frameworks' per-sample predictions
recorded by record_predictions.py (issue 9). Runs in the project venv (imports nirjax):

    .venv/bin/python tests/parity/check_predictions.py --graph MODEL.nir --inputs INPUTS.npz \\
        --recorded DIR [--name yinyang] [--frameworks norse,snntorch,spyx,rockpool] [--json OUT.json]
    .venv/bin/python tests/parity/check_predictions.py --dir tests/golden/predictions
        (every <name>_model.nir there, with <name>_inputs.npz and the recordings beside it;
        nothing to check is not an error)

For every framework with a recording DIR/<name>_<fw>.json: outcome "recorded" -> the
platform model (tests/_parity.py's PLATFORM map: snntorch, norse, spyx, rockpool,
sinabs) runs the same inputs with `jax.vmap(simulate(..., platform=P))` in float32 and
the same readout (first spike step per output neuron, earliest wins, ties -> lowest
index, none -> -1); the predictions must be identical for every sample. Samples whose
first output spike steps or counts differ are reported (with --strict they fail too):
a membrane value within a float32 rounding of the threshold can fire one step apart in
two float32 implementations (summation order), without changing the prediction. Outcome "error" -> the model must refuse the graph (UnsupportedError).
If INPUTS.npz also carries `predictions/<platform>` (B,) (what the training package's
platform evaluation reported, `nirjax reproduce yinyang`'s test_inputs.npz), those must
equal the framework's recorded predictions too.
Exit status 1 on any disagreement; prints one line per framework.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_predictions import output_node, readout  # noqa: E402

PLATFORM = {"snntorch": "snntorch", "norse": "norse", "spyx": "spyx", "sinabs": "sinabs", "rockpool": "rockpool"}


def model_spikes(path, x, platform, node, chunk=250):
    import jax
    import nirjax
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = nirjax.load(path, warn=False)

    def one(xb):
        return nirjax.simulate(net, xb, dt=1e-4, platform=platform, dtype="float32").spikes[node]

    run = jax.jit(jax.vmap(one, in_axes=1))
    parts = [np.asarray(run(np.asarray(x[:, b:b + chunk], np.float32))) for b in range(0, x.shape[1], chunk)]
    return np.moveaxis(np.concatenate(parts, 0), 0, 1)  # (T, B, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="check every <name>_model.nir in this folder")
    ap.add_argument("--graph", type=Path)
    ap.add_argument("--inputs", type=Path)
    ap.add_argument("--recorded", type=Path)
    ap.add_argument("--name", default=None)
    ap.add_argument("--frameworks", default=",".join(PLATFORM))
    ap.add_argument("--json", type=Path, default=None, help="write the agreement table here")
    ap.add_argument("--strict", action="store_true", help="also require identical first spike steps and counts")
    args = ap.parse_args()
    if args.dir is not None:
        status = 0
        for model in sorted(args.dir.glob("*_model.nir")):
            name = model.name[:-len("_model.nir")]
            status |= check(model, args.dir / f"{name}_inputs.npz", args.dir, name, args.frameworks,
                            args.json and args.json.with_name(f"{name}_{args.json.name}"), args.strict)
        return status
    if not (args.graph and args.inputs and args.recorded):
        ap.error("give --dir, or --graph, --inputs and --recorded")
    return check(args.graph, args.inputs, args.recorded, args.name or args.graph.stem, args.frameworks, args.json,
                 args.strict)


def check(graph, inputs, recorded, name, frameworks, json_out, strict=False) -> int:
    """Check one graph; returns 1 if any framework disagrees with its model."""
    import nirjax
    zin = np.load(inputs)
    x = np.asarray(zin["input"], np.float32)
    node = output_node(graph)
    bad, table = 0, {}
    for fw in [f for f in frameworks.split(",") if f]:
        meta_path = recorded / f"{name}_{fw}.json"
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        if meta["outcome"] != "recorded":
            try:
                model_spikes(graph, x[:, :1], PLATFORM[fw], node)
            except nirjax.UnsupportedError as e:
                row = {"framework": meta["error"], "model": f"refuses: {e}", "agree": True}
            else:
                row = {"framework": meta["error"], "model": "runs", "agree": False}
        else:
            z = np.load(recorded / meta["file"])
            try:
                first, pred, counts = readout(model_spikes(graph, x, PLATFORM[fw], node))
            except nirjax.UnsupportedError as e:
                row = {"framework": "runs", "model": f"refuses: {e}", "agree": False}
            else:
                diff = np.flatnonzero(pred != z["prediction"])
                other = np.flatnonzero(np.any(first != z["first_spike_step"], 1) | np.any(counts != z["counts"], 1))
                row = {"samples": int(pred.size), "prediction_mismatches": int(diff.size),
                       "first_spike_mismatches": int(np.sum(np.any(first != z["first_spike_step"], 1))),
                       "count_mismatches": int(np.sum(np.any(counts != z["counts"], 1))),
                       "first_mismatching_samples": diff[:10].tolist(),
                       "samples_with_other_output_differences": other[:10].tolist(),
                       "agree": bool(diff.size == 0 and (other.size == 0 or not strict))}
                reported = f"predictions/{PLATFORM[fw]}"
                if reported in zin.files:  # what the training package's platform evaluation reported
                    rep = np.asarray(zin[reported]).astype(np.int64)
                    row["reported_prediction_mismatches"] = int(np.sum(rep != z["prediction"]))
                    row["agree"] = row["agree"] and row["reported_prediction_mismatches"] == 0
                if "labels" in zin.files:
                    row["framework_accuracy"] = float(np.mean(z["prediction"] == zin["labels"]))
                    row["model_accuracy"] = float(np.mean(pred == zin["labels"]))
        table[fw] = row
        bad += not row["agree"]
        print(f"[check_predictions] {name}/{fw}: {'AGREE' if row['agree'] else 'DISAGREE'} {row}")
    if json_out:
        Path(json_out).write_text(json.dumps(table, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
