"""External inputs: dense zero-order-hold samples or Dirac spike trains."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np


class Spikes(eqx.Module):
    """A Dirac spike train input: ``times`` has shape ``(*input_shape, K)``,
    ascending along the last axis, unused slots ``+inf``. Each spike is an
    impulse of area ``spike_area``.

    ``Spikes.from_lists([[t, ...], ...])`` builds it from one list per channel.
    """

    times: jnp.ndarray

    @classmethod
    def from_lists(cls, lists, shape=None, k=None):
        """``k``: number of slots per channel (default: the longest list), so that
        trains of different samples stack into one batch for ``jax.vmap``."""
        flat = [list(map(float, ts)) for ts in lists]
        longest = max([len(ts) for ts in flat] + [1])
        if k is None:
            k = longest
        elif k < longest:
            raise ValueError(f"k={k} slots per channel, but a channel has {longest} spikes; pass k >= {longest}.")
        arr = np.full((len(flat), k), np.inf)
        for i, ts in enumerate(flat):
            arr[i, : len(ts)] = np.sort(ts)
        if shape is not None:
            arr = arr.reshape(tuple(shape) + (k,))
        return cls(jnp.asarray(arr, dtype=jnp.result_type(float)))

    @classmethod
    def from_raster(cls, raster, dt, t0=0.0, k=None):
        """Spikes at ``t0 + k dt`` for every step ``k`` where ``raster[k] != 0``
        (a raster value n > 1 gives n coincident spikes)."""
        r = np.asarray(raster)
        if np.any(r < 0) or np.any(r != np.round(r)):
            raise ValueError("from_raster needs non-negative integer spike counts per step.")
        steps = r.shape[0]
        chans = r.reshape(steps, -1).T.astype(int)
        lists = [np.repeat(t0 + np.arange(steps) * dt, c) for c in chans]
        return cls.from_lists(lists, shape=r.shape[1:], k=k)
