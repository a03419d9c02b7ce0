"""The ideal model's path of :func:`nirjax.simulate`: option checks and the exact /
Runge-Kutta event solver (``solvers``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import UnsupportedError
from .semantics.events import Delay, Threshold
from .semantics.neurons import Neuron
from .solvers import RESULTS, EventConfig, solve_events

_RESETS = {None: False, "nir": False, "v_reset": False, "subtract": True}


def run_ideal(net, dense, diracs, *, t0, dt, n_steps, spike_area, reset, method, max_spikes, max_events,
              max_cascade, max_delayed, rtol, atol, max_rk_steps, autodiff, throw):
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
