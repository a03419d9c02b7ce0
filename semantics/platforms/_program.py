"""A graph compiled for one platform: :class:`Program`, built by the pure function :func:`program`.

A Program says everything the time-stepped executor needs and nothing about how it executes:
per neuron node its :class:`~semantics.platforms.rules.NeuronRule` (static) and coefficients
(arrays), the maps as the platform applies them, the Threshold levels, the spike value, the
initial state (native units), and the static :class:`Wiring` (evaluation order, the in-edges as
the platform's executor runs them, which edges read the previous step, Delay lengths).

Its arrays are its pytree: ``jax.grad`` flows into them, ``jax.vmap`` batches them, and a
Program built from traced graph parameters is traced too.

State pytrees (``initial_state=`` of :func:`program`, ``Solution.final_state`` of a run) are
``{node: {key: array}}``:

* neuron nodes: ``v`` and (CubaLIF, CubaLI) ``i_syn`` in NIR units, and the platform's own
  values ``v_native``, ``i_native`` and ``spikes_prev`` (the spike counts of the last step, which
  a late reset or a fire-first rule still acts on). Where both a NIR and a native key are given
  the native one is used and both must agree (a run's ``final_state`` has both, so passing it
  back continues the run bit for bit);
* ``prev_output``: the last step's output of a node whose output some edge reads one step late
  (back edges, latency axes);
* Delay nodes: ``buffer`` ``(K, *shape)``, the last K inputs, newest first;
* Threshold nodes: ``x_prev``, the last step's input (a crossing is judged against it; the ideal
  model's key too).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PlatformError
from ._base import Check, Platform

NEURON_KEYS = ("v", "i_syn", "v_native", "i_native", "spikes_prev", "prev_output")


@dataclasses.dataclass(frozen=True)
class Wiring:
    """The static structure of a Program."""

    inputs: tuple
    outputs: tuple
    input_shapes: tuple
    """(input, shape) pairs."""
    output_shapes: tuple
    """(output, shape) pairs."""
    order: tuple
    """Every node (inputs, maps, neurons, Delay, Threshold, outputs) in evaluation order."""
    predecessors: tuple
    """(node, in-edges) as the platform's executor runs them."""
    delayed: frozenset
    """Edges ``(src, dst)`` that read ``src``'s output of the previous step."""
    fire_first: bool
    """Every spiking neuron fires from its previous state before any input of the step is summed."""
    delays: tuple = ()
    """(Delay node, shape, whole steps per element as a nested tuple)."""
    thresholds: tuple = ()
    """(Threshold node, shape)."""

    def preds(self, name):
        return dict(self.predecessors).get(name, ())

    @property
    def carried(self):
        """Nodes whose output is read one step late (carried across steps)."""
        return tuple(sorted({p for p, _ in self.delayed}))

    def delay_length(self, name):
        for d, _, steps in self.delays:
            if d == name:
                return int(np.max(np.asarray(steps), initial=0))
        raise KeyError(name)


class NeuronProgram(eqx.Module):
    """One neuron node of a Program: its coefficients (arrays) and its static rule."""

    coeffs: dict
    rule: object = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)
    state_vars: tuple = eqx.field(static=True)


class Program(eqx.Module):
    """A graph compiled for one platform (see the module docstring).

    ``neurons[node].coeffs`` holds the step coefficients (``v_unit``/``i_unit``: NIR volts per
    native unit); ``maps`` the maps as applied (quantized where the platform quantizes);
    ``init`` the initial state in native units: ``{"neurons": {n: {"v", "i_syn", "s"}},
    "prev": {node: output}, "delay": {node: buffer}, "threshold": {node: last input}}``.
    """

    neurons: dict
    maps: dict
    thresholds: dict
    spike_value: jax.Array
    init: dict
    wiring: Wiring = eqx.field(static=True)
    platform: Platform = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def state_keys(self):
        """node -> the keys its state takes in ``initial_state`` / ``final_state``."""
        out = {}
        for n, np_ in self.neurons.items():
            out[n] = tuple(np_.state_vars) + ("v_native", "i_native", "spikes_prev")
        for p in self.wiring.carried:
            out[p] = out.get(p, ()) + ("prev_output",)
        for d, _, _ in self.wiring.delays:
            if self.wiring.delay_length(d) > 0:
                out[d] = out.get(d, ()) + ("buffer",)
        for t, _ in self.wiring.thresholds:
            out[t] = out.get(t, ()) + ("x_prev",)
        return out


# -- the builder ----------------------------------------------------------------------------------
def program(net, platform, *, dt, spike_area=1.0, reset=None, initial_state=None, jit=True) -> Program:
    """Compile the loaded graph ``net`` for ``platform`` (a :class:`Platform` value).

    - ``dt``: the step (seconds; a Python float).
    - ``spike_area``: the charge ``q`` of a spike (used where ``spike_value='area'``).
    - ``reset``: None (the platform's own reset) or a reset the platform offers (``reset_options``).
    - ``initial_state``: None (the platform's ``initial_state`` axis), ``"rest"``, ``"zero"``, or
      a (partial) state pytree ``{node: {key: array}}`` (module docstring); nodes and keys not
      given start from the platform's convention.

    Raises :class:`PlatformError` naming node and rule for what the platform cannot run. Checks
    that need parameter values raise here where the values are concrete; where they are traced
    (the graph is an argument of ``jax.jit``/``jax.grad``) they become ``eqx.error_if`` on the
    program's arrays. Built as one jitted function (``jit=True``; ``False``: op by op, cheaper for a
    one-off build such as deviation's attribution variants) under ``jax.ensure_compile_time_eval()``:
    an eager call costs one dispatch, and parameters closed over by a ``jax.vmap``/``jax.jit``-traced
    caller stay concrete (so the executor can fold them).
    """
    if not isinstance(platform, Platform):
        raise TypeError(f"platform must be a Platform value (nirjax.get_platform(name)), got {type(platform).__name__}.")
    if not (isinstance(dt, (int, float, np.floating)) and dt > 0):
        raise ValueError(f"dt must be a positive Python float (seconds), got {dt!r}.")
    dt = float(dt)
    reset_rule = platform.reset_rule(reset)
    platform.check(net)
    order, preds, delayed = platform.wiring(net)
    wiring = Wiring(
        inputs=tuple(net.inputs), outputs=tuple(net.outputs), input_shapes=tuple(net.input_shapes),
        output_shapes=tuple(net.output_shapes), order=tuple(order), predecessors=preds, delayed=delayed,
        fire_first=platform.fires_first(),
        delays=tuple((d, tuple(net.nodes[d].shape), _whole_steps(d, net.nodes[d].delay, dt)) for d in net.delays),
        thresholds=tuple((t, tuple(net.nodes[t].shape)) for t in net.thresholds),
    )
    base, user = _split_initial_state(initial_state, platform)
    with jax.ensure_compile_time_eval():
        prog, checks = (_build if jit else _build_impl)(net, platform, dt, spike_area, reset_rule, wiring, base, user)
    return _apply_checks(prog, checks)


def _build_impl(net, platform, dt, spike_area, reset_rule, wiring, base, user):
    mapping = platform.mapping(net, dt)
    checks = list(platform.value_checks(net, dt))
    neurons = {}
    for n in net.neurons:
        node = net.nodes[n]
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        c = platform.neuron_coeffs(n, node, dt, mapping)
        c = {k: jnp.asarray(v, dtype=z.dtype) + z for k, v in c.items()}
        neurons[n] = NeuronProgram(coeffs=c, rule=platform.neuron_rule(net, n, reset_rule), shape=tuple(node.shape),
                                   state_vars=tuple(node.state_vars))
    maps = platform.maps(net, dt, mapping)
    thresholds = {t: jnp.asarray(net.nodes[t].threshold, dtype=jnp.result_type(float))
                  + jnp.zeros(net.nodes[t].shape, dtype=jnp.result_type(float)) for t in net.thresholds}
    sv = {"unit": 1.0, "area": spike_area / dt, "per_dt": 1.0 / dt}[platform.spike_value]
    init, state_checks = _initial_state(net, platform, neurons, maps, thresholds, wiring, base, user)
    prog = Program(neurons=neurons, maps=maps, thresholds=thresholds,
                   spike_value=jnp.asarray(sv, dtype=jnp.result_type(float)), init=init, wiring=wiring,
                   platform=platform, dt=dt)
    return prog, tuple(checks) + tuple(state_checks)


_build = eqx.filter_jit(_build_impl)


def _apply_checks(prog, checks):
    """Raise the concrete refusals; attach the traced ones to the program with ``eqx.error_if``."""
    concrete = [c for c in checks if not isinstance(c.pred, jax.core.Tracer)]
    if concrete:
        preds = jax.device_get([c.pred for c in concrete])
        for c, p in zip(concrete, preds):
            if np.any(p):
                raise PlatformError(c.message)
    for c in checks:
        if isinstance(c.pred, jax.core.Tracer):
            pred = jnp.any(c.pred)
            if c.node in prog.neurons:
                prog = eqx.tree_at(lambda p: p.neurons[c.node].coeffs, prog,
                                   eqx.error_if(prog.neurons[c.node].coeffs, pred, c.message))
            else:
                prog = eqx.tree_at(lambda p: p.spike_value, prog, eqx.error_if(prog.spike_value, pred, c.message))
    return prog


# -- initial state ------------------------------------------------------------------------------
def _split_initial_state(spec, platform):
    if spec is None:
        return platform.initial_state, {}
    if isinstance(spec, str):
        if spec not in ("rest", "zero"):
            raise ValueError(f"initial_state must be 'rest', 'zero' or a dict {{node: {{key: array}}}}, got {spec!r}.")
        return spec, {}
    if not isinstance(spec, dict):
        raise TypeError(f"initial_state must be 'rest', 'zero' or a dict {{node: {{key: array}}}}, got "
                        f"{type(spec).__name__}.")
    for n, d in spec.items():
        if not isinstance(d, dict):
            raise TypeError(f"initial_state[{n!r}] must be a dict {{key: array}}, got {type(d).__name__}.")
    return platform.initial_state, {n: dict(d) for n, d in spec.items()}


def _expected_keys(net, wiring):
    keys = {}
    for n in net.neurons:
        keys[n] = tuple(net.nodes[n].state_vars) + ("v_native", "i_native", "spikes_prev")
    for p in wiring.carried:
        keys[p] = keys.get(p, ()) + ("prev_output",)
    for d, shape, steps in wiring.delays:
        if int(np.max(np.asarray(steps), initial=0)) > 0:
            keys[d] = keys.get(d, ()) + ("buffer",)
    for t, _ in wiring.thresholds:
        keys[t] = keys.get(t, ()) + ("x_prev",)
    return keys


def _out_shape(net, wiring, n):
    if n in net.inputs:
        return tuple(dict(net.input_shapes)[n])
    return tuple(net.nodes[n].out_shape)


def _initial_state(net, platform, neurons, maps, thresholds, wiring, base, user):
    keys = _expected_keys(net, wiring)
    checks = []
    for n, d in user.items():
        if n not in keys:
            raise ValueError(f"initial_state: node {n!r} has no state on platform {platform.name!r}; nodes with "
                             f"state: {sorted(keys)}.")
        bad = set(d) - set(keys[n])
        if bad:
            raise ValueError(f"initial_state[{n!r}]: unknown key(s) {sorted(bad)}; node {n!r} takes {list(keys[n])}.")
    dtype = jnp.result_type(float)

    def get(n, k, shape):
        a = user.get(n, {}).get(k)
        if a is None:
            return None
        a = jnp.asarray(a, dtype=dtype)
        if tuple(a.shape) != tuple(shape):
            raise ValueError(f"initial_state[{n!r}][{k!r}] has shape {tuple(a.shape)}, expected {tuple(shape)}.")
        return a

    init = {"neurons": {}, "prev": {}, "delay": {}, "threshold": {}}
    for n, np_ in neurons.items():
        c, shape = np_.coeffs, np_.shape
        z = jnp.zeros(shape, dtype)
        v_rest = c.get("v_rest", z) if base == "rest" else z
        i_rest = c.get("i_rest", z) if base == "rest" else z
        v, i = v_rest, i_rest
        v_nir, v_nat = get(n, "v", shape), get(n, "v_native", shape)
        i_nir, i_nat = get(n, "i_syn", shape), get(n, "i_native", shape)
        if v_nat is not None:
            v = v_nat
            if v_nir is not None:
                checks.append(_agree(n, "v", v_nir, c["v_unit"] * v_nat))
        elif v_nir is not None:
            v = v_nir / c["v_unit"]
        if i_nat is not None:
            i = i_nat
            if i_nir is not None:
                checks.append(_agree(n, "i_syn", i_nir, c["i_unit"] * i_nat))
        elif i_nir is not None:
            i = i_nir / c["i_unit"]
        s = get(n, "spikes_prev", shape)
        init["neurons"][n] = {"v": v + z, "i_syn": i + z, "s": z if s is None else s}
    for p in wiring.carried:
        shape = _out_shape(net, wiring, p)
        a = get(p, "prev_output", shape)
        init["prev"][p] = jnp.zeros(shape, dtype) if a is None else a
    for d, shape, steps in wiring.delays:
        k = int(np.max(np.asarray(steps), initial=0))
        if k > 0:
            a = get(d, "buffer", (k, *shape))
            init["delay"][d] = jnp.zeros((k, *shape), dtype) if a is None else a
    for t, shape in wiring.thresholds:
        a = get(t, "x_prev", shape)
        init["threshold"][t] = jnp.zeros(shape, dtype) if a is None else a
    return init, checks


def _agree(n, var, nir, from_native):
    bad = jnp.abs(nir - from_native) > 1e-5 * jnp.maximum(jnp.abs(nir), 1e-30)
    return Check(n, bad, f"initial_state[{n!r}]: {var!r} and {var.replace('i_syn', 'i')}_native disagree "
                         f"(NIR value = unit x native value); give one of them (the native value continues a run "
                         "bit for bit).")


# -- Delay lengths ------------------------------------------------------------------------------
def _whole_steps(name, delay, dt):
    """A Delay node's delay in whole steps of ``dt`` (per element, as a nested tuple). A
    time-stepped model can only delay by whole steps: anything else is refused, not rounded."""
    if isinstance(delay, jax.core.Tracer):
        raise PlatformError(f"Delay node {name!r}: a time-stepped model needs a concrete delay (its buffer "
                            "length is static); close over the graph instead of tracing its delays.")
    d = np.asarray(delay, dtype=float)
    k = d / dt
    steps = np.rint(k)
    bad = np.abs(k - steps) > 1e-9 * np.maximum(1.0, np.abs(k))
    if np.any(bad) or np.any(steps < 0):
        i = int(np.flatnonzero(bad | (steps < 0))[0]) if d.ndim else 0
        raise PlatformError(
            f"Delay node {name!r}: delay {d.flat[i]:.6g} s is {k.flat[i]:.6g} steps of dt={dt:g} s; a time-stepped "
            "model delays by whole steps only. Choose a dt that divides every delay of the node."
        )
    return _nested_tuple(steps.astype(int).tolist())


def _nested_tuple(x):
    return tuple(_nested_tuple(e) for e in x) if isinstance(x, list) else x


__all__ = ["Program", "NeuronProgram", "Wiring", "program"]
