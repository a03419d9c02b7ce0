"""Spike trains passed between the components of the exact solver, and the time grid.

A :class:`Train` holds what one node (or input) emits, per element: ``times`` (ascending,
``+inf`` padded), the *wave* of each spike and its impulse area. The wave orders what
happens at one instant (DESIGN.md rule 7): an impulse emitted in cascade wave ``w``
reaches its consumers in wave ``w`` (after their threshold check of wave ``w``, before the
check of wave ``w + 1``), exactly as in the global event loop. External inputs, Threshold
spikes and Delay outputs arrive in wave 0; a change of the dense drive at ``t`` comes
before all of them (key ``(t, -1)``).

Events are ordered by their *key* ``(t, w)`` (lexicographic).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

NO_WAVE = np.iinfo(np.int32).max


def step_bounds(t0, dt, n_steps, dtype):
    """The step boundaries ``t0 + k dt`` (``k = 0 .. n_steps``), computed in float64 on the
    host and rounded once to ``dtype``. Every part of nirjax that places a time on the
    step grid (the solvers, the per-step rasters, :meth:`Spikes.from_raster`) uses these
    same numbers, so an impulse at step ``k`` lands exactly on its boundary."""
    return np.asarray(t0 + np.arange(n_steps + 1, dtype=np.float64) * dt).astype(dtype)


def step_of(bounds, t):
    """The step ``k`` with ``bounds[k] <= t < bounds[k + 1]`` (``n_steps`` at or after the
    end, -1 before the start): a guess from ``(t - t0) / dt`` corrected by comparing with
    the boundaries themselves, so the answer agrees with the solvers' comparisons."""
    n = bounds.shape[0] - 1
    t0, dt = bounds[0], (bounds[n] - bounds[0]) / n
    guess = jnp.floor((jnp.where(jnp.isfinite(t), t, t0) - t0) / dt)
    k = jnp.clip(guess, 0, n - 1).astype(jnp.int32)
    k = jnp.where(t < bounds[k], k - 1, k)
    k = jnp.where(t >= bounds[jnp.minimum(k + 1, n)], k + 1, k)
    k = jnp.clip(k, -1, n)
    return jnp.where(t >= bounds[n], n, jnp.where(t < bounds[0], -1, k)).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class Train:
    """Impulses emitted by one node: ``times``/``waves``/``areas`` of shape ``(M, K)``
    (elements flattened), ``shape`` the element shape."""

    times: jax.Array
    waves: jax.Array
    areas: jax.Array
    shape: tuple[int, ...]

    @property
    def slots(self):
        return self.times.shape[-1]

    def head(self, ptr):
        """Key ``(t, w)`` and area of each element's next impulse (``ptr``: (M,) index)."""
        k = self.slots
        idx = jnp.minimum(ptr, k - 1)[:, None]
        valid = ptr < k
        t = jnp.where(valid, jnp.take_along_axis(self.times, idx, axis=1)[:, 0], jnp.inf)
        w = jnp.where(valid, jnp.take_along_axis(self.waves, idx, axis=1)[:, 0], NO_WAVE)
        a = jnp.where(valid, jnp.take_along_axis(self.areas, idx, axis=1)[:, 0], 0.0)
        return t, w, a

    def pop(self, ptr, t, w):
        """The areas (element shape) of the impulses with key ``(t, w)`` and the advanced
        pointers. Each element emits at most one impulse per key."""
        nt, nw, na = self.head(ptr)
        hit = (nt == t) & (nw == w)
        return jnp.reshape(jnp.where(hit, na, 0.0), self.shape), ptr + hit.astype(ptr.dtype)


def lexmin(keys):
    """The smallest ``(t, w)`` of a list of scalar keys."""
    t = jnp.min(jnp.stack([k[0] for k in keys]))
    w = jnp.min(jnp.stack([jnp.where(k[0] == t, k[1], NO_WAVE) for k in keys]))
    return t, w


def train_key(train, ptr):
    """The smallest next key of a train."""
    t, w, _ = train.head(ptr)
    tm = jnp.min(t, initial=jnp.inf)
    wm = jnp.min(jnp.where(t == tm, w, NO_WAVE), initial=NO_WAVE)
    return tm, wm


def dirac_train(times, q):
    """A :class:`nirjax.Spikes` input as a train: coincident spikes of one channel become
    one impulse of area ``n q`` (a Dirac sum), all in wave 0. ``times``: ``(*shape, K)``."""
    shape = tuple(times.shape[:-1])
    k = times.shape[-1]
    t = jnp.sort(jnp.reshape(times, (-1, k)), axis=-1)
    m = t.shape[0]
    start = jnp.concatenate([jnp.ones((m, 1), bool), t[:, 1:] != t[:, :-1]], axis=1)
    idx = jnp.broadcast_to(jnp.arange(k), (m, k))
    # index of the next run start after each position (k if none): the run length
    nxt = jax.lax.cummin(jnp.where(start, idx, k)[:, ::-1], axis=1)[:, ::-1]
    nxt = jnp.concatenate([nxt[:, 1:], jnp.full((m, 1), k, nxt.dtype)], axis=1)
    keep = start & jnp.isfinite(t)
    areas = jnp.where(keep, q * (nxt - idx).astype(t.dtype), 0.0)
    merged, areas = jax.lax.sort((jnp.where(keep, t, jnp.inf), areas), dimension=1, num_keys=1)
    return Train(times=merged, waves=jnp.zeros((m, k), jnp.int32), areas=areas, shape=shape)


def raster_train(counts, bounds, k):
    """Spikes on the step grid (``counts``: ``(steps, *shape)``, 0/1) as a train with ``k``
    slots per element, at the step boundaries, wave 0, area 1 (scaled by the caller).
    Returns the train and whether some element had more than ``k`` spikes."""
    steps = counts.shape[0]
    shape = tuple(counts.shape[1:])
    c = jnp.reshape(counts, (steps, -1))
    m = c.shape[1]
    fired = c > 0
    slot = jnp.cumsum(fired, axis=0) - 1
    over = jnp.any(fired & (slot >= k))
    rows = jnp.broadcast_to(jnp.arange(m)[None, :], (steps, m))
    idx = jnp.where(fired & (slot < k), slot, k)
    tk = jnp.broadcast_to(bounds[:steps, None], (steps, m))
    times = jnp.full((m, k), jnp.inf, bounds.dtype).at[rows, idx].set(tk, mode="drop")
    areas = jnp.zeros((m, k), bounds.dtype).at[rows, idx].set(1.0, mode="drop")
    return Train(times=times, waves=jnp.zeros((m, k), jnp.int32), areas=areas, shape=shape), over


def bin_times(times, bounds, n_steps):
    """Per-step spike counts ``(steps, M)`` from spike times ``(M, K)`` (``+inf`` unused),
    binned with the solver's own step boundaries."""
    m, k = times.shape
    step = step_of(bounds, times)
    ok = jnp.isfinite(times) & (step >= 0) & (step < n_steps)
    cols = jnp.broadcast_to(jnp.arange(m)[:, None], (m, k))
    return jnp.zeros((n_steps, m), jnp.int32).at[jnp.where(ok, step, n_steps), cols].add(1, mode="drop")
