"""Events per second of the ideal (exact) solver.

(a) 1 000 independent LIF neurons, random step inputs, 0.1 s (about 23 000 spikes);
(b) a 100 -> 100 LIF feed-forward network with impulse synapses;
(c) compile time of the braille graph.

Run: ``.venv/bin/python benchmarks/bench_ideal.py [--out FILE.json]``.
Timings are medians of repeated runs after a warm-up; compile (first call)
is reported separately. ``us_per_event`` divides by the number of spikes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import nir  # noqa: E402
import numpy as np  # noqa: E402

import nirjax  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")


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


def step_inputs(rng, steps, n, low, high, hold):
    """Piecewise-constant currents: a new random level every `hold` steps per neuron."""
    levels = rng.uniform(low, high, size=(steps // hold + 1, n))
    x = np.repeat(levels, hold, axis=0)[:steps]
    return x


def bench_independent(rng, n=1000, steps=1000, dt=1e-4):
    tau = np.full(n, 0.01)
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "lif": nir.LIF(tau=tau, r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "lif"), ("lif", "output")],
    )
    net = nirjax.load(g)
    x = jnp.asarray(step_inputs(rng, steps, n, 1.5, 4.5, 100))
    fn = jax.jit(lambda net, x: nirjax.simulate(net, {"input": x}, dt=dt, max_spikes=64))
    sol, first, med = timed(fn, net, x)
    spikes = int(jnp.sum(sol.spike_counts["lif"]))
    return {"neurons": n, "steps": steps, "spikes": spikes, "loop_iterations": int(sol.stats["events"]),
            "first_call_s": first, "run_s": med, "us_per_event": 1e6 * med / spikes}


def bench_feedforward(rng, n=100, steps=1000, dt=1e-4):
    w = rng.normal(0.0, 0.15, size=(n, n)) + 0.05
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "lif1": nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
            "w": nir.Linear(weight=w),
            "lif2": nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "lif1"), ("lif1", "w"), ("w", "lif2"), ("lif2", "output")],
    )
    net = nirjax.load(g)
    x = jnp.asarray(step_inputs(rng, steps, n, 1.5, 4.5, 100))
    # impulse area 1 through w: a spike of lif1 moves lif2's v by w / tau_2
    fn = jax.jit(lambda net, x: nirjax.simulate(net, {"input": x}, dt=dt, spike_area=2e-3, max_spikes=64))
    sol, first, med = timed(fn, net, x)
    spikes = int(sum(jnp.sum(c) for c in sol.spike_counts.values()))
    return {"neurons": 2 * n, "steps": steps, "spikes": spikes, "spikes_per_layer": {k: int(jnp.sum(v)) for k, v in sol.spike_counts.items()},
            "loop_iterations": int(sol.stats["events"]), "first_call_s": first, "run_s": med, "us_per_event": 1e6 * med / spikes}


def bench_braille_compile(rng):
    out = {}
    for name in ("braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"):
        net = nirjax.load(os.path.join(SHARED, "nir-paper", "03_rnn", name + ".nir"), warn=False)
        x = jnp.asarray((rng.random((256, 12)) < 0.2).astype(float))
        reset = "subtract" if "subtract" in name else None
        fn = jax.jit(lambda net, x: nirjax.simulate(net, {"input": x}, dt=1e-4, spike_area=1e-4, reset=reset))
        t = time.perf_counter()
        fn.lower(net, x).compile()
        compile_s = time.perf_counter() - t
        sol, first, med = timed(fn, net, x)
        out[name] = {"compile_s": compile_s, "run_s": med, "spikes": int(sum(jnp.sum(c) for c in sol.spike_counts.values()))}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    res = {
        "machine": {"host": platform.node(), "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "jax": jax.__version__, "backend": jax.default_backend()},
        "independent_lif_1000": bench_independent(rng),
        "feedforward_100_100": bench_feedforward(rng),
        "braille": bench_braille_compile(rng),
    }
    print(json.dumps(res, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
