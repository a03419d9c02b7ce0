"""Why platform-aware fine-tuning does not recover the forward-Euler platforms (issue 9 leftover).

    python benchmarks/finetune_diagnostic.py DIR/model.nir [--platform euler] [--lr 1e-5] [--epochs 1]
                                             [--alpha 0.02] [--beta 5e-3]

On a trained Yin-Yang model (``nirjax reproduce yinyang --out DIR``), for one platform model:

1. one batch of 512 training samples: the cosine between the surrogate gradient of the fine-tuning
   loss (through the platform model) and the ideal model's exact gradient, per weight matrix, and the
   platform's fine-tuning loss and accuracy and the ideal loss after a step along each (normalised,
   negative) gradient;
2. on the published validation split: accuracy, tied first output steps and silent samples before and
   after ``--epochs`` of the reproduction's own fine-tuning (``finetune``) at ``--lr``, with the loss's
   regulariser weights ``--alpha``/``--beta`` (0 and 0: cross-entropy only).
"""

import argparse
import json
import os
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import nirjax
from nirjax import training as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training import _yinyang_module  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--platform", default="euler")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--beta", type=float, default=None)
    args = ap.parse_args()
    yy = _yinyang_module()
    cfg = dict(yy.CONFIG, finetune_lr=args.lr, finetune_epochs=args.epochs)
    for k in ("alpha", "beta"):
        if getattr(args, k) is not None:
            cfg[f"loss_{k}"] = getattr(args, k)
    name, node = args.platform, cfg["output_node"]
    dt = cfg["platform_dt"]
    steps = int(round(cfg["t1"] / dt))
    xtr, ytr = yy.dataset("train", cfg)
    xva, yva = T.yinyang("validation")
    xva = yy.encode(xva, cfg)
    net = nirjax.load(args.model, warn=False)
    params, static = yy.split_params(net)
    out = {"platform": name, "lr": args.lr, "epochs": args.epochs, "alpha": cfg["loss_alpha"], "beta": cfg["loss_beta"]}

    # 1. gradients on one batch
    x, y = jnp.asarray(xtr[:512], jnp.float32), jnp.asarray(ytr[:512])
    xr = jnp.asarray(T.raster(np.asarray(xtr[:512]), dt=dt, steps=steps))
    _, _, ideal_loss = yy.make_ideal_fns(static, cfg, None)

    def plat(p):
        n = eqx.combine(p, static)
        sp = jax.vmap(lambda xi: nirjax.simulate(n, {"input": xi}, dt=dt, platform=name, spike_area=dt,
                                                 record=("spikes",)).spikes[node], in_axes=1, out_axes=1)(xr)
        return jnp.mean(yy.sample_objective(T.stepped_first_spike_time(sp, dt=dt), y, cfg)), jnp.mean(T.predict_stepped(sp) == y)

    f = jax.jit(plat)
    g_s = jax.jit(jax.grad(lambda p: plat(p)[0]))(params)
    g_i = jax.jit(jax.grad(lambda p: ideal_loss(p, x, y)[0]))(params)
    out["cosine_surrogate_vs_ideal"] = [float(np.ravel(a) @ np.ravel(b) / (np.linalg.norm(a) * np.linalg.norm(b)))
                                        for a, b in zip(jax.tree.leaves(g_s), jax.tree.leaves(g_i))]
    fi = jax.jit(lambda p: ideal_loss(p, x, y)[0])
    out["batch"] = {"platform_loss_accuracy": [float(v) for v in f(params)], "ideal_loss": float(fi(params))}
    for label, g in (("surrogate", g_s), ("ideal", g_i)):
        norm = np.sqrt(sum(float(jnp.sum(a ** 2)) for a in jax.tree.leaves(g)))
        steps_out = {}
        for eta in (1e-4, 3e-4, 1e-3):
            p2 = jax.tree.map(lambda p, g: p - eta * g / norm, params, g)
            steps_out[f"{eta:g}"] = {"platform_loss_accuracy": [float(v) for v in f(p2)], "ideal_loss": float(fi(p2))}
        out[f"step_along_{label}"] = steps_out

    # 2. validation before / after fine-tuning
    rva = jnp.asarray(T.raster(np.asarray(xva), dt=dt, steps=steps))

    def stats(n):
        sp = np.asarray(jax.jit(jax.vmap(lambda xi: nirjax.simulate(n, {"input": xi}, dt=dt, platform=name, spike_area=dt,
                                                                     record=("spikes",)).spikes[node],
                                         in_axes=1, out_axes=1))(rva))
        first = np.where(sp.any(0), sp.argmax(0), steps)
        m = first.min(1)
        pred = np.where(m < steps, first.argmin(1), -1)
        return {"accuracy": float(np.mean(pred == np.asarray(yva))),
                "tied_first_steps": int(np.sum(((first == m[:, None]).sum(1) >= 2) & (m < steps))),
                "silent": int(np.sum(m == steps))}

    out["validation_before"] = stats(net)
    tuned, _ = yy.finetune(net, name, T.raster(np.asarray(xtr), dt=dt, steps=steps), ytr, cfg, validation=None, log=False)
    out["validation_after"] = stats(tuned)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
