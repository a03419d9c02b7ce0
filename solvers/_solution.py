from __future__ import annotations

import equinox as eqx
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
      time is ``+inf``: it has no gradient (see :func:`nirjax.first_spike_times`).
    * ``spike_counts[node]``: (*shape,) total spikes (may exceed K: see ``result``).
    * ``result``: a :class:`RESULTS` item; ``print(sol.result)`` says what it means.
    * ``final_state[node]``: the state at the end of the run, in the form
      ``initial_state=`` takes, so ``simulate(..., t0=t1, initial_state=sol.final_state)``
      continues the run (neurons: their state variables; Delay: ``in_flight_times`` and
      ``in_flight_areas``; Threshold: ``last_input``, its last input).
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
