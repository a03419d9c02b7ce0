"""Time-stepped platform models vs the real frameworks, through the PUBLIC call; deviation() wall time.

(a) ``nirjax.deviation`` of the braille graph against every platform (first call in a fresh
    process: includes all compilation);
(b) the call users make, with the default options: ``jax.jit(jax.vmap(lambda x: nirjax.simulate(g,
    x, dt=dt, platform=P)))`` on batch-major inputs (default float: float32; default recording:
    the outputs and the spikes of the layer feeding them per step, spike counts of every node, the
    final state): the ``snntorch`` (0.9.4: snnTorch 1.0.0 cannot import the braille graphs),
    ``norse`` and ``spyx`` models on both braille graphs (batch 140, 256 steps) and
    ``norse``/``spyx`` on the CNN (batch 16, 300 steps). Side by side in the same run: the same
    call without the outer ``jax.jit`` (an eager ``jax.vmap``), with ``record=("outputs",)``
    (exactly what the peers' timed calls return: the output layer per step), with ``record=None``
    (every state of every node per step: the memory traffic of a full recording), and
    ``nirjax.stepper`` (the internal compiled runner) -- all medians of interleaved repeats, so
    machine load hits them alike. Inputs are device arrays made before timing, as the Spyx peer's.
(c) a second eager ``nirjax.simulate(g, x, dt=1e-4, platform="norse")`` call (braille, one sample)
    against the same call jitted: the cost of the eager path in jitted calls.
Peer timings: ``benchmarks/results/peers_*.json`` (benchmarks/peers_timing.py in the peer envs;
``--peers-now`` records ``peers_sidebyside.json`` right before, under the same load); ratios =
peer median / nirjax median (> 1: nirjax faster).

Run: ``.venv/bin/python benchmarks/bench_platforms.py --peers-now [--out benchmarks/results/platforms_vm.json]``.
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
import jax.numpy as jnp
import numpy as np

import nirjax

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("NIRJAX_SHARED", os.path.join(HERE, "..", "..", "shared"))
RNN = os.path.join(SHARED, "nir-paper", "03_rnn")
CNN = os.path.join(SHARED, "nir-paper", "02_cnn", "cnn_sinabs.nir")
BRAILLE = {"braille_bias_zero": "braille_noDelay_bias_zero.nir", "braille_subtract": "braille_noDelay_noBias_subtract.nir"}


def interleaved(fns, x, repeats):
    """First call (compilation included) of each, then ``repeats`` rounds calling each in turn:
    {name: (first_s, median_s, min_s, cpu_median_s)}; CPU time (all threads of this process) is robust
    to other processes' load, wall time is what a user waits."""
    first, runs, cpu = {}, {k: [] for k in fns}, {k: [] for k in fns}
    for k, f in fns.items():
        t = time.perf_counter()
        jax.block_until_ready(f(x))
        first[k] = time.perf_counter() - t
    for _ in range(repeats):
        for k, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            jax.block_until_ready(f(x))
            runs[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return {k: (first[k], statistics.median(runs[k]), min(runs[k]), statistics.median(cpu[k])) for k in fns}


def public_calls(g, plat, dt):
    def one(x, **kw):
        return nirjax.simulate(g, x, dt=dt, platform=plat, **kw)

    return {
        "public": jax.jit(jax.vmap(lambda x: one(x))),
        "public_eager_vmap": jax.vmap(lambda x: one(x)),
        "public_record_outputs": jax.jit(jax.vmap(lambda x: one(x, record=("outputs",)))),
        "public_record_everything": jax.jit(jax.vmap(lambda x: one(x, record=None))),
        "stepper": nirjax.stepper(g, plat, dt=dt),
    }


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
    ap.add_argument("--peers", nargs="*", default=None,
                    help="with --peers-now: only these peers (norse, sinabs, rockpool, spyx; default all)")
    ap.add_argument("--peers-now", action="store_true",
                    help="also run benchmarks/peers_timing.py in $PEERS_DIR/new (Norse, Spyx) and $PEERS_DIR/old (Sinabs, "
                         "Rockpool; PEERS_DIR defaults to .peers) right before, so the "
                         "peer numbers are measured side by side under the same machine load")
    args = ap.parse_args()
    if args.peers_now:
        import subprocess

        out = os.path.join(HERE, "results", "peers_sidebyside.json")
        if os.path.exists(out):
            os.remove(out)
        for env in ("new", "old"):  # Norse, Spyx; Sinabs (Rockpool)
            py = os.path.join(os.environ.get("PEERS_DIR", os.path.join(HERE, "..", ".peers")), env, "bin", "python")
            if os.path.exists(py):
                only = ["--only", *args.peers] if args.peers else []
                subprocess.run([py, os.path.join(HERE, "peers_timing.py"), "--out", out, *only], check=True)
    res = {"machine": {"platform": _pf.platform(), "node": _pf.node(), "cpu_count": os.cpu_count(),
                       "jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
                       "load_average_at_start": os.getloadavg()}, "results": {}}

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
    xb = (rng.random((256, 140, 12)) < 0.2).astype(np.float32)  # the peers' inputs (time-major)
    for case, f in BRAILLE.items():
        gb = nirjax.load(os.path.join(RNN, f), warn=False)
        for name, plat in (("snntorch", nirjax.get_platform("snntorch", version="0.9.4")), ("norse", "norse"),
                           ("spyx", "spyx")):
            work.append((f"braille/{case}/{name}", gb, plat, 1e-4, xb))
    gc = nirjax.load(CNN, warn=False)
    xc = (rng.random((300, 16, 2, 34, 34)) < 0.05).astype(np.float32)
    for plat in ("norse", "spyx"):
        work.append((f"cnn/{plat}", gc, plat, 1e-3, xc))

    pr = peers()
    print(f"{'workload':34s} {'public (ms)':>11s} {'eager vmap':>10s} {'rec outputs':>11s} {'rec all':>8s} "
          f"{'compile (s)':>11s} {'peer (ms)':>22s} {'peer/public':>11s}")
    for key, gg, plat, dt, xx in work:
        fns = public_calls(gg, plat, dt)
        xx = jnp.asarray(np.ascontiguousarray(np.moveaxis(xx, 1, 0)))  # batch-major, as users vmap
        reps = 4 * args.repeats if key.startswith("braille") else max(5, args.repeats)
        t = interleaved(fns, xx, reps)
        entry = {k: {"first_call_s": v[0], "median_s": v[1], "min_s": v[2], "cpu_median_s": v[3]}
                 for k, v in t.items()}
        med = t["public"][1]
        peer_txt, ratio = "-", ""
        for src, table in sorted(pr.items(), key=lambda kv: kv[0] == "peers_sidebyside.json"):
            p = table.get(key)
            if p and "median_s" in p:
                entry.setdefault("peer", {})[src] = p
                entry["ratio_peer_over_public"] = p["median_s"] / med
                peer_txt, ratio = f"{p['median_s'] * 1e3:.1f} ({src[:10]})", f"{p['median_s'] / med:.2f}"
                if "cpu_median_s" in p:
                    entry["cpu_ratio_peer_over_public"] = p["cpu_median_s"] / t["public"][3]
                    ratio += f" (cpu {p['cpu_median_s'] / t['public'][3]:.2f})"
        fam = key.rsplit("/", 1)[0]
        tables = [pr["peers_sidebyside.json"]] if "peers_sidebyside.json" in pr else list(pr.values())
        best = min(((tb[k]["median_s"], k) for tb in tables for k in tb
                    if k.startswith(fam + "/") and isinstance(tb[k], dict) and "median_s" in tb[k]), default=None)
        if best:
            entry["fastest_peer"] = {"name": best[1], "median_s": best[0], "ratio_over_public": best[0] / med,
                                     "ratio_over_public_eager_vmap": best[0] / t["public_eager_vmap"][1]}
        res["results"][key] = entry
        entry["load_average"] = os.getloadavg()
        print(f"{key:34s} {med * 1e3:11.2f} {t['public_eager_vmap'][1] * 1e3:10.2f} "
              f"{t['public_record_outputs'][1] * 1e3:11.2f} {t['public_record_everything'][1] * 1e3:8.2f} "
              f"{max(t['public'][0] - med, 0.0):11.2f} {peer_txt:>22s} {ratio:>11s}"
              + (f"  fastest peer {best[1].rsplit('/', 1)[1]} {best[0] * 1e3:.1f} ms -> x{best[0] / med:.2f}"
                 f" (eager x{best[0] / t['public_eager_vmap'][1]:.2f})"
                 if best else ""))

    # (c) the eager path: a second eager simulate call vs the same call jitted (braille, one sample)
    g1 = nirjax.load(os.path.join(RNN, BRAILLE["braille_subtract"]), warn=False)
    x1 = jnp.asarray(xb[:, 0])
    jf = jax.jit(lambda x: nirjax.simulate(g1, x, dt=1e-4, platform="norse"))
    t = interleaved({"eager": lambda x: nirjax.simulate(g1, x, dt=1e-4, platform="norse"), "jitted": jf}, x1,
                    10 * args.repeats)
    res["results"]["eager_second_call/braille_subtract/norse"] = {
        "eager_median_s": t["eager"][1], "jitted_median_s": t["jitted"][1], "eager_first_s": t["eager"][0],
        "eager_over_jitted": t["eager"][1] / t["jitted"][1]}
    print(f"eager simulate(platform='norse'), braille, 1 sample: first {t['eager'][0]:.2f} s, then "
          f"{t['eager'][1] * 1e3:.3f} ms = {t['eager'][1] / t['jitted'][1]:.2f} x the jitted call "
          f"({t['jitted'][1] * 1e3:.3f} ms)")
    if not pr:
        print("no benchmarks/results/peers_*.json: run benchmarks/peers_timing.py in the peer envs for ratios")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
