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
    * ``spike_times[node]``: (*shape, K) exact spike times, unused slots ``+inf``
      (ideal model only; platform models leave it empty).
    * ``spike_counts[node]``: (*shape,) total spikes (may exceed K: see ``result``).
    * ``result``: a :class:`RESULTS` item.
    * ``final_state``: the state at the end, ``{node: {key: array}}`` (the ``initial_state`` form:
      pass it back to continue the run).
    """

    ts: jnp.ndarray
    states: dict
    spikes: dict
    spike_times: dict
    spike_counts: dict
    result: RESULTS
    stats: dict = eqx.field(default_factory=dict)
    final_state: dict = eqx.field(default_factory=dict)
