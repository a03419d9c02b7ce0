"""Per-step recordings of the exact solver, rebuilt after the event loops.

The loops do no per-step work. For a node whose per-step states are requested, a loop
logs, for every neuron and step, the neuron's last *anchor* in that step (time and state
just after its last event there). The state at the end of step ``k`` (the left limit at
``ts[k] = t0 + (k+1) dt``, DESIGN.md) is then the closed-form flow from the last anchor
logged at or before step ``k``, under the drive of step ``k`` (drive changes are anchors
too, so the drive is constant in between). Per-step spike counts are binned from the
spike times with the solver's own step boundaries (:func:`._trains.bin_times`).

:func:`estimate_bytes` sizes what a run will hold, so that a run that cannot fit is
refused with the estimate before anything is allocated.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

RECORDABLE = ("spike_times", "spikes", "states")


def states_from_log(node, log_t, log_s, drive_seq, bounds, n_steps, init):
    """``(steps, *shape)`` states at the step ends from an anchor log ``(steps, N)``.

    Every neuron's first anchor (``t0``) is logged when it leaves step 0, which every run
    does; only a run that did not simulate (invalid values) has none, and then keeps
    ``init``, its initial state, for every step."""
    shape = node.shape
    written = log_t > -jnp.inf
    rows = jnp.arange(n_steps)[:, None]
    idx = jax.lax.cummax(jnp.where(written, rows, -1), axis=0)
    none = jnp.reshape(idx < 0, (n_steps, *shape))
    idx = jnp.maximum(idx, 0)
    t_a = jnp.take_along_axis(log_t, idx, axis=0)
    s_a = {v: jnp.reshape(jnp.take_along_axis(a, idx, axis=0), (n_steps, *shape)) for v, a in log_s.items()}
    ds = jnp.reshape(bounds[1:][:, None] - t_a, (n_steps, *shape))
    ds = jnp.where(none, 0.0, ds)
    out = jax.vmap(node.flow)(s_a, drive_seq, ds)
    return {v: jnp.where(none, jnp.broadcast_to(init[v], out[v].shape), out[v]) for v in out}


def estimate_bytes(net, record, *, n_steps, max_spikes, itemsize, decompose, method):
    """Bytes held by a run: recorded arrays, spike-time buffers and (for recorded states)
    the anchor logs. Returns ``(total, {what: bytes})``."""
    parts = {}
    for n, node in net.nodes.items():
        size = math.prod(node.shape) if hasattr(node, "shape") else 0
        kinds = record.get(n, ())
        spiking = getattr(node, "spiking", False) or type(node).__name__ == "Threshold"
        if spiking:
            # times + waves for every spiking node (they feed the next components)
            k = max_spikes if isinstance(max_spikes, int) else dict(max_spikes)[n]
            parts[f"{n}: spike-time buffer ({size} x {k})"] = size * k * (itemsize + 4)
        if "spikes" in kinds:
            parts[f"{n}: per-step spike counts ({n_steps} x {size})"] = n_steps * size * 4
        nvars = sum(1 for v in getattr(node, "state_vars", ()) if v in kinds)
        if nvars:
            per = n_steps * size * itemsize
            parts[f"{n}: per-step states ({n_steps} x {size} x {nvars})"] = per * nvars
            if decompose and method == "exact":
                parts[f"{n}: anchor log for the states"] = per * (len(node.state_vars) + 1)
    return sum(parts.values()), parts


def available_bytes():
    """Memory the default JAX device can still allocate (None if unknown)."""
    try:
        dev = jax.devices()[0]
        stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
    except Exception:  # pragma: no cover - backend without stats
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        return None
    return None
