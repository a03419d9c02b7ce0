"""The ideal model's solver entry point: value checks, the choice of solver, the Solution.

* ``method="exact"`` (default): the decomposed exact solver (:mod:`._decomposed`), or
  with ``decompose=False`` the global event loop (:mod:`._event_loop`), its reference;
* ``method="rk"``: the global event loop with diffrax Runge-Kutta steps.

Values that may be traced (parameters in training or a sweep, inputs, initial states)
are checked here, inside the trace: an invalid one sets a result code and names what is
wrong in ``sol.stats["invalid"]``, and nothing is simulated (no NaN voltages, no
misleading event-budget error).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp

from ..semantics.events import Delay, Threshold
from ..semantics.maps import Map
from ..semantics.neurons import Neuron
from ._decomposed import solve_decomposed
from ._event_loop import EventConfig, solve_events
from ._results import RESULTS
from ._solution import Solution
from ._trains import step_bounds

_SEVERITY = (  # rising: the last one set wins
    ("spikes", RESULTS.spike_buffer_full),
    ("delayed", RESULTS.delay_buffer_full),
    ("events", RESULTS.event_budget_exhausted),
    ("cascade", RESULTS.cascade_unsettled),
    ("ode", RESULTS.ode_solver_failed),
)


def _any(x):
    return jnp.any(~jnp.isfinite(x)) if jnp.size(x) else jnp.array(False)


def parameter_checks(net, *, spike_area, reset):
    """``{message: flag}``: each flag is a (traced) bool, True when the parameter is invalid."""
    out = {}
    for n, node in net.nodes.items():
        if isinstance(node, Neuron):
            for p, (bad, need) in node.invalid_parameters().items():
                out[f"node {n!r}: parameter {p!r} must be {need}"] = bad
            if node.spiking and reset in ("v_reset", "zero"):
                low = node.v_reset if reset == "v_reset" else jnp.zeros_like(node.v_threshold)
                what = "v_reset" if reset == "v_reset" else "the reset value 0 (reset='zero')"
                out[f"node {n!r}: {what} must lie below v_threshold (else the neuron fires forever at one instant)"] = (
                    jnp.any(low >= node.v_threshold))
        elif isinstance(node, Delay):
            out[f"node {n!r}: parameter 'delay' must be finite and >= 0 (seconds)"] = jnp.any(
                ~(jnp.isfinite(node.delay) & (node.delay >= 0)))
            # a Delay carries spikes only: a map bias on its input would be a continuous signal
            for m in sorted(net.maps_into({n})):
                b = getattr(net.nodes[m], "bias", None)
                if b is not None:
                    out[f"node {m!r}: parameter 'bias' feeds Delay node {n!r} and must be 0 (the ideal solver delays "
                        "spikes exactly but does not integrate delay differential equations)"] = jnp.any(b != 0)
        elif isinstance(node, Threshold):
            out[f"node {n!r}: parameter 'threshold' must be a finite number"] = _any(node.threshold)
        elif isinstance(node, Map):
            for f in dataclasses.fields(node):
                v = getattr(node, f.name)
                if eqx.is_array(v) and jnp.issubdtype(v.dtype, jnp.inexact):
                    out[f"node {n!r}: parameter {f.name!r} must be finite"] = _any(v)
    q = jnp.asarray(spike_area)
    out["spike_area must be finite and > 0"] = ~(jnp.isfinite(q) & (q > 0))
    return out


def input_checks(dense, diracs, init, *, t0, t1):
    out = {}
    for n, x in dense.items():
        out[f"input {n!r} contains NaN or inf"] = _any(x)
    for n, s in diracs.items():
        bad = jnp.isnan(s) | (s == -jnp.inf) | (jnp.isfinite(s) & ((s < t0) | (s >= t1)))
        out[f"input {n!r}: spike times must lie in [t0, t1) (+inf pads unused slots)"] = jnp.any(bad)
    for n, st in init["neurons"].items():
        for v, a in st.items():
            out[f"initial_state[{n!r}][{v!r}] contains NaN or inf"] = _any(a)
    for n, (t, a) in init["delays"].items():
        out[f"initial_state[{n!r}]: in-flight times must be >= t0 or +inf, areas finite"] = (
            jnp.any(jnp.isnan(t) | (t < t0)) | _any(a))
    for n, x in init["thresholds"].items():
        out[f"initial_state[{n!r}]['x_prev'] contains NaN or inf"] = _any(x)
    return out


def solve_ideal(net, dense, diracs, init, *, spike_area, t0, dt, n_steps, config: EventConfig, record) -> Solution:
    """Run the ideal model; ``record``: ``{node: kinds}`` (static)."""
    dtype = jnp.result_type(float)
    bounds = jnp.asarray(step_bounds(t0, dt, n_steps, dtype))
    bad_p = parameter_checks(net, spike_area=spike_area, reset=config.reset)
    bad_i = input_checks(dense, diracs, init, t0=bounds[0], t1=bounds[-1])
    any_p = jnp.any(jnp.stack([jnp.asarray(f) for f in bad_p.values()]))
    any_i = jnp.any(jnp.stack([jnp.asarray(f) for f in bad_i.values()] + [jnp.array(False)]))
    valid = ~(any_p | any_i)
    kw = dict(bounds=bounds, n_steps=n_steps, spike_area=spike_area, init=init, record=record, valid=valid)
    if config.method == "exact" and config.decompose:
        out = solve_decomposed(net, dense, diracs, cfg=config, **kw)
    else:
        out = solve_events(net, dense, diracs, config=config, **kw)
    result = RESULTS.successful
    for flag, item in _SEVERITY:
        hit = jnp.any(jnp.array([f.get(flag, False) for f in out["flags"].values()] + [False]))
        result = RESULTS.where(hit & valid, item, result)
    result = RESULTS.where(any_i, RESULTS.invalid_input, result)
    result = RESULTS.where(any_p, RESULTS.invalid_parameter, result)
    events = sum(out["iterations"].values()) if out["iterations"] else jnp.array(0)
    return Solution(
        ts=bounds[1:],
        states=out["states"],
        spikes=out["spikes"],
        spike_times=out["spike_times"],
        spike_counts=out["spike_counts"],
        result=result,
        stats={"events": events, "flags": out["flags"], "invalid": {"parameters": bad_p, "inputs": bad_i}},
        final_state=out["final_state"],
    )
