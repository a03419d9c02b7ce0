"""NIR primitives that act on spikes as events: Threshold and Delay."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._elementwise import Elementwise


class Threshold(Elementwise):
    r"""Emits one spike (area ``q``) at each upward crossing of its input
    through ``threshold``: :math:`s(t) = \sum_k \delta(t - t_k)`,
    ``x(t_k^-) < threshold <= x(t_k)``.

    Its input must be a signal without impulses (an impulse has no finite
    value to compare). The signal is taken to be 0 before the simulation
    starts, so an input that starts at or above a positive threshold crosses
    at ``t0``.
    """

    threshold: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    def crossed(self, x_before, x_after):
        return (x_before < self.threshold) & (x_after >= self.threshold)


class Delay(Elementwise):
    """Shifts its input by ``delay`` (seconds, per element): ``y(t) = x(t - delay)``.

    Spikes are re-scheduled exactly: an impulse of area ``A`` at ``t`` leaves
    at ``t + delay``.
    """

    delay: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)
