"""The ideal model's path of :func:`nirjax.simulate`: option checks, initial state and
recording options, a size check, the cached jitted solver (``solvers.solve_ideal``) and
readable errors."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._errors import SimulationError, UnsupportedError
from .semantics.events import Delay, Threshold
from .semantics.neurons import Neuron
from .semantics.resets import check_reset
from .solvers import RESULTS, EventConfig, available_bytes, estimate_bytes, solve_ideal
from .solvers._roots import quadratic_forms

RECORD_KINDS = ("spike_times", "spikes", "states")
_K_ELEMENTS = 2**24  # default max_spikes keeps the spike-time buffers below this many slots
_TOLERANCES = {np.dtype("float64"): (1e-10, 1e-12), np.dtype("float32"): (1e-4, 1e-6),
               np.dtype("float16"): (1e-3, 1e-4), np.dtype("bfloat16"): (1e-2, 1e-3)}


def default_tolerances(dtype=None):
    """``(rtol, atol)`` of ``method="rk"`` for a float dtype (the default float: float32
    unless ``jax_enable_x64``)."""
    dt = np.dtype(jnp.result_type(float) if dtype is None else dtype)
    return _TOLERANCES.get(dt, _TOLERANCES[np.dtype("float32")])


def run_ideal(net, dense, diracs, *, t0, dt, n_steps, spike_area, reset, method, max_spikes, max_events,
              max_cascade, max_delayed, rtol, atol, max_rk_steps, autodiff, throw, initial_state="rest", record=None,
              decompose=True):
    reset = check_reset(reset) or "v_reset"
    if autodiff not in ("reverse", "forward"):
        raise ValueError(f"autodiff must be 'reverse' or 'forward', got {autodiff!r}.")
    if method not in ("exact", "rk"):
        raise ValueError(f"method must be 'exact' or 'rk', got {method!r}.")
    for name, v in (("max_cascade", max_cascade), ("max_delayed", max_delayed), ("max_rk_steps", max_rk_steps)):
        _positive_int(name, v)
    if max_events is not None:
        _positive_int("max_events", max_events)
    _check_signal_kinds(net, dense, diracs)
    if method == "exact":
        _check_exact(net)
    for n, sp in diracs.items():
        _check_spike_times(n, sp, t0, t0 + n_steps * dt)
    d_rtol, d_atol = default_tolerances()
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    max_spikes = parse_max_spikes(net, max_spikes, n_steps)
    rec = parse_record(net, record)
    init = parse_initial_state(net, initial_state, max_delayed=max_delayed)
    _check_size(net, rec, n_steps=n_steps, max_spikes=max_spikes, decompose=decompose, method=method)
    cfg = EventConfig(
        method=method, reset=reset, max_spikes=max_spikes, max_events=max_events, max_cascade=max_cascade,
        max_delayed=max_delayed, rtol=rtol, atol=atol, max_rk_steps=max_rk_steps,
        loop_kind="checkpointed" if autodiff == "reverse" else "lax", decompose=bool(decompose),
        root_forms=tuple(sorted(quadratic_forms(net).items())) if method == "exact" else (),
    )
    static = (float(t0), float(dt), int(n_steps), cfg, tuple(sorted((n, tuple(k)) for n, k in rec.items())))
    dense = {n: jnp.asarray(x) for n, x in dense.items()}
    diracs = {n: jnp.sort(s.times, axis=-1) for n, s in diracs.items()}
    try:
        sol = _solve_jit(net, dense, diracs, init, spike_area, static)
    except TypeError as e:
        if "custom_vjp" in str(e) and autodiff == "reverse":
            raise TypeError(
                "Forward-mode differentiation (jax.jvp / jax.jacfwd) of simulate needs autodiff='forward': "
                "the default autodiff='reverse' checkpoints the event loops for jax.grad, which JAX cannot "
                "differentiate forwards. Pass simulate(..., autodiff='forward')."
            ) from None
        raise
    if throw:
        sol = _raise_on_failure(sol, cfg)
    return sol


@eqx.filter_jit
def _solve_jit(net, dense, diracs, init, spike_area, static):
    t0, dt, n_steps, cfg, rec = static
    return solve_ideal(net, dense, diracs, init, spike_area=spike_area, t0=t0, dt=dt, n_steps=n_steps, config=cfg,
                       record=dict(rec))


# -- options --------------------------------------------------------------------------------
def _positive_int(name, v):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive int (a static buffer or loop bound), got {v!r}.")


def parse_max_spikes(net, max_spikes, n_steps):
    """``max_spikes`` (None, an int, or ``{node: int}`` with the default for the others) ->
    ``((node, K), ...)`` for every spiking, Threshold and Delay node."""
    nodes = tuple(net.spiking) + tuple(net.thresholds) + tuple(net.delays)
    default = default_max_spikes(net, n_steps)
    if max_spikes is None:
        return tuple((n, default) for n in nodes)
    if isinstance(max_spikes, dict):
        unknown = set(max_spikes) - set(nodes)
        if unknown:
            raise ValueError(f"max_spikes: no spiking node {sorted(unknown)}; the spiking, Threshold and Delay nodes "
                             f"are {sorted(nodes)}.")
        for n, k in max_spikes.items():
            _positive_int(f"max_spikes[{n!r}]", k)
        return tuple((n, int(max_spikes.get(n, default))) for n in nodes)
    _positive_int("max_spikes", max_spikes)
    return tuple((n, int(max_spikes)) for n in nodes)


def default_max_spikes(net, n_steps):
    """``max(64, steps)`` slots per spiking element, reduced (not below 64) so that all
    spike-time buffers together hold at most 2**24 slots."""
    elems = sum(math.prod(net.nodes[n].shape) for n in net.spiking + net.thresholds)
    if elems == 0:
        return 64
    return max(64, min(int(n_steps), _K_ELEMENTS // elems))


def _recordable(net):
    out = {}
    for n, node in net.nodes.items():
        if isinstance(node, Neuron):
            kinds = (("spike_times", "spikes") if node.spiking else ()) + tuple(node.state_vars)
            out[n] = kinds
        elif isinstance(node, Threshold):
            out[n] = ("spike_times", "spikes")
    return out


def parse_record(net, record):
    """``record`` as given to ``simulate`` -> ``{node: (kinds, ...)}``.

    * ``None``: everything (spike times, per-step spike counts, per-step states) of every node;
    * a kind or a sequence of kinds (``"spike_times"``, ``"spikes"``, ``"states"`` or a state
      variable such as ``"v"``, ``"i_syn"``): those, for every node they apply to;
    * ``{node: kinds}``: only these nodes (``kinds`` as above).
    """
    able = _recordable(net)

    def expand(kinds, node=None):
        if isinstance(kinds, str):
            kinds = (kinds,)
        try:
            kinds = tuple(kinds)
        except TypeError:
            raise TypeError(f"record: expected a kind or a sequence of kinds, got {kinds!r}.") from None
        allv = sorted({v for n in able for v in able[n]} | {"states"})
        out = []
        for k in kinds:
            if k not in allv:
                raise ValueError(f"record: unknown kind {k!r}; kinds are {RECORD_KINDS} or a state variable "
                                 f"({sorted(set(allv) - set(RECORD_KINDS))}).")
            ks = [v for v in able[node] if v not in ("spike_times", "spikes")] if (k == "states" and node) else [k]
            if node is not None and k != "states" and k not in able[node]:
                raise ValueError(f"record: node {node!r} has no {k!r} to record; it has {list(able[node])}.")
            out.extend(ks)
        return tuple(dict.fromkeys(out))

    if record is None:
        return dict(able)
    if isinstance(record, dict):
        out = {}
        for n, kinds in record.items():
            if n not in able:
                raise ValueError(f"record: no recordable node {n!r}; the graph's neurons and Threshold nodes are "
                                 f"{sorted(able)}.")
            out[n] = expand(kinds, n)
        return out
    kinds = expand(record)
    out = {}
    for n, a in able.items():
        ks = []
        for k in kinds:
            if k == "states":
                ks.extend(v for v in a if v not in ("spike_times", "spikes"))
            elif k in a:
                ks.append(k)
        out[n] = tuple(dict.fromkeys(ks))
    return out


def parse_initial_state(net, initial_state, *, max_delayed):
    """``initial_state`` -> ``{"neurons": {node: {var}}, "delays": {node: (times, areas)},
    "thresholds": {node: x_prev}}`` with every value filled (partial dicts from "rest")."""
    dtype = jnp.result_type(float)
    if isinstance(initial_state, str):
        if initial_state not in ("rest", "zero"):
            raise ValueError(f"initial_state must be 'rest', 'zero' or a dict {{node: {{var: array}}}}, got "
                             f"{initial_state!r}.")
        base, given = initial_state, {}
    elif isinstance(initial_state, dict):
        base, given = "rest", initial_state
    else:
        raise TypeError(f"initial_state must be 'rest', 'zero' or a dict {{node: {{var: array}}}}, got "
                        f"{type(initial_state).__name__}.")
    stateful = {}
    for n, node in net.nodes.items():
        if isinstance(node, Neuron):
            stateful[n] = tuple(node.state_vars)
        elif isinstance(node, Delay):
            stateful[n] = ("in_flight_times", "in_flight_areas")
        elif isinstance(node, Threshold):
            stateful[n] = ("x_prev",)
    for n, vals in given.items():
        if n not in stateful:
            raise ValueError(f"initial_state: no node {n!r} with state; nodes with state are {sorted(stateful)}.")
        if not isinstance(vals, dict):
            raise TypeError(f"initial_state[{n!r}] must be a dict {{variable: array}} with variables "
                            f"{list(stateful[n])}, got {type(vals).__name__}.")
        unknown = set(vals) - set(stateful[n])
        if unknown:
            raise ValueError(f"initial_state[{n!r}]: unknown variable(s) {sorted(unknown)}; node {n!r} has "
                             f"{list(stateful[n])}.")
    out = {"neurons": {}, "delays": {}, "thresholds": {}}
    for n, node in net.nodes.items():
        vals = given.get(n, {})
        if isinstance(node, Neuron):
            default = node.init() if base == "rest" else {v: jnp.zeros(node.shape, dtype) for v in node.state_vars}
            out["neurons"][n] = {v: _state_array(n, v, vals[v], node.shape, dtype) if v in vals else
                                 jnp.asarray(default[v], dtype) for v in node.state_vars}
        elif isinstance(node, Delay):
            if ("in_flight_times" in vals) != ("in_flight_areas" in vals):
                raise ValueError(f"initial_state[{n!r}]: give in_flight_times and in_flight_areas together.")
            if vals:
                t = jnp.asarray(vals["in_flight_times"], dtype)
                a = jnp.asarray(vals["in_flight_areas"], dtype)
                if t.shape != a.shape or t.shape[:-1] != tuple(node.shape) or t.ndim != len(node.shape) + 1:
                    raise ValueError(f"initial_state[{n!r}]: in_flight_times and in_flight_areas must both have "
                                     f"shape (*{tuple(node.shape)}, slots), got {t.shape} and {a.shape}.")
                if t.shape[-1] > max_delayed:
                    raise ValueError(f"initial_state[{n!r}]: {t.shape[-1]} in-flight slots, but max_delayed="
                                     f"{max_delayed}; pass max_delayed>={t.shape[-1]}.")
                pad = [(0, 0)] * len(node.shape) + [(0, max_delayed - t.shape[-1])]
                t = jnp.pad(t, pad, constant_values=jnp.inf)
                a = jnp.pad(a, pad)
            else:
                t = jnp.full((*node.shape, max_delayed), jnp.inf, dtype)
                a = jnp.zeros((*node.shape, max_delayed), dtype)
            out["delays"][n] = (t, a)
        elif isinstance(node, Threshold):
            x = vals.get("x_prev")
            out["thresholds"][n] = (_state_array(n, "x_prev", x, node.shape, dtype) if x is not None
                                    else jnp.zeros(node.shape, dtype))
    return out


def _state_array(node, var, value, shape, dtype):
    a = jnp.asarray(value, dtype)
    if a.shape not in ((), tuple(shape)):
        raise ValueError(f"initial_state[{node!r}][{var!r}] has shape {a.shape}; node {node!r} has shape "
                         f"{tuple(shape)} (a scalar is broadcast).")
    return jnp.broadcast_to(a, shape)


def _check_size(net, rec, *, n_steps, max_spikes, decompose, method):
    itemsize = np.dtype(jnp.result_type(float)).itemsize
    total, parts = estimate_bytes(net, rec, n_steps=n_steps, max_spikes=max_spikes, itemsize=itemsize,
                                  decompose=decompose, method=method)
    avail = available_bytes()
    if avail is None or total <= 0.8 * avail:
        return
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:4]
    detail = "; ".join(f"{k}: {_gib(v)}" for k, v in top)
    raise MemoryError(
        f"This run would hold about {_gib(total)} (per sample under vmap) but about {_gib(avail)} is available. "
        f"Largest parts: {detail}. Keep less: record=('spike_times',) or record={{node: kinds}} for the nodes "
        "you need (per-step states cost steps x neurons), a smaller max_spikes=, or a shorter run "
        "(chunks: initial_state=sol.final_state, t0=previous t1)."
    )


def _gib(b):
    return f"{b / 2**30:.2f} GiB" if b >= 2**28 else f"{b / 2**20:.1f} MiB"


# -- errors -------------------------------------------------------------------------------------
_FLAG_TEXT = {
    "spikes": ("spike-time buffer full at node {node!r}: a neuron fired more than max_spikes={K} times; "
               "pass a larger max_spikes="),
    "delayed": "Delay node {node!r} held more than max_delayed={D} spikes in flight; pass a larger max_delayed=",
    "events": ("event loop of node {node!r} used up its max_events budget before the end of the run; "
               "pass a larger max_events="),
    "cascade": ("same-instant cascade at node {node!r} did not settle within max_cascade={C} waves (the graph may "
                "excite itself without bound: check the weights), or pass a larger max_cascade="),
    "ode": "Runge-Kutta integration failed (method='rk'); pass a larger max_rk_steps= or looser rtol=/atol=",
}


def _is_traced(x):
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def _raise_on_failure(sol, cfg):
    ks = dict(cfg.max_spikes)
    fmt = dict(D=cfg.max_delayed, C=cfg.max_cascade)
    inv = sol.stats["invalid"]
    flags = sol.stats["flags"]
    if not _is_traced(sol):
        if sol.result == RESULTS.successful:
            return sol
        msgs = [f"invalid value: {m}" for kind in ("parameters", "inputs") for m, f in inv[kind].items() if bool(f)]
        if not msgs:
            for flag in ("ode", "cascade", "events", "delayed", "spikes"):
                for node, fl in flags.items():
                    if flag in fl and bool(jnp.any(fl[flag])):
                        text = _FLAG_TEXT[flag].format(node=node, K=ks.get(node), **fmt)
                        if flag == "spikes":
                            need = int(jnp.max(sol.spike_counts[node]))
                            text += f"{need} (or more)"
                        msgs.append(text)
        raise SimulationError("nirjax: " + " | ".join(msgs or [str(RESULTS[sol.result])])) from None
    for kind in ("parameters", "inputs"):
        for m, f in inv[kind].items():
            sol = eqx.error_if(sol, f, f"nirjax: invalid value: {m}.")
    for flag in ("ode", "cascade", "events", "delayed", "spikes"):
        for node, fl in flags.items():
            if flag in fl:
                sol = eqx.error_if(sol, fl[flag], "nirjax: " + _FLAG_TEXT[flag].format(node=node, K=ks.get(node), **fmt)
                                   + ".")
    return sol


# -- static checks --------------------------------------------------------------------------------
def _check_spike_times(name, sp, t0, t1):
    try:
        t = np.asarray(sp.times)
    except jax.errors.TracerArrayConversionError:
        return  # traced: checked inside the solver (sol.result, sol.stats["invalid"])
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
