"""Wall-time of the real peer frameworks on the paper graphs (CPU).

Run in each peer env (tests/parity/setup_envs.sh); the script times whatever is
importable there and merges into the JSON given by --out:
  .peers/new/bin/python benchmarks/peers_timing.py   # Norse, Spyx
  .peers/old/bin/python benchmarks/peers_timing.py   # Sinabs, Rockpool
Workloads (random binary inputs, seeded):
  braille: both 03_rnn graphs, T=256, B=140, 12 inputs (p=0.2)
  cnn: 02_cnn/cnn_sinabs.nir, T=300, B=16, input (2, 34, 34) (p=0.05)
Each entry: first call (import + first run, includes jit compile for Spyx)
reported separately, then median/min of `--repeats` timed calls after one
warm-up. torch uses 2 threads. Spyx timings use default XLA flags.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
PAPER = Path(os.environ.get("NIRJAX_SHARED", ROOT.parent / "shared")) / "nir-paper"
BRAILLE = {"braille_bias_zero": PAPER / "03_rnn/braille_noDelay_bias_zero.nir",
           "braille_subtract": PAPER / "03_rnn/braille_noDelay_noBias_subtract.nir"}
CNN = PAPER / "02_cnn/cnn_sinabs.nir"
DT = 1e-4


def inputs():
    rng = np.random.default_rng(0)
    xb = (rng.random((256, 140, 12)) < 0.2).astype(np.float32)
    xc = (rng.random((300, 16, 2, 34, 34)) < 0.05).astype(np.float32)
    return xb, xc


def timeit(build, run, repeats):
    """build() -> obj (untimed except in first call); run(obj) -> blocks until done."""
    t0 = time.perf_counter()
    obj = build()
    run(obj)
    first = time.perf_counter() - t0
    run(obj)  # warm-up
    ts, cs = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run(obj)
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    # cpu_*: the process's CPU time (all its threads): robust to other processes' load
    return {"first_call_s": first, "median_s": statistics.median(ts), "min_s": min(ts),
            "cpu_median_s": statistics.median(cs), "repeats": repeats}


ONLY = None


def bench(results, key, build, run, repeats, note=""):
    fw = key.rsplit("/", 1)[1].split("_")[0]
    if ONLY is not None and fw not in ONLY:
        return
    print(f"{key} ...", flush=True)
    try:
        r = timeit(build, run, repeats)
        r["note"] = note
    except Exception as e:
        r = {"error": f"{type(e).__name__}: {e}", "note": note}
    results[key] = r
    print(f"  {r}", flush=True)


def torch_parts(results, xb, xc, repeats):
    import nir
    import torch
    torch.set_num_threads(2)
    try:
        import norse.torch
        def norse_stepped(path, x):
            def build():
                m = norse.torch.from_nir(nir.read(str(path)), dt=DT, ignore_warnings=True)
                for mod in m.modules():  # workaround: NIR Flatten dims exclude the batch axis
                    if isinstance(mod, torch.nn.Flatten) and mod.start_dim == 0:
                        mod.start_dim = 1
                return m
            xt = torch.from_numpy(x)
            def run(m):
                with torch.no_grad():
                    s = None
                    for t in range(xt.shape[0]):
                        y, s = m(xt[t], s)
            return build, run
        for name, path in BRAILLE.items():
            bench(results, f"braille/{name}/norse", *norse_stepped(path, xb), repeats,
                  "nirtorch GraphExecutor, one call per step")
        bench(results, "cnn/norse", *norse_stepped(CNN, xc), max(2, repeats // 2),
              "nirtorch GraphExecutor, one call per step; workaround: torch Flatten start_dim 0 -> 1 "
              "(Norse passes NIR's batch-free start_dim=0 through, which flattens the batch)")
    except ImportError:
        pass
    try:
        import sinabs.nir
        def build():
            return sinabs.nir.from_nir(nir.read(str(CNN)), batch_size=xc.shape[1])
        T, B = xc.shape[:2]
        xs = torch.from_numpy(np.ascontiguousarray(xc.transpose(1, 0, 2, 3, 4))).reshape(B * T, 2, 34, 34)
        def run(m):
            for mod in m.modules():
                if hasattr(mod, "reset_states"):
                    mod.reset_states()
            with torch.no_grad():
                m(xs)
        bench(results, "cnn/sinabs", build, run, max(2, repeats // 2),
              "Squeeze layers, whole sequence as (B*T, 2, 34, 34) in one call")
    except ImportError:
        pass
    try:
        from rockpool.nn.modules.torch.nir import from_nir as rp_from_nir
        def rp_stepped(path, x):
            def build():
                return rp_from_nir(nir.read(str(path)))
            xt = torch.from_numpy(x)
            def run(m):
                with torch.no_grad():
                    s = None
                    for t in range(xt.shape[0]):
                        y, s = m(xt[t][:, None, :], s)
            return build, run
        for name, path in BRAILLE.items():
            bench(results, f"braille/{name}/rockpool_stepped", *rp_stepped(path, xb), max(2, repeats // 2),
                  "one executor call per step (B=140; note Rockpool keeps only batch element 0 as state)")
    except ImportError:
        pass


def spyx_parts(results, xb, xc, repeats):
    try:
        import jax
        import jax.numpy as jnp
        import nir
        import spyx.nir
        import spyx.nn
        from flax import nnx
    except ImportError:
        return
    results["_jax"] = {"version": jax.__version__, "devices": [str(d) for d in jax.devices()],
                       "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}

    def spyx_case(path, x):
        xj = jnp.asarray(x)
        def build():
            model, _ = spyx.nir.from_nir(nir.read(str(path)), xj[:2], dt=DT)
            f = nnx.jit(lambda m, inp: spyx.nn.run(m, inp)[0])
            return model, f
        def run(obj):
            model, f = obj
            f(model, xj).block_until_ready()
        return build, run
    for name, path in BRAILLE.items():
        bench(results, f"braille/{name}/spyx", *spyx_case(path, xb), repeats,
              "nnx.jit(spyx.nn.run) over lax.scan; first call includes from_nir and compile")
    bench(results, "cnn/spyx", *spyx_case(CNN, np.ascontiguousarray(xc.transpose(0, 1, 3, 4, 2))),
          max(2, repeats // 2),
          "nnx.jit(spyx.nn.run) over lax.scan; first call includes from_nir and compile; input fed "
          "channels-last (T, B, 34, 34, 2) as Spyx convolutions require (its Flatten is then in HWC "
          "order, so outputs differ from the NIR graph's; nirjax's spyx model reproduces them with its "
          "flatten_channels_last quirk, tests/golden/spyx/cnn.npz)")


def machine():
    info = {"hostname": socket.gethostname(), "platform": platform.platform(),
            "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
            "machine_name": os.environ.get("MACHINE_NAME", "2-core CPU container")}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"peers_{socket.gethostname()}.json"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=None,
                    help="time only these frameworks (norse, sinabs, rockpool, spyx); default: all importable")
    args = ap.parse_args()
    global ONLY
    ONLY = set(args.only) if args.only else None
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    xb, xc = inputs()
    results = {}
    torch_parts(results, xb, xc, args.repeats)
    spyx_parts(results, xb, xc, args.repeats)
    from importlib.metadata import version, PackageNotFoundError
    vers = {}
    for p in ["torch", "nir", "nirtorch", "norse", "snntorch", "spyx", "jax", "sinabs", "rockpool"]:
        try:
            vers[p] = version(p)
        except PackageNotFoundError:
            pass
    env = Path(sys.prefix).name
    data.setdefault("machine", machine())
    data["machine"]["torch_threads"] = 2
    data.setdefault("workloads", {
        "braille": "both 03_rnn graphs, T=256, B=140, binary input p=0.2",
        "cnn": "02_cnn/cnn_sinabs.nir, T=300, B=16, input (2,34,34) binary p=0.05"})
    data.setdefault("envs", {})[env] = {"versions": vers,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    data.setdefault("results", {}).update(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
