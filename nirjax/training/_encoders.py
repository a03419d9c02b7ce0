"""Input encoders: real-valued features -> spike trains.

* :func:`ttfs_times` / :func:`ttfs` -- time-to-first-spike: one spike per feature
  at a time linear in its value, plus an optional bias spike at a fixed time (the
  Yin-Yang encoding of the exact-gradient literature: Göltz et al. 2021,
  Wunderlich & Pehle 2021, jaxsnn).
* :func:`raster` -- spike times binned to a time step: the dense spike counts a
  time-stepped platform sees.
"""

from __future__ import annotations

import math

import numpy as np
import jax.numpy as jnp

from .._inputs import Spikes


def ttfs_times(features, *, t_early: float, t_late: float, t_bias: float | None = None):
    r"""Time-to-first-spike times of ``features`` (values in ``[0, 1]``), float64 numpy.

    .. math:: t_i = t_{early} + x_i\,(t_{late} - t_{early})

    ``features``: ``(..., F)``; returns ``(..., F)`` times, or ``(..., F + 1)`` with the
    bias spike at ``t_bias`` appended as the last channel when ``t_bias`` is given.
    Values outside ``[0, 1]`` are an error (they would put spikes outside the window).
    """
    x = np.asarray(features, dtype=np.float64)
    if not (np.isfinite(t_early) and np.isfinite(t_late) and 0 <= t_early < t_late):
        raise ValueError(f"Need 0 <= t_early < t_late (seconds), got t_early={t_early}, t_late={t_late}.")
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1 or np.isnan(x).any()):
        raise ValueError(f"ttfs features must lie in [0, 1]; got values in [{np.nanmin(x)}, {np.nanmax(x)}]"
                         + (" and NaN" if np.isnan(x).any() else "") + ". Rescale them first.")
    t = t_early + x * (t_late - t_early)
    if t_bias is not None:
        if not (np.isfinite(t_bias) and t_bias >= 0):
            raise ValueError(f"t_bias must be a finite time >= 0, got {t_bias}.")
        t = np.concatenate([t, np.full(t.shape[:-1] + (1,), float(t_bias))], axis=-1)
    return t


def ttfs(features, *, t_early: float, t_late: float, t_bias: float | None = None) -> Spikes:
    """:func:`ttfs_times` as a :class:`nirjax.Spikes` input with one spike slot per channel:
    ``times`` of shape ``(..., C, 1)`` (a leading batch axis is vmapped over together with
    the rest of the :class:`~nirjax.Spikes` pytree)."""
    t = ttfs_times(features, t_early=t_early, t_late=t_late, t_bias=t_bias)
    return Spikes(jnp.asarray(t[..., None], dtype=jnp.result_type(float)))


def raster(times, *, dt: float, steps: int, t0: float = 0.0, slots: bool = False, dtype=np.float32):
    """Spike times binned to steps of length ``dt``: spike ``t`` lands in step
    ``k = floor((t - t0) / dt)``, i.e. the step ``[t0 + k dt, t0 + (k + 1) dt)`` that holds it.

    ``times``: ``(..., C)`` (one spike per channel, ``+inf`` = none), or with ``slots=True``
    ``(..., C, K)`` (``K`` spike slots per channel, as in :class:`nirjax.Spikes`); computed in float64 on the host (bin by construction, not by float32 rounding). Returns
    counts of shape ``(steps, ..., C)`` (a leading step axis, the layout platform runs take).
    A spike outside ``[t0, t0 + steps dt)`` is an error, never dropped.
    """
    t = np.asarray(times, dtype=np.float64)
    if not (isinstance(steps, (int, np.integer)) and steps > 0 and dt > 0 and math.isfinite(dt)):
        raise ValueError(f"Need steps > 0 (int) and dt > 0, got steps={steps!r}, dt={dt!r}.")
    finite = np.isfinite(t)
    k = np.full(t.shape, -1, dtype=np.int64)
    # a tiny relative tolerance keeps t = t0 + k*dt (computed in float64) in step k
    k[finite] = np.floor((t[finite] - t0) / dt * (1 + 4 * np.finfo(np.float64).eps)).astype(np.int64)
    bad = finite & ((k < 0) | (k >= steps))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} spike time(s) lie outside [t0, t0 + steps*dt) = [{t0}, {t0 + steps * dt}); "
                         f"e.g. {t[bad].ravel()[:3]}. Lengthen the window (steps) instead of dropping them.")
    if np.isnan(t).any():
        raise ValueError("spike times contain NaN.")
    shape = t.shape[:-1] if slots else t.shape
    out = np.zeros((steps,) + shape, dtype=np.int32)
    idx = np.nonzero(finite)
    np.add.at(out, (k[idx],) + (idx[:-1] if slots else idx), 1)
    return out.astype(dtype)
