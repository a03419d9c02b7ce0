from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._results import RESULTS


class Solution(eqx.Module):
    """What a simulation returns (a pytree: it passes through ``jit``/``vmap``).

    * ``ts``: (steps,) recording times, the end of each input step.
    * ``states[node][var]``: (steps, *shape) state at ``ts`` as the left limit:
      step ``k`` covers ``[t0 + k dt, t0 + (k+1) dt)``, and an event at exactly
      ``ts[k]`` belongs to step ``k + 1``.
    * ``spikes[node]``: (steps, *shape) number of spikes in step ``k``.
    * ``spike_times[node]``: (*shape, K) exact spike times, ascending, unused slots
      ``+inf`` (ideal model only; platform models leave it empty). A silent neuron's
      time is ``+inf``: it has no gradient (see :meth:`first_spike_times`).
    * ``spike_counts[node]``: (*shape,) total spikes (may exceed K: see ``result``).
    * ``result``: a :class:`RESULTS` item; ``print(sol.result)`` says what it means.
    * ``final_state[node]``: the state at the end of the run, in the form
      ``initial_state=`` takes, so ``simulate(..., t0=t1, initial_state=sol.final_state)``
      continues the run (neurons: their state variables; Delay: ``in_flight_times`` and
      ``in_flight_areas``; Threshold: ``x_prev``, its last input).
    * ``stats``: ``events`` (loop iterations), ``flags[node]`` (which node set which
      result), ``invalid`` (which parameter or input made the run invalid).

    Which nodes and quantities are kept is chosen with ``simulate(..., record=...)``;
    the ones not recorded are absent from the dictionaries.
    """

    ts: jnp.ndarray
    states: dict
    spikes: dict
    spike_times: dict
    spike_counts: dict
    result: RESULTS
    stats: dict = eqx.field(default_factory=dict)
    final_state: dict = eqx.field(default_factory=dict)

    def first_spike_times(self, node, *, fill=None):
        """``(t, fired)``: the first spike time of every neuron of ``node`` and whether it fired.

        A neuron that never fired has spike time ``+inf`` in :attr:`spike_times`, which has
        no derivative. Here it is replaced by ``fill`` (default: the end of the run,
        ``ts[-1]``), a constant: its gradient is exactly zero, so a loss on ``t`` trains only
        the neurons that fired. Use ``fired`` to mask them or to add a term for the silent
        ones (e.g. pushing their input up).
        """
        t = self.spike_times[node][..., 0]
        fired = jnp.isfinite(t)
        fill = self.ts[-1] if fill is None else fill
        return jnp.where(fired, t, jax.lax.stop_gradient(jnp.asarray(fill, t.dtype))), fired
