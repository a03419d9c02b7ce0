"""Run by test_paper_graphs in a subprocess (so XLA_FLAGS can be set): vmap over 64
braille inputs against a Python loop of the same jitted function. Prints JSON."""

import json
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nirjax  # noqa: E402

path, reset = sys.argv[1], (sys.argv[2] if sys.argv[2] != "none" else None)
g = nirjax.load(path, warn=False)
rng = np.random.default_rng(1)
xs = jnp.asarray((rng.random((64, 256, 12)) < 0.15).astype(float))
f = jax.jit(lambda x: nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=g.suggested_spike_area, reset=reset))
batched = jax.vmap(f)(xs)
out = {"count_diff": 0, "time_diff": 0.0, "v_diff": 0.0, "spikes": 0}
for i in range(64):
    s = f(xs[i])
    for n in ("lif1.lif", "lif2"):
        a, b = np.asarray(batched.spike_times[n][i]), np.asarray(s.spike_times[n])
        out["count_diff"] += int(np.abs(np.asarray(batched.spike_counts[n][i]) - np.asarray(s.spike_counts[n])).sum())
        out["spikes"] += int(np.asarray(s.spike_counts[n]).sum())
        same_inf = np.array_equal(np.isinf(a), np.isinf(b))
        d = np.abs(a[np.isfinite(a)] - b[np.isfinite(b)]) if same_inf else np.array([np.inf])
        out["time_diff"] = max(out["time_diff"], float(d.max(initial=0.0)))
        out["v_diff"] = max(out["v_diff"], float(np.abs(np.asarray(batched.states[n]["v"][i]) - np.asarray(s.states[n]["v"])).max()))
print(json.dumps(out))
