"""Space-to-depth vs direct channels-last convolution, per step inside a ``lax.scan``
(the executor's situation): batch 16, 100 steps, float32. Sets the
``S2D_MAX_CHANNELS`` rule of ``solvers/_channels_last.py``.

Run: ``.venv/bin/python benchmarks/bench_conv.py [--out benchmarks/results/conv_vm.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform as _pf
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nirjax.semantics.maps import Conv, conv_out_shape  # noqa: E402
from nirjax.solvers import _channels_last as cl  # noqa: E402

CASES = [  # (C_in, H, kernel, stride, C_out)
    (2, 34, 5, 2, 16), (2, 64, 3, 2, 16), (4, 32, 3, 2, 16), (8, 32, 3, 2, 32),
    (16, 32, 3, 2, 32), (32, 16, 3, 2, 64), (3, 64, 7, 2, 32), (2, 34, 4, 4, 16),
]


def median_time(f, x, repeats=5):
    jax.block_until_ready(f(x))
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(x))
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    res = {"machine": {"platform": _pf.platform(), "cpu_count": os.cpu_count(), "jax": jax.__version__},
           "setup": "batch 16, 100 steps, binary input p=0.1, float32, padding 1", "results": {}}
    for c, h, k, s, o in CASES:
        pad = ((1, 1), (1, 1))
        w = rng.standard_normal((o, c, k, k)).astype(np.float32)
        m = Conv(weight=jnp.asarray(w), bias=jnp.zeros(o, jnp.float32), stride=(s, s), padding=pad, dilation=(1, 1),
                 groups=1, in_shape=(c, h, h), out_shape=conv_out_shape((c, h, h), w.shape, (s, s), pad, (1, 1)))
        x = jnp.asarray(rng.random((100, 16, c, h, h)) < 0.1, jnp.float32)
        w_hwio = jnp.transpose(m.weight, (2, 3, 1, 0))
        w_s2d = cl.kernel(m, jnp.float32) if cl._space_to_depth(m) else _forced_s2d_kernel(m)
        z0 = jnp.zeros((16, *cl.hwc_shape(m.out_shape)), jnp.float32)

        def direct(xt):
            return jax.lax.conv_general_dilated(jnp.transpose(xt, (0, 2, 3, 1)), w_hwio, m.stride, m.padding,
                                                dimension_numbers=("NHWC", "HWIO", "NHWC"))

        def s2d(xt):
            return jax.vmap(lambda xi: _forced_s2d(m, w_s2d, cl.to_hwc(xi)))(xt)

        t = {}
        for name, f in (("direct", direct), ("space_to_depth", s2d)):
            run = jax.jit(lambda xs, f=f: jax.lax.scan(lambda acc, xt: (acc + f(xt), None), z0, xs)[0])
            t[name] = median_time(run, x)
        key = f"C_in={c} H={h} k={k} s={s} C_out={o}"
        res["results"][key] = {"direct_s": t["direct"], "space_to_depth_s": t["space_to_depth"],
                               "speedup": t["direct"] / t["space_to_depth"], "rule_uses_s2d": cl._space_to_depth(m)}
        print(f"{key:34s} direct {t['direct'] * 1e3:7.1f} ms  space-to-depth {t['space_to_depth'] * 1e3:7.1f} ms  "
              f"x{t['direct'] / t['space_to_depth']:.2f}  (rule: {'s2d' if cl._space_to_depth(m) else 'direct'})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


@contextlib.contextmanager
def _always_s2d():
    """Space-to-depth whatever the channel count (for the measurement only)."""
    old = cl.S2D_MAX_CHANNELS
    cl.S2D_MAX_CHANNELS = 10**9
    try:
        yield
    finally:
        cl.S2D_MAX_CHANNELS = old


def _forced_s2d_kernel(m):
    with _always_s2d():
        return cl.kernel(m, jnp.float32)


def _forced_s2d(m, w, x):
    with _always_s2d():
        return cl.conv(m, w, x, bias=False)


if __name__ == "__main__":
    main()
