"""The ideal (exact) solver, timed side by side with references in the same run.

Sections (``--only NAME`` runs one):

* ``independent``: 1000 independent LIF, random step inputs, 0.1 s (~23 000 spikes), the default
  call ``jax.jit(lambda x: simulate(g, {"input": x}, dt=1e-4, t1=0.1, reset="subtract"))``
  against two closed-form references written here: a *global event loop* (one iteration per
  spike over all neurons) and the *per-neuron* closed form vmapped over the neurons. Also the
  call recording spike times only, and the global loop of nirjax (``decompose=False``).
* ``feedforward``: 100 -> 100 LIF with impulse synapses; decomposed vs global loop.
* ``cnn``: the NIR paper CNN (``cnn_sinabs.nir``), one N-MNIST-like sample of 300 frames fed as
  spikes; decomposed vs global loop.
* ``braille``: both braille graphs (recurrent CubaLIF), decomposed vs global loop.
* ``scaling``: Input(100, Poisson 20 Hz) -> Linear -> LIF(N), N = 10^2 .. 10^5 (each LIF ~10 Hz),
  the default call; wall time, us per spike and peak memory (XLA's buffer assignment and the
  process's peak RSS, each size in its own process); table + plot.

Every figure is a median over repeats after a warm-up (compile time reported separately);
ratios compare numbers measured in this run. Records the JAX backend and device.

Run: ``python benchmarks/bench_ideal.py [--out FILE.json] [--plot FILE.png] [--only SECTION]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import nir  # noqa: E402
import numpy as np  # noqa: E402

import nirjax  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("NIRJAX_SHARED", os.path.join(HERE, "..", "..", "shared"))


def machine():
    dev = jax.devices()[0]
    return {"host": platform.node(), "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "jax": jax.__version__, "backend": jax.default_backend(), "device": str(dev),
            "device_kind": getattr(dev, "device_kind", None), "x64": bool(jax.config.jax_enable_x64),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def timed(fn, *args, repeats=5):
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - t)
    return out, first, statistics.median(runs)


def lif_graph(n, tau=0.01, w=None, n_in=None):
    nodes = {"input": nir.Input(np.array([n_in or n])),
             "lif": nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                            v_reset=np.zeros(n)),
             "output": nir.Output(np.array([n]))}
    edges = [("lif", "output")]
    if w is None:
        edges.append(("input", "lif"))
    else:
        nodes["w"] = nir.Linear(weight=w)
        edges += [("input", "w"), ("w", "lif")]
    return nirjax.load(nir.NIRGraph(nodes=nodes, edges=edges), warn=False)


def step_inputs(rng, steps, n, low, high, hold):
    """Piecewise-constant currents: a new random level every `hold` steps per neuron."""
    levels = rng.uniform(low, high, size=(steps // hold + 1, n))
    return np.repeat(levels, hold, axis=0)[:steps]


# -- closed-form references (LIF, r = 1, v_leak = 0, theta = 1, reset to 0) --------------------
def reference_global(x, dt, tau, k_max):
    """One event loop over all neurons: each iteration finds the earliest crossing of any
    neuron (closed form) or the next input change, advances every neuron there and fires.
    Returns spike times (n, k_max) and the number of iterations."""
    steps, n = x.shape
    change = np.concatenate([[True], np.any(x[1:] != x[:-1], axis=1)])
    t_change = jnp.asarray(np.append(np.nonzero(change)[0][1:], steps) * dt)  # next change after each segment
    seg_x = jnp.asarray(x[np.nonzero(change)[0]])

    def body(c):
        t, v, seg, cnt, times, it = c
        xin = seg_x[seg]
        t_end = t_change[seg]
        root = jnp.where(xin > 1.0, tau * jnp.log((xin - v) / (xin - 1.0)), jnp.inf)
        j = jnp.argmin(root)
        s = jnp.minimum(root[j], t_end - t)
        fire = root[j] <= t_end - t
        v = xin + (v - xin) * jnp.exp(-s / tau)
        t = t + s
        v = jnp.where(fire, v.at[j].set(0.0), v)
        times = jnp.where(fire, times.at[j, jnp.minimum(cnt[j], k_max - 1)].set(t), times)
        cnt = jnp.where(fire, cnt.at[j].add(1), cnt)
        seg = jnp.where(fire, seg, seg + 1)
        return t, v, seg, cnt, times, it + 1

    def run():
        c = (jnp.array(0.0), jnp.zeros(n), jnp.array(0), jnp.zeros(n, jnp.int32), jnp.full((n, k_max), jnp.inf),
             jnp.array(0))
        c = jax.lax.while_loop(lambda c: c[2] < seg_x.shape[0], body, c)
        return c[4], c[5]

    return jax.jit(run)


def reference_per_neuron(x, dt, tau, k_max):
    """The same, one neuron at a time (its own crossings and input changes), vmapped over neurons."""
    steps, n = x.shape

    def one(xs):
        change = jnp.concatenate([jnp.array([True]), xs[1:] != xs[:-1]])
        idx = jnp.where(change, jnp.arange(steps), steps)
        nxt = jnp.concatenate([jax.lax.cummin(idx[::-1])[::-1][1:], jnp.array([steps])])

        def body(c):
            t, v, k, cnt, times = c
            xin = xs[k]
            t_end = nxt[k] * dt
            root = jnp.where(xin > 1.0, tau * jnp.log((xin - v) / (xin - 1.0)), jnp.inf)
            fire = t + root <= t_end
            s = jnp.where(fire, root, t_end - t)
            v = jnp.where(fire, 0.0, xin + (v - xin) * jnp.exp(-s / tau))
            t = t + s
            times = jnp.where(fire, times.at[jnp.minimum(cnt, k_max - 1)].set(t), times)
            return t, v, jnp.where(fire, k, nxt[k]), cnt + fire, times

        c = (jnp.array(0.0), jnp.array(0.0), jnp.array(0), jnp.array(0), jnp.full((k_max,), jnp.inf))
        return jax.lax.while_loop(lambda c: c[2] < steps, body, c)[4]

    return jax.jit(lambda x: jax.vmap(one, in_axes=1)(x))


def bench_independent(rng, n=1000, steps=1000, dt=1e-4, tau=0.01):
    g = lif_graph(n, tau)
    x = step_inputs(rng, steps, n, 1.5, 4.5, 100)
    xj = jnp.asarray(x)
    out = {"neurons": n, "steps": steps}
    default = jax.jit(lambda x: nirjax.simulate(g, {"input": x}, dt=dt, t1=steps * dt, reset="subtract"))
    sol, first, med = timed(default, xj)
    spikes = int(jnp.sum(sol.spike_counts["lif"]))
    out["spikes"] = spikes
    out["default_call"] = {"first_call_s": first, "run_s": med, "us_per_spike": 1e6 * med / spikes,
                           "loop_iterations": int(sol.stats["events"])}
    times_only = jax.jit(lambda x: nirjax.simulate(g, {"input": x}, dt=dt, t1=steps * dt, reset="subtract",
                                                   record="spike_times"))
    s2, first, med = timed(times_only, xj)
    out["record_spike_times"] = {"first_call_s": first, "run_s": med, "us_per_spike": 1e6 * med / spikes}
    ref_g = reference_global(x, dt, tau, 64)
    (t_ref, it), first, med = timed(ref_g)
    out["reference_global_loop"] = {"first_call_s": first, "run_s": med, "us_per_spike": 1e6 * med / spikes,
                                    "iterations": int(it)}
    ref_n = reference_per_neuron(x, dt, tau, 64)
    t_n, first, med = timed(ref_n, xj)
    out["reference_per_neuron"] = {"first_call_s": first, "run_s": med, "us_per_spike": 1e6 * med / spikes}
    glob_loop = jax.jit(lambda x: nirjax.simulate(g, {"input": x}, dt=dt, t1=steps * dt, reset="subtract",
                                                  decompose=False, record="spike_times"))
    s3, first, med = timed(glob_loop, xj, repeats=3)
    out["nirjax_global_loop"] = {"first_call_s": first, "run_s": med, "us_per_spike": 1e6 * med / spikes}
    # all four agree (the references are exact too)
    a = np.asarray(sol.spike_times["lif"])[:, :64]
    out["max_time_diff_vs_references"] = float(max(
        np.nanmax(np.abs(np.where(np.isfinite(a), a - np.asarray(t_ref), 0.0))),
        np.nanmax(np.abs(np.where(np.isfinite(a), a - np.asarray(t_n), 0.0)))))
    out["ratio_default_vs_global_closed_form"] = out["default_call"]["run_s"] / out["reference_global_loop"]["run_s"]
    out["ratio_default_vs_per_neuron"] = out["default_call"]["run_s"] / out["reference_per_neuron"]["run_s"]
    out["ratio_spike_times_vs_per_neuron"] = out["record_spike_times"]["run_s"] / out["reference_per_neuron"]["run_s"]
    out["ratio_nirjax_global_vs_global_closed_form"] = (out["nirjax_global_loop"]["run_s"]
                                                        / out["reference_global_loop"]["run_s"])
    return out


def _side_by_side(g, inputs, kw, repeats=3):
    res = {}
    for name, dec in (("decomposed", True), ("global_loop", False)):
        fn = jax.jit(lambda inp: nirjax.simulate(g, inp, decompose=dec, **kw))
        sol, first, med = timed(fn, inputs, repeats=repeats)
        res[name] = {"first_call_s": first, "run_s": med,
                     "spikes": {k: int(jnp.sum(v)) for k, v in sol.spike_counts.items()}}
    assert res["decomposed"]["spikes"] == res["global_loop"]["spikes"]
    res["speedup"] = res["global_loop"]["run_s"] / res["decomposed"]["run_s"]
    return res


def bench_feedforward(rng, n=100, steps=1000, dt=1e-4):
    w = rng.normal(0.0, 0.15, size=(n, n)) + 0.05
    g = nirjax.load(nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n])),
               "lif1": nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                               v_reset=np.zeros(n)),
               "w": nir.Linear(weight=w),
               "lif2": nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                               v_reset=np.zeros(n)),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "lif1"), ("lif1", "w"), ("w", "lif2"), ("lif2", "output")]), warn=False)
    x = jnp.asarray(step_inputs(rng, steps, n, 1.5, 4.5, 100))
    return {"neurons": 2 * n, "steps": steps,
            **_side_by_side(g, {"input": x}, dict(dt=dt, spike_area=2e-3, max_spikes=64))}


def bench_cnn(rng, frames=300, dt=1e-3):
    g = nirjax.load(os.path.join(SHARED, "nir-paper", "02_cnn", "cnn_sinabs.nir"), warn=False)
    raster = (rng.random((frames, 2, 34, 34)) < 0.03).astype(float)  # event-camera-like: sparse frames
    sp = nirjax.Spikes.from_raster(raster, dt=dt, k=frames)
    return {"frames": frames, "input_spikes": int(raster.sum()),
            **_side_by_side(g, {"input": sp}, dict(dt=dt, t1=frames * dt, record="spike_times"),
                            repeats=2)}


def bench_braille(rng):
    out = {}
    for name in ("braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"):
        g = nirjax.load(os.path.join(SHARED, "nir-paper", "03_rnn", name + ".nir"), warn=False)
        x = jnp.asarray((rng.random((256, 12)) < 0.2).astype(float))
        reset = "subtract" if "subtract" in name else None
        out[name] = _side_by_side(g, {"input": x}, dict(dt=1e-4, spike_area=1e-4, reset=reset), repeats=5)
    return out


SCALING_SIZES = (100, 1000, 10_000, 100_000)


def scaling_point(n, t1=0.1, dt=1e-3, seed=0):
    """One size, in this process: Input(100 Poisson 20 Hz) -> Linear(100 -> n) -> LIF(n)."""
    rng = np.random.default_rng(seed)
    n_in, rate = 100, 20.0
    w = rng.normal(0.0055, 0.002, size=(n, n_in))
    g = lif_graph(n, tau=0.02, w=w, n_in=n_in)
    lists = [np.sort(rng.uniform(0, t1, rng.poisson(rate * t1))) for _ in range(n_in)]
    sp = nirjax.Spikes.from_lists(lists, k=max(1, max(len(x) for x in lists)))
    fn = jax.jit(lambda sp: nirjax.simulate(g, {"input": sp}, dt=dt, t1=t1, spike_area=0.1))
    mem = fn.lower(sp).compile().memory_analysis()
    sol, first, med = timed(fn, sp, repeats=3)
    spikes = int(jnp.sum(sol.spike_counts["lif"]))
    return {"neurons": n, "input_spikes": int(sum(len(x) for x in lists)), "spikes": spikes,
            "rate_hz": spikes / n / t1, "first_call_s": first, "run_s": med,
            "us_per_spike": 1e6 * med / max(spikes, 1), "ns_per_neuron": 1e9 * med / n,
            "xla_temp_bytes": getattr(mem, "temp_size_in_bytes", None),
            "xla_output_bytes": getattr(mem, "output_size_in_bytes", None),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def bench_scaling(plot=None, max_neurons=None):
    rows = []
    for n in SCALING_SIZES:
        if max_neurons and n > max_neurons:
            continue
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--scaling-point", str(n)],
                             capture_output=True, text=True, timeout=3600)
        if res.returncode != 0:
            rows.append({"neurons": n, "error": res.stderr[-2000:]})
            continue
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    table = ["| neurons | spikes | run (s) | us / spike | ns / neuron | XLA temp (MiB) | peak RSS (MiB) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            table.append(f"| {r['neurons']} | failed | | | | | |")
            continue
        table.append(f"| {r['neurons']} | {r['spikes']} | {r['run_s']:.4f} | {r['us_per_spike']:.2f} | "
                     f"{r['ns_per_neuron']:.1f} | {(r['xla_temp_bytes'] or 0) / 2**20:.1f} | "
                     f"{r['peak_rss_bytes'] / 2**20:.0f} |")
    if plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            ok = [r for r in rows if "error" not in r]
            fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
            ns = [r["neurons"] for r in ok]
            ax[0].loglog(ns, [r["run_s"] for r in ok], "o-", label="decomposed exact solver")
            ax[0].loglog(ns, [ok[0]["run_s"] * n / ns[0] for n in ns], "k:", label="linear")
            ax[0].set_xlabel("neurons")
            ax[0].set_ylabel("run time (s)")
            ax[0].legend()
            ax[1].loglog(ns, [r["peak_rss_bytes"] / 2**20 for r in ok], "o-", label="peak RSS")
            ax[1].loglog(ns, [max(r["xla_temp_bytes"] or 1, 1) / 2**20 for r in ok], "s-", label="XLA temp buffers")
            ax[1].set_xlabel("neurons")
            ax[1].set_ylabel("MiB")
            ax[1].legend()
            fig.suptitle(f"Input(100, 20 Hz) -> Linear -> LIF(N), 0.1 s; {jax.default_backend()}")
            fig.tight_layout()
            fig.savefig(plot, dpi=120)
        except ImportError:
            pass
    return {"rows": rows, "table": "\n".join(table)}


SECTIONS = ("independent", "feedforward", "cnn", "braille", "scaling")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None, help="scaling plot (PNG)")
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--max-neurons", type=int, default=None, help="largest size of the scaling sweep")
    ap.add_argument("--scaling-point", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scaling_point is not None:
        print(json.dumps(scaling_point(args.scaling_point)))
        return 0
    rng = np.random.default_rng(0)
    res = {"machine": machine()}
    for name in args.only or SECTIONS:
        t = time.perf_counter()
        if name == "scaling":
            res[name] = bench_scaling(args.plot, args.max_neurons)
        else:
            res[name] = globals()[f"bench_{name}"](rng)
        res[name]["section_wall_s"] = time.perf_counter() - t
        print(json.dumps({name: res[name]}, indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
