"""Seconds per epoch of Yin-Yang training on the ideal model, side by side with jaxsnn 0.3.0.

    python benchmarks/bench_training.py --epochs 3 --json out.json [--jaxsnn .peers/jaxsnn/bin/python]

Times the call ``nirjax reproduce yinyang`` makes (the reproduction's own ``train``: the
standard training set, 5 -> H -> 3 CubaLIF, batch 64, exact gradients through spike times,
Adam, one ``lax.scan`` of updates per epoch), with ``--hidden 100`` (default) as in the anchor.
An epoch is one pass of updates over the training set (78 batches of 64), timed to completion;
``seconds_per_epoch`` is the median of the epochs after the first (the first includes
compilation: ``compile_seconds`` = first - median).

``--jaxsnn PYTHON`` also runs ``benchmarks/jaxsnn_yinyang.py`` (jaxsnn's "layered" EventProp
example set-up on the same data) with that interpreter (jaxsnn's own venv) in the same run, one
after the other, and reports ``ratio_vs_jaxsnn`` = nirjax / jaxsnn seconds per epoch (< 1:
nirjax faster). Note the machine's load: the ratio is what is comparable.
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import jax
import numpy as np


def _yinyang_module():
    res = importlib.resources.files("nirjax.reproductions") / "02_yinyang" / "yinyang.py"
    with importlib.resources.as_file(res) as path:
        spec = importlib.util.spec_from_file_location("nirjax_repro_yinyang", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return mod


def run_nirjax(epochs, hidden):
    yy = _yinyang_module()
    cfg = dict(yy.CONFIG, hidden=hidden)
    data = (yy.dataset("train", cfg), yy.dataset("test", cfg))
    _, hist = yy.train(cfg, epochs, data=data)
    secs = hist["epoch_seconds"]
    med = statistics.median(secs[1:]) if len(secs) > 1 else secs[0]
    return {
        "framework": "nirjax (ideal model, exact gradients)",
        "seconds_per_epoch": med,
        "compile_seconds": secs[0] - med if len(secs) > 1 else None,
        "epoch_seconds": secs,
        "test_accuracy": hist["test_accuracy"],
        "hidden": hidden, "batch": cfg["batch"], "train_samples": len(data[0][1]) // cfg["batch"] * cfg["batch"],
        "jax": jax.__version__, "device": str(jax.devices()[0]),
    }


def run_jaxsnn(python, epochs, hidden):
    import nirjax

    xtr, ytr = nirjax.training.yinyang("train")
    xte, yte = nirjax.training.yinyang("test")
    bias = lambda x: np.concatenate([x, np.zeros((len(x), 1))], axis=1)  # noqa: E731 - jaxsnn's bias spike at t=0
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "yinyang.npz"), os.path.join(tmp, "jaxsnn.json")
        np.savez(data, train_x=bias(xtr), train_y=ytr, test_x=bias(xte), test_y=yte)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jaxsnn_yinyang.py")
        subprocess.run([python, script, "--data", data, "--epochs", str(epochs), "--json", out,
                        "--hidden", str(hidden)], check=True)
        with open(out) as f:
            return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--json", default=None, help="write the result here")
    ap.add_argument("--jaxsnn", default=None, help="python of a venv with jaxsnn 0.3.0: run the anchor side by side")
    args = ap.parse_args(argv)
    if args.epochs < 2:
        ap.error("--epochs must be >= 2 (the first epoch includes compilation)")
    res = run_nirjax(args.epochs, args.hidden)
    out = dict(res)
    out["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                      "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    if args.jaxsnn:
        ref = run_jaxsnn(args.jaxsnn, args.epochs, args.hidden)
        out["jaxsnn"] = ref
        out["ratio_vs_jaxsnn"] = res["seconds_per_epoch"] / ref["seconds_per_epoch"]
    print(json.dumps({k: out[k] for k in ("seconds_per_epoch", "compile_seconds", "ratio_vs_jaxsnn") if k in out}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
