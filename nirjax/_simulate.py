"""``nirjax.simulate``: run a graph under the ideal semantics (or a platform model)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from semantics.events import Delay, Threshold
from semantics.network import Network
from semantics.neurons import Neuron
from solvers import RESULTS, EventConfig, solve_events

from ._errors import MissingPortError, UnsupportedError
from ._inputs import Spikes
from ._lowering import load

_RESETS = {None: False, "nir": False, "v_reset": False, "subtract": True}


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
    platform: str | None = None,
    max_spikes: int | None = None,
    max_events: int = 256,
    max_cascade: int = 64,
    max_delayed: int = 64,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_rk_steps: int = 4096,
    autodiff: str = "reverse",
    throw: bool = True,
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
    - ``platform``: a platform name to run its discretization model instead.
    - ``max_spikes`` (spike-time slots per neuron; default ``max(64, steps)``),
      ``max_events`` (events per input step), ``max_cascade`` (waves of one
      same-instant cascade), ``max_delayed`` (spikes in flight per Delay element):
      static buffer sizes; overflowing one sets ``sol.result`` (and raises
      when ``throw=True``), never a silent drop.
    - ``autodiff``: ``"reverse"`` (default; the event loops are checkpointed so
      ``jax.grad`` works) or ``"forward"`` (plain ``lax.while_loop``: supports
      ``jax.jvp``/``jax.jacfwd``, cheaper for few parameters, e.g. sweeps, and
      slightly faster when no derivative is taken).
    - ``throw``: raise on a failure result (else inspect ``sol.result``).

    Returns a :class:`Solution`.
    """
    net = graph if isinstance(graph, Network) else load(graph)
    dense, diracs = _split_inputs(net, inputs)
    n_steps = _n_steps(dense, dt, t0, t1)
    if platform is not None:
        from ._platform_api import simulate_platform

        return simulate_platform(net, dense, diracs, platform=platform, dt=dt, t0=t0, n_steps=n_steps,
                                 spike_area=spike_area, reset=reset, **platform_options)
    if platform_options:
        raise TypeError(f"simulate() got unexpected keyword arguments {sorted(platform_options)}.")
    if reset not in _RESETS:
        raise ValueError(f"reset must be None or 'subtract', got {reset!r}.")
    if autodiff not in ("reverse", "forward"):
        raise ValueError(f"autodiff must be 'reverse' or 'forward', got {autodiff!r}.")
    if method not in ("exact", "rk"):
        raise ValueError(f"method must be 'exact' or 'rk', got {method!r}.")
    _check_signal_kinds(net, dense, diracs)
    if method == "exact":
        _check_exact(net)
    for n, sp in diracs.items():
        _check_spike_times(n, sp, t0, t0 + n_steps * dt)
    if max_spikes is None:
        max_spikes = max(64, n_steps)
    cfg = EventConfig(
        method=method, subtract=_RESETS[reset], max_spikes=max_spikes, max_events=max_events,
        max_cascade=max_cascade, max_delayed=max_delayed, rtol=rtol, atol=atol, max_rk_steps=max_rk_steps,
        loop_kind="checkpointed" if autodiff == "reverse" else "lax",
    )
    sol = solve_events(net, dense, {n: jnp.sort(s.times, axis=-1) for n, s in diracs.items()},
                       t0=t0, dt=dt, n_steps=n_steps, spike_area=spike_area, config=cfg)
    if throw:
        sol = sol.result.error_if(sol, sol.result != RESULTS.successful)
    return sol


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


def _check_spike_times(name, sp, t0, t1):
    try:
        t = np.asarray(sp.times)
    except jax.errors.TracerArrayConversionError:
        return  # traced under jit: checked by the caller's data
    finite = t[np.isfinite(t)]
    if np.any(np.isnan(t)):
        raise ValueError(f"Input {name!r}: spike times contain NaN.")
    if finite.size and (finite.min() < t0 or finite.max() >= t1):
        raise ValueError(
            f"Input {name!r}: spike times must lie in [t0, t1) = [{t0}, {t1}); got "
            f"[{finite.min()}, {finite.max()}]. Nothing outside the simulated span is dropped silently."
        )


def _is_continuous_source(net, s, dense):
    if s in net.inputs:
        return s in dense
    node = net.nodes[s]
    return isinstance(node, Neuron) and not node.spiking


def _is_impulse_source(net, s, diracs):
    if s in net.inputs:
        return s in diracs
    node = net.nodes[s]
    return isinstance(node, (Threshold, Delay)) or (isinstance(node, Neuron) and node.spiking)


def _check_signal_kinds(net, dense, diracs):
    for d in net.delays:
        srcs = net.upstream_sources(d)
        cont = sorted(s for s in srcs if _is_continuous_source(net, s, dense))
        if cont or _concrete_bias(net, d):
            raise UnsupportedError(
                f"Delay node {d!r} receives a continuous signal (from {cont or 'a map bias'}). The ideal "
                "solver delays spikes exactly but does not integrate delay differential equations; feed "
                "the Delay with spikes only."
            )
    for n in net.thresholds:
        srcs = net.upstream_sources(n)
        imp = sorted(s for s in srcs if _is_impulse_source(net, s, diracs))
        if imp:
            raise UnsupportedError(
                f"Threshold node {n!r} receives spikes (Dirac impulses) from {imp}; an impulse has no "
                "finite value to compare with the threshold. Put a neuron (e.g. LI) in between."
            )
        cont = sorted(s for s in srcs if s not in net.inputs and _is_continuous_source(net, s, dense))
        if cont:
            raise UnsupportedError(
                f"Threshold node {n!r} reads the continuously varying state of {cont}; nirjax supports "
                "Threshold on piecewise-constant signals (external inputs and biases) only."
            )


def _concrete_bias(net, d):
    try:
        return net.has_bias_upstream(d)
    except jax.errors.ConcretizationTypeError:
        return False


def _check_exact(net):
    for n in net.neurons:
        coupled = sorted(
            s for s in net.upstream_sources(n)
            if s in net.nodes and isinstance(net.nodes[s], Neuron) and not net.nodes[s].spiking
        )
        if coupled:
            raise UnsupportedError(
                f"method='exact' needs every neuron's continuous input to be constant between events, but "
                f"node {n!r} is driven by the continuously varying state of {coupled}. Use method='rk' "
                "(diffrax Tsit5 with event root finding) for this graph."
            )
