"""The anchor: jaxsnn 0.3.0's Yin-Yang "layered" EventProp example on the standard Yin-Yang data.

Runs in jaxsnn's own environment (never nirjax's), e.g.::

    python3 -m venv .peers/jaxsnn && .peers/jaxsnn/bin/pip install -c .peers/constraints.txt jaxsnn==0.3.0
    .peers/jaxsnn/bin/python benchmarks/jaxsnn_yinyang.py --data yinyang.npz --epochs 5 --json out.json

``benchmarks/bench_training.py --jaxsnn PYTHON`` writes the data file (nirjax's generator: the
published Kriener et al. splits) and runs this script in the same run. The set-up is the one of
``jaxsnn/examples/event/yinyang_layered_event_prop.py`` (0.3.0) with its defaults: LIF (current
based, tau_mem 12 us, tau_syn 6 us, one spike per neuron via v_reset = -1000), 5 -> 100 -> 3,
inputs x, y, 1-x, 1-y, bias at t = feature * 2 tau_syn (bias at 0) each duplicated 5 times,
MSE on first-spike times against 0.8 / 1.2 tau_syn targets, EventProp gradients, Adam 5e-3
with decay 0.99 per epoch after scale(1/tau_syn) and clip(0.01), batch 64. Only the data differ
(the published train set instead of jaxsnn's own sampler).

Writes ``{"seconds_per_epoch": median of the epochs after the first, "epoch_seconds": [...],
"test_accuracy": [...per epoch], "jax": version, "device": ...}``. An epoch is one pass of
training updates over the training set (78 batches of 64), timed to completion
(``jax.block_until_ready``); the test pass is timed apart.
"""

import argparse
import json
import statistics
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import random

from jaxsnn.base.dataset import data_loader
from jaxsnn.event.encode import encode, spatio_temporal_encode, target_temporal_encode
from jaxsnn.event.loss import mse_loss
from jaxsnn.event.modules import LIF, Linear, Source
from jaxsnn.event.modules.lif.lif import LIFParameters
from jaxsnn.event.topology import Topology
from jaxsnn.event.training import update
from jaxsnn.event.types import OptState
from jaxsnn.examples.event.utils import loss_wrapper, test_step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help=".npz with train_x (N,5), train_y, test_x, test_y")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()

    d = np.load(args.data)
    tau_mem, tau_syn, t_late = 12e-6, 6e-6, 2.0 * 6e-6
    params = LIFParameters(v_reset=-1000.0, v_th=1.0, tau_syn=tau_syn, tau_mem=tau_mem)
    n_train = (len(d["train_y"]) // args.batch) * args.batch
    n_test = (len(d["test_y"]) // args.batch) * args.batch
    train = (jnp.asarray(d["train_x"][:n_train], jnp.float32), jnp.asarray(d["train_y"][:n_train]))
    test = (jnp.asarray(d["test_x"][:n_test], jnp.float32), jnp.asarray(d["test_y"][:n_test]))

    enc_in = jax.jit(jax.vmap(partial(spatio_temporal_encode, t_late=t_late, duplication=5, duplicate_neurons=False)))
    enc_t = jax.jit(jax.vmap(partial(target_temporal_encode, n_classes=3, correct_target_time=0.8 * tau_syn,
                                     wrong_target_time=1.2 * tau_syn)))
    trainset = encode(train, enc_in, enc_t)
    testset = encode(test, enc_in, enc_t)
    trainset = ({"inp": trainset[0]}, trainset[1])
    testset = ({"inp": testset[0]}, testset[1])

    builder = Topology(t_max=4.0 * tau_syn, backprop_method="eventprop")
    builder.add({
        "inp": Source(5),
        "lif1": LIF(args.hidden, args.hidden + 25, params),
        "lif2": LIF(3, args.hidden + 3, params),
        "syn1": Linear(mean=3.0 / 5, std=1.6 / 5, min_delay=0.0),
        "syn2": Linear(mean=0.5, std=0.8, min_delay=0.0),
    })
    builder.connect([("inp", "syn1"), ("syn1", "lif1"), ("lif1", "syn2"), ("syn2", "lif2")])
    init_fn, apply_fn = builder.done()
    rng = random.PRNGKey(args.seed)
    param_rng, rng = random.split(rng)
    weights = init_fn(param_rng)
    n_batches = n_train // args.batch
    opt = optax.chain(optax.scale(1.0 / tau_syn), optax.clip(0.01),
                      optax.adam(optax.exponential_decay(0.005, n_batches, 0.99)))
    state = OptState(opt.init(weights), weights, rng)
    loss_fn = partial(loss_wrapper, apply_fn, mse_loss, tau_mem, "lif2", 3)
    update_fn = jax.jit(partial(update, opt, loss_fn))
    test_fn = partial(test_step, loss_fn)

    times, test_times, accs = [], [], []
    for ep in range(args.epochs):
        rng, train_rng, test_rng = random.split(state.rng, 3)
        batches = data_loader(trainset, args.batch, rng=train_rng)
        jax.block_until_ready(batches)
        t = time.perf_counter()
        state, _ = jax.lax.scan(update_fn, state, batches)
        jax.block_until_ready(state.params)
        times.append(time.perf_counter() - t)
        state = OptState(state.opt_state, state.params, rng)
        t = time.perf_counter()
        res, _ = test_fn(state.params, data_loader(testset, args.batch, rng=test_rng))
        accs.append(float(res[1]))
        test_times.append(time.perf_counter() - t)
        print(f"jaxsnn epoch {ep + 1}: {times[-1]:.2f} s, test accuracy {accs[-1]:.4f}", flush=True)
    out = {
        "framework": "jaxsnn 0.3.0 (EventProp, layered example set-up)",
        "seconds_per_epoch": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "compile_seconds": times[0] - (statistics.median(times[1:]) if len(times) > 1 else 0.0),
        "epoch_seconds": times, "test_seconds": test_times, "test_accuracy": accs,
        "train_samples": n_train, "test_samples": n_test, "batch": args.batch, "hidden": args.hidden,
        "jax": jax.__version__, "device": str(jax.devices()[0]),
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps({k: out[k] for k in ("seconds_per_epoch", "test_accuracy")}))


if __name__ == "__main__":
    main()
