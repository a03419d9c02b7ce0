"""Where a Yin-Yang training step's time goes (one run, same machine, same batch):

    python benchmarks/bench_training_parts.py [--hidden 100] [--batch 64]

Times (fastest of 10, after compilation) the reproduction's loss on one batch forward only and with
its gradient (``paper_reproductions/02_yinyang/yinyang.py``'s ``batch_loss``), and the vmapped ideal
simulation the loss makes with and without the output layer's per-step ``v`` (what the silent-neuron
rule reads for its peak). Compare with ``benchmarks/bench_training.py --jaxsnn`` for the whole epoch.
"""

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp

import nirjax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training import _yinyang_module  # noqa: E402  (the reproduction module, as the epoch benchmark loads it)


def fastest_ms(f, *args, repeats=10):
    jax.block_until_ready(f(*args))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(*args))
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    yy = _yinyang_module()
    cfg = dict(yy.CONFIG, hidden=args.hidden, batch=args.batch)
    xtr, ytr = yy.dataset("train", cfg)
    x, y = jnp.asarray(xtr[: args.batch], jnp.float32), jnp.asarray(ytr[: args.batch])
    net = nirjax.load(yy.init_graph(cfg), warn=False)
    params, static = yy.split_params(net)
    _, _, batch_loss = yy.make_ideal_fns(static, cfg, None)
    out = {
        "loss_forward_ms": fastest_ms(jax.jit(lambda p: batch_loss(p, x, y)[0]), params),
        "loss_value_and_grad_ms": fastest_ms(jax.jit(jax.value_and_grad(lambda p: batch_loss(p, x, y)[0])), params),
    }
    node = cfg["output_node"]
    for key, rec in (("simulate_spike_times_and_v_ms", (node, ("spike_times", "v"))),
                     ("simulate_spike_times_only_ms", (node, "spike_times"))):
        def one(t, rec=rec):
            sol = nirjax.simulate(net, {"input": nirjax.Spikes(t[:, None])}, dt=cfg["record_dt"], t1=cfg["t1"],
                                  spike_area=cfg["platform_dt"], max_spikes=cfg["max_spikes"],
                                  max_cascade=cfg["max_cascade"], throw=False, record=dict([rec]))
            return sol.spike_times[node][..., 0]

        out[key] = fastest_ms(jax.jit(jax.vmap(one)), x)
    out.update(hidden=args.hidden, batch=args.batch, device=str(jax.devices()[0]), jax=jax.__version__)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
