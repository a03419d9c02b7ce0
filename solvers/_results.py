import equinox as eqx


class RESULTS(eqx.Enumeration):
    """Outcome of a simulation. Every failure says what to do next."""

    successful = ""
    spike_buffer_full = (
        "A neuron fired more often than the spike-time buffer holds. Spike counts "
        "stay correct, but later spike times were not stored. Pass a larger "
        "`max_spikes=` to `simulate`."
    )
    event_budget_exhausted = (
        "More events happened within one input step than `max_events=` allows; "
        "the rest of that step was not simulated. Pass a larger `max_events=`."
    )
    cascade_unsettled = (
        "A same-instant cascade of spikes (a jump that made neurons fire, whose "
        "spikes made others fire, ...) did not settle within `max_cascade=` waves. "
        "The graph may excite itself without bound (e.g. a self-connection whose "
        "jump exceeds threshold minus reset); check the weights or pass a larger "
        "`max_cascade=`."
    )
    delay_buffer_full = (
        "A Delay node held more spikes in flight than its buffer allows. Pass a "
        "larger `max_delayed=` to `simulate`."
    )
    ode_solver_failed = (
        "The Runge-Kutta integration (method='rk') failed: diffrax reported a "
        "failure (too many steps or a failed root find). Pass a larger "
        "`max_rk_steps=` or looser `rtol=`/`atol=`."
    )
