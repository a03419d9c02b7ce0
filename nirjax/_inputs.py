"""External inputs: dense zero-order-hold samples or Dirac spike trains."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._errors import MissingPortError
from .solvers import step_bounds


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
        """Spikes at the start ``t0 + k dt`` of every step ``k`` where ``raster[k] != 0``
        (a raster value n > 1 gives n coincident spikes, one impulse of area ``n q``).

        The times are the solver's own step boundaries (``t0 + k dt`` computed once in
        float64 and rounded to the default float dtype), so each impulse lands exactly on
        the start of its step, in float32 as in float64: pass the same ``t0`` and ``dt``
        to :func:`nirjax.simulate`.
        """
        r = np.asarray(raster)
        if np.any(r < 0) or np.any(r != np.round(r)):
            raise ValueError("from_raster needs non-negative integer spike counts per step.")
        steps = r.shape[0]
        chans = r.reshape(steps, -1).T.astype(int)
        starts = step_bounds(t0, dt, steps, np.dtype(jnp.result_type(float)))[:steps]
        lists = [np.repeat(starts, c) for c in chans]
        longest = max([len(ts) for ts in lists] + [1])
        if k is None:
            k = longest
        elif k < longest:
            raise ValueError(f"k={k} slots per channel, but a channel has {longest} spikes; pass k >= {longest}.")
        arr = np.full((len(lists), k), np.inf, dtype=starts.dtype)
        for i, ts in enumerate(lists):
            arr[i, : len(ts)] = ts
        return cls(jnp.asarray(arr.reshape(r.shape[1:] + (k,))))


# -- the one input normaliser -----------------------------------------------------------
def normalize_inputs(net, inputs, *, dt, t0=0.0, t1=None):
    """``inputs`` as given to :func:`nirjax.simulate` -> ``(dense, diracs, n_steps)``:
    ``dense[name]`` a ``(steps, *shape)`` array, ``diracs[name]`` a :class:`Spikes`."""
    dense, diracs = _split_inputs(net, inputs)
    return dense, diracs, _n_steps(dense, dt, t0, t1)


def _split_inputs(net, inputs):
    if not isinstance(inputs, dict):
        if len(net.inputs) != 1:
            raise MissingPortError(f"The graph has inputs {list(net.inputs)}: pass a dict {{name: array}}.")
        inputs = {net.inputs[0]: inputs}
    unknown = set(inputs) - set(net.inputs)
    if unknown:
        raise MissingPortError(f"Unknown input name(s) {sorted(unknown)}; the graph's inputs are {list(net.inputs)}.")
    missing = set(net.inputs) - set(inputs)
    if missing:
        raise MissingPortError(
            f"No signal given for input(s) {sorted(missing)}; pass zeros explicitly if they are silent."
        )
    dense, diracs = {}, {}
    for n, x in inputs.items():
        shape = net.shape_of(n)
        if isinstance(x, Spikes):
            if tuple(x.times.shape[:-1]) != tuple(shape):
                raise ValueError(
                    f"Input {n!r}: spike times have channel shape {tuple(x.times.shape[:-1])}, the input node "
                    f"has shape {shape}; times must be (*{shape}, K)."
                )
            diracs[n] = x
        else:
            x = jnp.asarray(x)
            if x.ndim == len(shape) + 1 and tuple(x.shape[1:]) == tuple(shape):
                dense[n] = x
            elif math.prod(x.shape[1:]) == math.prod(shape) and x.ndim >= 1:
                dense[n] = jnp.reshape(x, (x.shape[0], *shape))
            else:
                raise ValueError(
                    f"Input {n!r}: expected an array of shape (steps, *{shape}), got {tuple(x.shape)}. "
                    "For a batch, use jax.vmap over simulate."
                )
    return dense, diracs


def _n_steps(dense, dt, t0, t1):
    if not (isinstance(dt, (int, float, np.floating)) and dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive finite number (seconds, a Python float), got {dt!r}.")
    lengths = {n: x.shape[0] for n, x in dense.items()}
    if t1 is not None:
        steps = (t1 - t0) / dt
        n = int(round(steps))
        if abs(steps - n) > 1e-6 * max(1, n) or n <= 0:
            raise ValueError(f"(t1 - t0) / dt = {steps} must be a positive whole number of steps.")
        for name, m in lengths.items():
            if m != n:
                raise ValueError(
                    f"Input {name!r} has {m} steps but t1 - t0 = {t1 - t0} s at dt = {dt} s needs {n}. "
                    "Pad or cut the input yourself; nirjax does not truncate or extend it."
                )
        return n
    if not lengths:
        raise ValueError("All inputs are spike trains: pass t1 to say how long to simulate.")
    if len(set(lengths.values())) != 1:
        raise ValueError(f"Dense inputs disagree on their number of steps: {lengths}.")
    return next(iter(lengths.values()))


