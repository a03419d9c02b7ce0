import equinox as eqx


class RESULTS(eqx.Enumeration):
    """Outcome of a simulation. Every failure says what to do next; ``print(sol.result)``
    shows the message. ``sol.stats["flags"][node]`` says which node set it."""

    successful = "The simulation completed: every event was resolved and every spike stored."
    spike_buffer_full = (
        "A neuron fired more often than its spike-time buffer holds (`max_spikes` slots per "
        "neuron). Spike counts stay correct, but later spike times (and the per-step spike "
        "counts built from them) were not stored, and components downstream of that node did "
        "not receive those spikes. Pass a larger `max_spikes=` to `simulate`."
    )
    event_budget_exhausted = (
        "An event loop used up its iteration budget (`max_events`) before the end of the run; "
        "the rest was not simulated. Pass a larger `max_events=`."
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
    invalid_input = (
        "An input (a dense input, a spike time or an initial state) contains NaN or inf, or a "
        "spike time lies outside [t0, t1); nothing was simulated. `sol.stats['invalid']` names it."
    )
    invalid_parameter = (
        "A parameter is invalid (non-finite, a time constant <= 0, v_reset >= v_threshold, a "
        "negative delay, a map bias feeding a Delay, a non-positive spike area); nothing was simulated. "
        "`sol.stats['invalid']` names the node and parameter."
    )
