"""Readouts: what class a network says, from its output spikes.

The rule (the same for the ideal model and every platform, so their accuracies compare):
the class is the output neuron that spikes **first**; a tie goes to the lowest index; a
sample with no output spike at all is **wrong** (predicted class ``-1``).

* Ideal model: first-spike times are exact reals (:func:`first_spike_times`,
  :func:`predict`).
* Time-stepped platforms: the first spike is the earliest **step** with an output spike
  (:func:`first_spike_steps`, :func:`predict_stepped`); two neurons firing in the same step
  tie, and the lower index wins.
"""

from __future__ import annotations

import jax.numpy as jnp


def first_spike_times(sol, node: str):
    """``(t_first, fired)`` of ``node`` from a :class:`nirjax.Solution` of the ideal model:
    the first spike time of each neuron (``+inf`` for a silent neuron) and the mask of
    neurons that spiked. ``+inf`` carries no gradient: see
    :func:`nirjax.training.silent_spike_time` for a differentiable stand-in."""
    if node not in sol.spike_times:
        raise ValueError(f"No spike times recorded for node {node!r}; recorded: {sorted(sol.spike_times)}. "
                         "Spike times exist for spiking nodes of an ideal-model run.")
    t = sol.spike_times[node][..., 0]
    return t, jnp.isfinite(t)


def predict(t_first):
    """Class per sample from first-spike times ``(..., n_classes)`` (``+inf`` = silent):
    the earliest neuron, ties to the lowest index, ``-1`` when all are silent."""
    t_first = jnp.asarray(t_first)
    cls = jnp.argmin(t_first, axis=-1)  # argmin returns the first of equal minima
    return jnp.where(jnp.all(jnp.isinf(t_first), axis=-1), -1, cls)


def first_spike_steps(spikes, axis: int = 0):
    """Index of the first step with a spike per neuron from a raster of counts
    (step axis ``axis``); ``steps`` (one past the last step) for a neuron that never spikes."""
    spikes = jnp.moveaxis(jnp.asarray(spikes), axis, 0)
    steps = spikes.shape[0]
    any_ = jnp.any(spikes > 0, axis=0)
    return jnp.where(any_, jnp.argmax(spikes > 0, axis=0), steps)


def predict_stepped(spikes, axis: int = 0):
    """Class per sample from a platform's output raster (``(steps, ..., n_classes)`` counts by
    default): the neuron with the earliest spiking step, ties to the lowest index, ``-1``
    when no output neuron spikes."""
    spikes = jnp.moveaxis(jnp.asarray(spikes), axis, 0)
    first = first_spike_steps(spikes)
    cls = jnp.argmin(first, axis=-1)
    return jnp.where(jnp.min(first, axis=-1) >= spikes.shape[0], -1, cls)


def accuracy(predicted, labels):
    """Fraction of samples whose predicted class equals the label (``-1`` never does)."""
    return jnp.mean(jnp.asarray(predicted) == jnp.asarray(labels))


def ttfs_readout(sol, node: str, *, t1, tau, v_threshold=1.0):
    """First-spike times of ``node`` ready for :func:`nirjax.training.ttfs_cross_entropy`:
    exact times for neurons that spiked, :func:`~nirjax.training.silent_spike_time`'s stand-in
    for silent ones, from the peak of ``v`` over the recorded steps (record ``v`` of ``node``;
    the finer the recording ``dt``, the closer to the true peak)."""
    from ._losses import silent_spike_time

    t, _ = first_spike_times(sol, node)
    v_peak = jnp.max(sol.states[node]["v"], axis=0)
    return silent_spike_time(t, v_peak, t1=t1, v_threshold=v_threshold, tau=tau)
