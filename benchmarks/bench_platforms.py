"""Time-stepped platform models vs the real frameworks, and deviation() wall time.

(a) ``nirjax.deviation`` of the braille graph against every platform (first call
    in a fresh process: includes all compilation);
(b) the ``snntorch``, ``norse`` and ``spyx`` models on both braille graphs
    (batch 140, 256 steps) and the ``norse``/``spyx`` models on the CNN (batch 16,
    300 steps; snnTorch cannot import IF): float32 (as the peers run), jitted,
    vmapped over the batch, recording the output spikes only; inputs are device
    arrays made before timing, as the Spyx peer's are (``jnp.asarray`` outside the
    timed call). Compile time (first call) separately; medians of repeated runs.
Peer timings come from ``benchmarks/results/peers_*.json`` (benchmarks/peers_timing.py,
recorded on this machine kind); ratios = peer median / nirjax median (> 1: nirjax faster).

Run: ``.venv/bin/python benchmarks/bench_platforms.py [--out benchmarks/results/platforms_vm.json]``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform as _pf
import statistics
import time

import jax
import numpy as np

import nirjax

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("NIRJAX_SHARED", os.path.join(HERE, "..", "..", "shared"))
RNN = os.path.join(SHARED, "nir-paper", "03_rnn")
CNN = os.path.join(SHARED, "nir-paper", "02_cnn", "cnn_sinabs.nir")
BRAILLE = {"braille_bias_zero": "braille_noDelay_bias_zero.nir", "braille_subtract": "braille_noDelay_noBias_subtract.nir"}


def timed(fn, x, repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(x))
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(x))
        runs.append(time.perf_counter() - t)
    return first, statistics.median(runs), min(runs)


def batched_model(g, plat, dt):
    return nirjax.stepper(g, plat, dt=dt, record=("outputs",), dtype="float32")


def peers():
    out = {}
    for f in sorted(glob.glob(os.path.join(HERE, "results", "peers_*.json"))):
        with open(f) as fh:
            out[os.path.basename(f)] = json.load(fh).get("results", {})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--peers-now", action="store_true",
                    help="also run benchmarks/peers_timing.py in .peers/new (Norse, Spyx) and .peers/old (Sinabs) right before, so the "
                         "peer numbers are measured side by side under the same machine load")
    args = ap.parse_args()
    if args.peers_now:
        import subprocess

        out = os.path.join(HERE, "results", "peers_sidebyside.json")
        if os.path.exists(out):
            os.remove(out)
        for env in ("new", "old"):  # Norse, Spyx; Sinabs (Rockpool)
            py = os.path.join(HERE, "..", ".peers", env, "bin", "python")
            if os.path.exists(py):
                subprocess.run([py, os.path.join(HERE, "peers_timing.py"), "--out", out], check=True)
    res = {"machine": {"platform": _pf.platform(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
                       "devices": [str(d) for d in jax.devices()]}, "results": {}}

    # (a) deviation against all platforms, first call (compilation included); float64 as in the tests
    jax.config.update("jax_enable_x64", True)
    g = nirjax.load(os.path.join(RNN, BRAILLE["braille_subtract"]), warn=False)
    x = (np.random.default_rng(0).random((256, 12)) < 0.2).astype(float)
    t = time.perf_counter()
    reps = nirjax.deviation(g, "all", x, dt=1e-4, spike_area=1e-4, reset="subtract")
    dev_s = time.perf_counter() - t
    res["results"]["deviation/braille_subtract/all_platforms"] = {
        "wall_s": dev_s, "platforms": sorted(reps), "skipped": sorted(reps.skipped), "steps": 256, "batch": 1}
    print(f"deviation(braille_subtract, all platforms, 256 steps): {dev_s:.2f} s incl. compilation "
          f"({len(reps)} platforms run, {len(reps.skipped)} refused)")
    jax.config.update("jax_enable_x64", False)

    rng = np.random.default_rng(0)
    work = []
    xb = (rng.random((256, 140, 12)) < 0.2).astype(np.float32)
    for case, f in BRAILLE.items():
        gb = nirjax.load(os.path.join(RNN, f), warn=False)
        for plat in ("snntorch", "norse", "spyx"):
            work.append((f"braille/{case}/{plat}", gb, plat, 1e-4, xb))
    gc = nirjax.load(CNN, warn=False)
    xc = (rng.random((300, 16, 2, 34, 34)) < 0.05).astype(np.float32)
    for plat in ("norse", "spyx"):
        work.append((f"cnn/{plat}", gc, plat, 1e-3, xc))

    pr = peers()
    print(f"{'workload':34s} {'compile+1st (s)':>15s} {'median (ms)':>12s} {'peer median (ms)':>30s} {'ratio':>7s}")
    for key, gg, plat, dt, xx in work:
        fn = batched_model(gg, plat, dt)
        xx = jax.numpy.asarray(xx)
        first, med, mn = timed(fn, xx, 4 * args.repeats if key.startswith("braille") else max(5, args.repeats))
        entry = {"first_call_s": first, "compile_s": max(first - med, 0.0), "median_s": med, "min_s": mn}
        peer_txt, ratio = "-", ""
        for src, table in sorted(pr.items(), key=lambda kv: kv[0] == "peers_sidebyside.json"):
            p = table.get(key)
            if p:
                entry.setdefault("peer", {})[src] = p["median_s"]
                entry["ratio_peer_over_nirjax"] = p["median_s"] / med
                peer_txt, ratio = f"{p['median_s'] * 1e3:.1f} ({src})", f"{p['median_s'] / med:.2f}"
        # fastest real framework on the same workload
        fam = key.rsplit("/", 1)[0]
        tables = [pr["peers_sidebyside.json"]] if "peers_sidebyside.json" in pr else list(pr.values())
        best = min(((t["median_s"], k) for tb in tables for k, t in tb.items()
                    if k.startswith(fam + "/") and "median_s" in t), default=None)
        if best:
            entry["fastest_peer"] = {"name": best[1], "median_s": best[0], "ratio": best[0] / med}
        res["results"][key] = entry
        print(f"{key:34s} {first:15.2f} {med * 1e3:12.2f} {peer_txt:>30s} {ratio:>7s}"
              + (f"  fastest peer {best[1].rsplit('/', 1)[1]} {best[0] * 1e3:.1f} ms -> x{best[0] / med:.2f}" if best else ""))
    if not pr:
        print("no benchmarks/results/peers_*.json: run benchmarks/peers_timing.py in the peer envs for ratios")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
