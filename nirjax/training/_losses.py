r"""Losses for spiking classifiers, differentiable where it matters and documented where not.

Exact gradients on the ideal model flow through **spike times** (implicit differentiation of the
threshold crossing). Quantities that only count spikes are piecewise constant in the
parameters: their exact gradient is zero almost everywhere, so a count loss on the ideal model
teaches nothing. Use :func:`soft_spike_count` there; counts from a time-stepped platform
carry surrogate gradients and can be used directly.

* :func:`ttfs_cross_entropy` -- softmax over negative first-spike times (Göltz et al. 2021;
  Wunderlich & Pehle 2021; Mostafa 2018).
* :func:`silent_spike_time` -- the rule for silent output neurons (a differentiable stand-in
  for ``+inf``).
* :func:`stepped_first_spike_time` -- a platform raster's first-spike time with surrogate
  gradients (platform-aware fine-tuning).
* :func:`spike_count_cross_entropy`, :func:`soft_spike_count`, :func:`membrane_cross_entropy`.

References: J. Göltz et al., "Fast and energy-efficient neuromorphic deep learning with
first-spike times", Nat. Mach. Intell. 3 (2021); T. C. Wunderlich and C. Pehle, "Event-based
backpropagation can compute exact gradients for spiking neural networks", Sci. Rep. 11 (2021).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def silent_spike_time(t_first, v_peak, *, t1, v_threshold=1.0, tau):
    r"""First-spike times with a differentiable stand-in for silent neurons.

    A neuron that spiked keeps its exact time. A silent neuron (``t_first = +inf``) gets

    .. math:: \hat t = t_1 + \tau\,\frac{\max(\theta - v_{peak},\,0)}{|\theta|}

    where ``v_peak`` is the highest membrane potential it reached, taken over the recorded steps
    (``jnp.max(sol.states[node]["v"], axis=0)``; ``v`` at the end of the run works too, with a
    weaker signal). The stand-in is later than every real spike (``>= t_1``), continuous in
    ``v_peak`` and decreases as the neuron comes closer to threshold, so the loss pulls a silent
    target neuron towards firing (and pushes a silent wrong one further away) instead of seeing a
    zero gradient; a neuron that nearly fired gets the strongest pull. ``+inf`` never enters the
    arithmetic, so no NaN leaks into gradients.
    """
    t_first = jnp.asarray(t_first)
    fired = jnp.isfinite(t_first)
    safe_t = jnp.where(fired, t_first, t1)
    stand_in = t1 + tau * jnp.maximum(v_threshold - v_peak, 0.0) / jnp.abs(v_threshold)
    return jnp.where(fired, safe_t, stand_in)


def ttfs_cross_entropy(t_first, label, *, tau, alpha=0.0, beta=None):
    r"""Cross-entropy of the softmax over negative first-spike times, with Göltz et al.'s optional
    regulariser pulling the label neuron's spike earlier:

    .. math:: L = -\log \frac{\exp(-t_{label}/\tau)}{\sum_j \exp(-t_j/\tau)}
              + \alpha \left(e^{t_{label}/\beta} - 1\right)

    ``t_first``: ``(..., n_classes)`` finite times (pass silent neurons through
    :func:`silent_spike_time` first: ``+inf`` has no gradient); ``label``: ``(...)`` ints;
    ``tau``: the softmax temperature in seconds. The cross-entropy alone only cares about
    differences: it pushes each output later on the samples of the other classes, which (for a
    neuron that is wrong two times out of three) drifts the output weights down until the outputs
    fall silent; ``alpha > 0`` (with ``beta`` in seconds, e.g. ``tau_syn``) balances that.
    Returns the loss per sample ``(...)``.
    """
    t_first = jnp.asarray(t_first)
    logp = jax.nn.log_softmax(-t_first / tau, axis=-1)
    label = jnp.asarray(label)[..., None]
    loss = -jnp.take_along_axis(logp, label, axis=-1)[..., 0]
    if alpha:
        if beta is None:
            raise ValueError("ttfs_cross_entropy: alpha > 0 needs beta (seconds).")
        t_label = jnp.take_along_axis(t_first, label, axis=-1)[..., 0]
        loss = loss + alpha * jnp.expm1(t_label / beta)
    return loss


def target_time_mse(t_first, label, *, t_correct, t_wrong, tau):
    r"""Squared error of the first-spike times against target times (jaxsnn's Yin-Yang loss):

    .. math:: L = \sum_j \left(\frac{t_j - T_j}{\tau}\right)^2, \qquad
              T_j = t_{correct} \text{ if } j = label \text{ else } t_{wrong}

    Every output is asked to fire (the label neuron earlier), so the output layer cannot drift
    into silence the way a pure cross-entropy on time differences can. ``t_first``: ``(...,
    n_classes)`` finite times (silent neurons through :func:`silent_spike_time`); returns ``(...)``.
    """
    t_first = jnp.asarray(t_first)
    n = t_first.shape[-1]
    label = jnp.asarray(label)[..., None]
    classes = jnp.arange(n).reshape((1,) * (label.ndim - 1) + (n,))
    target = jnp.where(classes == label, t_correct, t_wrong)
    return jnp.sum(((t_first - target) / tau) ** 2, axis=-1)


def stepped_first_spike_time(spikes, *, dt, t0=0.0, axis=0):
    r"""First-spike time of each neuron of a time-stepped raster, differentiable through the
    platform's surrogate spike derivative.

    With :math:`s_k \in [0, 1]` the (clipped) spike indicator of step ``k`` and the survival
    :math:`S_k = \prod_{j<k} (1 - s_j)`:

    .. math:: \hat t = \sum_k (t_0 + k\,dt)\, s_k S_k + (t_0 + N dt)\, S_N

    which equals the start of the first spiking step (``t0 + N dt`` when silent, ``N`` steps)
    and, through the surrogate derivatives of the ``s_k``, moves when a spike moves or appears.
    """
    s = jnp.moveaxis(jnp.minimum(jnp.asarray(spikes), 1.0), axis, 0)
    n = s.shape[0]
    surv = jnp.cumprod(1.0 - s, axis=0)
    before = jnp.concatenate([jnp.ones_like(s[:1]), surv[:-1]], axis=0)
    t = t0 + dt * jnp.arange(n, dtype=s.dtype).reshape((n,) + (1,) * (s.ndim - 1))
    return jnp.sum(t * s * before, axis=0) + (t0 + n * dt) * surv[-1]


def spike_count_cross_entropy(counts, label, *, scale=1.0):
    r"""Cross-entropy of the softmax over ``scale * counts`` (rate coding).

    .. warning:: On the ideal model spike counts are piecewise constant in the parameters:
       their exact gradient is **zero** almost everywhere. Use it on a platform's raster
       (surrogate gradients) or with :func:`soft_spike_count` on the ideal model.
    """
    logp = jax.nn.log_softmax(scale * jnp.asarray(counts), axis=-1)
    return -jnp.take_along_axis(logp, jnp.asarray(label)[..., None], axis=-1)[..., 0]


def soft_spike_count(spike_times, *, t1, tau):
    r"""A spike count of the ideal model that has a gradient:

    .. math:: \tilde n = \sum_k \sigma\!\left(\frac{t_1 - t_k}{\tau}\right)

    over the recorded spike times ``t_k`` (``(..., K)``, ``+inf`` slots ignored). Each spike
    counts almost 1 unless it lies within a few ``tau`` of the window end ``t1``, where moving it
    out of (or into) the window changes the count smoothly -- the exact gradient flows through
    the spike times. Returns ``(...)``.
    """
    t = jnp.asarray(spike_times)
    fired = jnp.isfinite(t)
    z = jnp.where(fired, (t1 - jnp.where(fired, t, t1)) / tau, 0.0)
    return jnp.sum(jnp.where(fired, jax.nn.sigmoid(z), 0.0), axis=-1)


def membrane_cross_entropy(v, label, *, axis=0, scale=1.0):
    r"""Cross-entropy of the softmax over each neuron's peak membrane potential:
    ``logits = scale * max_t v`` along ``axis`` (the recorded step axis). The readout of
    non-spiking (LI) output layers; differentiable on the ideal model and on platforms."""
    logits = scale * jnp.max(jnp.asarray(v), axis=axis)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, jnp.asarray(label)[..., None], axis=-1)[..., 0]
