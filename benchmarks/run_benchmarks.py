"""Run the ideal-model and platform benchmarks on whatever JAX backend is present (CPU, GPU,
TPU) and write the results with the backend and devices they ran on.

    python benchmarks/run_benchmarks.py                      # everything, results/<backend>-<host>/
    python benchmarks/run_benchmarks.py --quick              # smaller scaling sweep (to 1e4 neurons)
    python benchmarks/run_benchmarks.py --only ideal --out-dir /tmp/run

Each benchmark runs in its own process (``benchmarks/bench_ideal.py``, ``benchmarks/bench_platforms.py``
as they are: this script only calls them), with the same interpreter and environment, so the
backend JAX picks (``JAX_PLATFORMS`` to force one) is the one recorded. Writes
``ideal.json`` (+ ``scaling.png``), ``platforms.json`` and ``summary.json`` (backend, devices,
JAX version, command lines, exit codes, durations, headline ratios). Nothing here needs a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def backend_info():
    """Backend and devices as JAX sees them, asked in a child process (so this one stays light)."""
    code = ("import jax, json; d = jax.devices(); print(json.dumps({'backend': jax.default_backend(), "
            "'devices': [str(x) for x in d], 'device_kind': getattr(d[0], 'device_kind', None), "
            "'jax': jax.__version__}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        return {"error": res.stderr[-2000:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(cmd, log):
    t = time.perf_counter()
    with open(log, "w") as f:
        res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=6 * 3600)
    return {"command": " ".join(cmd), "exit_code": res.returncode, "seconds": time.perf_counter() - t, "log": log}


def headline(ideal):
    out = {}
    ind = ideal.get("independent", {})
    for k in ("ratio_default_vs_global_closed_form", "ratio_default_vs_per_neuron", "ratio_spike_times_vs_per_neuron",
              "ratio_nirjax_global_vs_global_closed_form"):
        if k in ind:
            out[f"independent_lif_1000/{k}"] = ind[k]
    for sec in ("feedforward", "cnn"):
        if "speedup" in ideal.get(sec, {}):
            out[f"{sec}/speedup_vs_global_loop"] = ideal[sec]["speedup"]
    for name, r in ideal.get("braille", {}).items():
        if isinstance(r, dict) and "speedup" in r:
            out[f"braille/{name}/speedup_vs_global_loop"] = r["speedup"]
    rows = ideal.get("scaling", {}).get("rows", [])
    for r in rows:
        if "run_s" in r:
            out[f"scaling/{r['neurons']}/run_s"] = r["run_s"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=None, help="default: benchmarks/results/<backend>-<host>")
    ap.add_argument("--only", choices=("ideal", "platforms"), action="append")
    ap.add_argument("--quick", action="store_true", help="scaling sweep up to 1e4 neurons only")
    args = ap.parse_args(argv)
    info = backend_info()
    out_dir = args.out_dir or os.path.join(HERE, "results", f"{info.get('backend', 'unknown')}-{platform.node()}")
    os.makedirs(out_dir, exist_ok=True)
    summary = {"backend": info, "host": platform.node(), "python": sys.version.split()[0],
               "started": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": {}}
    todo = args.only or ["ideal", "platforms"]
    if "ideal" in todo:
        cmd = [sys.executable, os.path.join(HERE, "bench_ideal.py"), "--out", os.path.join(out_dir, "ideal.json"),
               "--plot", os.path.join(out_dir, "scaling.png")]
        if args.quick:
            cmd += ["--max-neurons", "10000"]
        summary["runs"]["ideal"] = run(cmd, os.path.join(out_dir, "ideal.log"))
    if "platforms" in todo:
        cmd = [sys.executable, os.path.join(HERE, "bench_platforms.py"), "--out", os.path.join(out_dir, "platforms.json")]
        summary["runs"]["platforms"] = run(cmd, os.path.join(out_dir, "platforms.log"))
    ideal_json = os.path.join(out_dir, "ideal.json")
    if os.path.exists(ideal_json):
        with open(ideal_json) as f:
            summary["headline"] = headline(json.load(f))
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))
    return 0 if all(r["exit_code"] == 0 for r in summary["runs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
