"""``nirjax.simulate``: run a graph under the ideal semantics (or a platform model)."""

from __future__ import annotations

from ._ideal import run_ideal
from ._inputs import normalize_inputs
from ._lowering import load
from .semantics.network import Network


class _Default:
    """The default of ``record``: everything for the ideal model, the outputs (and the layer
    feeding them) for a platform model; ``record=None`` keeps everything on both."""

    def __repr__(self):
        return "DEFAULT"


DEFAULT = _Default()


def simulate(
    graph,
    inputs,
    *,
    dt: float,
    t1: float | None = None,
    t0: float = 0.0,
    spike_area: float = 1.0,
    reset: str | None = None,
    method: str = "exact",
    platform=None,
    initial_state=None,
    max_spikes: int | None = None,
    max_events: int | None = None,
    max_cascade: int = 64,
    max_delayed: int = 64,
    rtol: float | None = None,
    atol: float | None = None,
    max_rk_steps: int = 4096,
    autodiff: str = "reverse",
    throw: bool = True,
    record=DEFAULT,
    decompose: bool = True,
    **platform_options,
):
    """Simulate ``graph`` on ``inputs``.

    **Arguments:**

    - ``graph``: a path to a ``.nir`` file, a ``nir.NIRGraph`` or a loaded graph.
    - ``inputs``: ``{input_name: x}``; ``x`` is an array ``(steps, *input_shape)``
      held constant over each step of length ``dt`` (zero-order hold), or a
      :class:`Spikes` train of Dirac impulses of area ``spike_area``. A graph with
      one input also accepts ``x`` directly.
    - ``dt``: the input step and recording interval (seconds).
    - ``t1``: end time; defaults to ``t0 + steps * dt`` of the dense inputs
      (required when all inputs are spike trains).
    - ``spike_area``: the area ``q`` of every spike (DESIGN.md rule 2). Graphs
      exported by time-stepped frameworks need ``q = dt_export`` (``load`` says so).
    - ``reset``: ``None`` (v <- v_reset, NIR >= 1.0.6) or ``"subtract"``
      (v <- v - v_threshold, what files written by nir <= 1.0.5 meant).
    - ``method``: ``"exact"`` (closed-form flow and spike times, exact to float
      rounding; raises :class:`UnsupportedError` for graphs whose neurons are
      coupled continuously) or ``"rk"`` (diffrax Tsit5 with an event root find).
    - ``platform``: a platform name or a Platform value (``nirjax.get_platform``) to run its
      discretization model instead; further keywords are options of the platform
      (``get_platform(platform, **options)``) or of its run (``record``, ``dtype``, ``unroll``; by
      default the outputs and the spikes of the layer feeding them are recorded per step, with
      ``spike_counts`` of every node and ``final_state``; ``record=None`` keeps every state of
      every node per step, ``record="spikes"``, ``"states"`` or ``{node: kinds}`` a part).
      Options of the ideal solver (``method``, ``max_spikes``, ...) do not apply to a platform and
      raise a TypeError naming them.
    - ``initial_state``: ``None`` (the model's convention: the ideal model and each platform start
      at rest or at zero as documented), ``"rest"``, ``"zero"`` or a (partial) state pytree
      ``{node: {var: array}}`` such as a previous run's ``sol.final_state``.
    - ``max_spikes``: spike-time slots per neuron, an int or ``{node: int}`` (the others get
      the default ``max(64, steps)``, lowered, not below 64, so that all spike-time buffers
      together stay under 2**24 slots). ``max_events``: iterations of each event loop (the
      decomposed solver: per component, default a bound from the buffer sizes; the global
      loop: per input step, default 256). ``max_cascade``: waves of one same-instant
      cascade. ``max_delayed``: spikes in flight per Delay element. Static buffer sizes:
      overflowing one sets ``sol.result`` (and raises when ``throw=True``, in one line
      naming the node and what to pass), never a silent drop.
    - ``rtol``, ``atol`` (``method="rk"``): default from the float dtype (1e-10/1e-12 in
      float64, 1e-4/1e-6 in float32).
    - ``autodiff``: ``"reverse"`` (default; the event loops are checkpointed so
      ``jax.grad`` works) or ``"forward"`` (plain ``lax.while_loop``: supports
      ``jax.jvp``/``jax.jacfwd``, cheaper for few parameters, e.g. sweeps, and
      slightly faster when no derivative is taken). ``jax.jacfwd`` with ``"reverse"``
      raises a TypeError saying so. Either way, a feed-forward layer driven by spikes (and
      a constant bias) is not differentiated through its loop: its derivatives come from
      replaying its spikes in closed form (implicit differentiation of each threshold
      crossing, superposition of the impulses between them), exactly the loop's derivatives
      at a fraction of the cost, in both modes.
    - ``throw``: raise on a failure result (else inspect ``sol.result``, which prints its
      meaning, and ``sol.stats["flags"]`` / ``sol.stats["invalid"]`` for where).
    - ``record`` (ideal model): what to keep. By default (and with ``None``): everything, i.e.
      spike times, per-step spike counts and per-step states of every node; a kind or a tuple of
      kinds (``"spike_times"``, ``"spikes"``, ``"states"`` or a state variable such as
      ``"v"``) for every node; or ``{node: kinds}`` for just those nodes. Spike counts and
      ``final_state`` are always there. A run whose buffers would not fit in memory is
      refused before anything is allocated, with the estimate. For a platform model,
      ``record`` is its run option (``("spikes", "v", ...)``; by default the outputs and the
      output layer's spikes, ``None``: everything).
    - ``decompose`` (ideal model, ``method="exact"``): solve the graph's strongly connected
      components one after the other, each neuron of a non-recurrent node on its own (the
      default); ``False`` runs the global event loop (every event advances every neuron:
      the reference, much slower on large graphs). Both give the same spikes.

    **Spike times and gradients.** A spike time is differentiable (implicit function of its
    threshold crossing). A neuron that never fires has spike time ``+inf`` and no gradient:
    use ``sol.first_spike_times(node)`` (times with ``+inf`` replaced by the end of the run
    and a mask of the neurons that fired) or a loss that handles silent neurons.

    Returns a :class:`Solution`.
    """
    net = graph if isinstance(graph, Network) else load(graph)
    dense, diracs, n_steps = normalize_inputs(net, inputs, dt=dt, t0=t0, t1=t1)
    if platform is not None:
        from ._platform_api import simulate_platform

        given = dict(method=method, max_spikes=max_spikes, max_events=max_events, max_cascade=max_cascade,
                     max_delayed=max_delayed, rtol=rtol, atol=atol, max_rk_steps=max_rk_steps, autodiff=autodiff,
                     throw=throw, decompose=decompose)
        defaults = simulate.__kwdefaults__
        ideal_only = sorted(k for k, v in given.items() if v != defaults[k])
        if ideal_only:
            raise TypeError(
                f"simulate(platform={platform if isinstance(platform, str) else type(platform).__name__!r}) got options "
                f"of the ideal solver {ideal_only}; they do not apply to a time-stepped platform model. Drop them "
                "(platform options go to nirjax.get_platform; run options are record, dtype, unroll)."
            )
        if record is not DEFAULT:
            platform_options["record"] = record
        return simulate_platform(net, dense, diracs, platform=platform, dt=dt, t0=t0, n_steps=n_steps,
                                 spike_area=spike_area, reset=reset, initial_state=initial_state,
                                 **platform_options)
    if platform_options:
        raise TypeError(f"simulate() got unexpected keyword arguments {sorted(platform_options)}.")
    extra = {} if initial_state is None else {"initial_state": initial_state}
    return run_ideal(net, dense, diracs, t0=t0, dt=dt, n_steps=n_steps, spike_area=spike_area, reset=reset,
                     method=method, max_spikes=max_spikes, max_events=max_events, max_cascade=max_cascade,
                     max_delayed=max_delayed, rtol=rtol, atol=atol, max_rk_steps=max_rk_steps,
                     autodiff=autodiff, throw=throw, record=None if record is DEFAULT else record,
                     decompose=decompose, **extra)
