"""What a time-stepped platform means: a point in the space of discretization axes.

A :class:`Platform` is a frozen record of explicit choices, one per axis of
``shared/PLATFORMS.md``. :meth:`Platform.program` turns a
:class:`~semantics.network.Network` into a :class:`Program`: per-neuron step
coefficients (arrays, differentiable and vmappable), the (possibly quantized)
maps, and the static wiring (evaluation order, which edges carry a one-step
latency). The executor in ``solvers/stepped.py`` runs a Program; it never reads
platform names.

Notation per step of length ``dt``: ``x_t`` the summed input of a neuron node,
``a = dt/tau``, ``d = exp(-dt/tau)``.

The float step rule every float platform instantiates (native units)::

    I' = ds*I + gs*x + cs                      (CubaLIF / CubaLI current)
    v' = dm*v + a_new*I' + a_old*I + a_x*x + cm
    spikes: v' (>|>=) theta  -> n in [1, cap] (cap = 1: binary, else floor(v'/theta))
    reset: v' <- 0 | v' - n*theta | v_reset   (same step, or from the previous step's spikes)
    floor: v' <- max(v', v_floor); saturation: clip(v', v_min, v_max)

with the order "integrate, fire, reset", or "fire from the previous v, reset,
integrate" (``order="fire_first"``, Spyx).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PlatformError
from ..events import Delay, Threshold
from ..maps import Affine, Conv, Flatten, Identity, Linear, Map, Pool2d, Scale
from ..neurons import IF, LI, LIF, CubaLI, CubaLIF, I
from ..trajectory import phi


AXES = (
    "decay",
    "input_scale",
    "coupling",
    "synapse_order",
    "order",
    "threshold_test",
    "spikes_per_step",
    "reset",
    "reset_timing",
    "latency",
    "executor_order",
    "quantization",
    "floor",
    "dt_convention",
    "ignores",
    "spike_value",
)
"""The discretization axes, in the order attribution switches them."""

AXIS_DOC = {
    "decay": "'euler' 1-dt/tau | 'exact' exp(-dt/tau) | 'dash' 1-2^-round(log2(tau/dt)) (Xylo bit shift)",
    "input_scale": "'euler' a*r | 'exact' (1-d)*r | 'unit' 1 (tau, r ignored) | 'threshold' 1 with theta/(a*r) "
                   "(native units) | 'gain_only' dt/tau without r (Spyx 0.1.x) | 'euler_w_in' w_in (Spyx 0.1.x CubaLIF)",
    "coupling": "how v sees the current: 'new' (I after this step's update) | 'old' | 'exact' (2x2 ZOH propagator)",
    "synapse_order": "'decay_then_add' I' = ds I + g x | 'add_then_decay' I' = ds (I + g x) (Rockpool)",
    "order": "'integrate_fire_reset' | 'fire_first' (fire from the previous v, reset, integrate: Spyx)",
    "threshold_test": "'>' | '>='",
    "spikes_per_step": "1 = binary; N > 1: floor(v/theta) spikes capped at N",
    "reset": "'zero' | 'subtract' (n*theta) | 'v_reset'",
    "reset_timing": "'same' step | 'next' step (snnTorch 0.9.4 RSynaptic)",
    "latency": "'same' step | 'per_weight' +1 per weight map (Loihi Dense) | 'per_projection' +1 into every "
               "neuron (SpiNNaker2) | 'per_synapse' +1 into every CubaLIF (Nengo's Lowpass) | 'per_hidden_hop' +1 for spikes of neurons (Xylo); back edges of cycles "
               "are +1 everywhere",
    "executor_order": "'topological' | 'nirtorch_dfs' (nirtorch GraphExecutor pre-order: a late diamond branch "
                      "arrives one step late)",
    "quantization": "None (float) | 'loihi2' | 'xylo' | 'speck' | 'spinnaker2_int8'",
    "floor": "None | 'minus_theta' (Sinabs IF min_v_mem) | 'zero' (Nengo LIF)",
    "dt_convention": "'argument' | 'fixed_1e-4' (snnTorch) | 'steps' (tau read in steps: Sinabs) | "
                     "'rockpool_inferred' (dt = min(tau_mem/(1+r)) per layer)",
    "ignores": "NIR parameters the platform drops: subset of {'r', 'v_leak', 'w_in', 'v_reset'}",
    "spike_value": "what a spike carries into the next node for one step: 'unit' 1 | 'area' q/dt (the "
                   "ideal charge q) | 'per_dt' 1/dt (Nengo's amplitude)",
}


@dataclasses.dataclass(frozen=True)
class Platform:
    """A time-stepped execution model of NIR. Every field is an axis or metadata.

    Subclasses set the defaults of one real platform and may add quirk switches
    named after the released version they model. ``ideal()`` gives the same
    platform with every axis at the ideal model's value (the ``zoh`` stepping).
    """

    name: str = "generic"
    version: str = ""
    source: str = ""
    decay: str = "exact"
    input_scale: str = "exact"
    coupling: str = "exact"
    synapse_order: str = "decay_then_add"
    order: str = "integrate_fire_reset"
    threshold_test: str = ">="
    spikes_per_step: int = 1
    reset: str = "v_reset"
    reset_timing: str = "same"
    latency: str = "same"
    executor_order: str = "topological"
    quantization: str | None = None
    floor: str | None = None
    dt_convention: str = "argument"
    ignores: frozenset = frozenset()
    spike_value: str = "unit"
    """'unit': a spike is the value 1 in its step (frameworks); 'area': q/dt (generic models,
    so that a spike carries the charge q of the ideal model); 'per_dt': 1/dt (Nengo)."""
    reset_options: tuple = ()
    """The resets a user may select with ``simulate(..., reset=...)`` (empty: fixed)."""
    supported: tuple = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI",
                        "Affine", "Linear", "Scale", "Conv", "Pool2d", "Flatten", "Identity", "Threshold", "Delay")
    units: str = "NIR volts"

    # -- axes ---------------------------------------------------------------
    def replace(self, **changes):
        bad = set(changes) - {f.name for f in dataclasses.fields(self)}
        if bad:
            raise TypeError(
                f"Platform {self.name!r} has no option(s) {sorted(bad)}; its fields are "
                f"{[f.name for f in dataclasses.fields(self)]}."
            )
        return dataclasses.replace(self, **changes)

    def ideal_axes(self, reset="v_reset"):
        """The value of every axis under the ideal semantics (DESIGN.md)."""
        return dict(
            decay="exact", input_scale="exact", coupling="exact", synapse_order="decay_then_add",
            order="integrate_fire_reset", threshold_test=">=", spikes_per_step=1, reset=reset,
            reset_timing="same", latency="same", executor_order="topological", quantization=None,
            floor=None, dt_convention="argument", ignores=frozenset(), spike_value="area",
        )

    def native(self, *axes):
        """Whether the given axes still hold this platform's own values (platform-specific
        coefficient rules apply only then, so attribution can switch them off)."""
        default = type(self)()
        return all(getattr(self, a) == getattr(default, a) for a in axes)

    def quirk_switches(self):
        """Quirk fields and the value that switches each off (for attribution)."""
        return {}

    def quirks(self):
        """Version quirks (switch name -> on/off) this platform models."""
        return {}

    def describe(self):
        lines = [f"{self.name} {self.version}".strip(), f"  source: {self.source}"]
        for ax in AXES:
            lines.append(f"  {ax:16s} {getattr(self, ax)!r}")
        for q, v in self.quirks().items():
            lines.append(f"  quirk {q}: {v}")
        return "\n".join(lines)

    # -- checks -------------------------------------------------------------
    def check(self, net):
        """Raise :class:`PlatformError` for a node this platform cannot run."""
        self.check_axes()
        for name, node in net.nodes.items():
            kind = _kind(node)
            if kind not in self.supported:
                raise PlatformError(
                    f"Platform {self.name!r} ({self.version}) cannot run node {name!r} ({kind}): "
                    f"{self.reject_reason(kind)}"
                )
            self.check_node(net, name, node)
            if kind in ("Threshold", "Delay") and self.order == "fire_first":
                raise PlatformError(
                    f"Platform {self.name!r} with order='fire_first' cannot run node {name!r} ({kind}): that order "
                    "sums every map before any neuron fires, which leaves no place for a node that reads and "
                    "emits within the step. Use order='integrate_fire_reset'."
                )

    def check_axes(self):
        """Raise for axis combinations the platform's rules cannot express."""
        return None

    def reject_reason(self, kind):
        return f"it supports only {', '.join(self.supported)}."

    def check_node(self, net, name, node):
        return None

    # -- dt -----------------------------------------------------------------
    def step_dt(self, node, dt):
        """The dt the platform uses for ``node`` (its dt convention)."""
        c = self.dt_convention
        if c == "argument":
            return dt
        if c == "fixed_1e-4":
            return 1e-4
        if c == "steps":
            return 1.0
        if c == "rockpool_inferred":
            tau = getattr(node, "tau_mem", getattr(node, "tau", None))
            if tau is None:
                return dt
            return jnp.min(tau / (1.0 + node.r))
        raise ValueError(f"unknown dt_convention {c!r}")

    # -- coefficients ---------------------------------------------------------
    def _decay(self, tau, dt):
        if self.decay == "euler":
            return 1.0 - dt / tau
        if self.decay == "exact":
            return jnp.exp(-dt / tau)
        if self.decay == "dash":
            dash = jnp.round(jnp.log2(tau / dt))
            return 1.0 - 2.0 ** (-dash)
        raise ValueError(f"unknown decay {self.decay!r}")

    def _gain(self, tau, dt, r, d):
        """Input gain of a leaky integrator (v' = d v + g x); also returns the
        native -> NIR voltage factor."""
        s = self.input_scale
        if s == "euler":
            return dt / tau * r, 1.0
        if s == "exact":
            return (1.0 - d) * r, 1.0
        if s == "unit":
            return jnp.ones_like(tau), 1.0
        if s == "threshold":
            return jnp.ones_like(tau), dt / tau * r
        if s == "gain_only":
            return dt / tau + 0 * r, 1.0
        raise ValueError(f"unknown input_scale {s!r} for a leaky neuron")

    def neuron_coeffs(self, name, node, dt, reset):
        """Step coefficients of one neuron node (native units) as a dict of arrays."""
        dt_n = self.step_dt(node, dt)
        ig = self.ignores
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        one = z + 1.0
        r = one if "r" in ig else getattr(node, "r", one) + z
        v_leak = z if "v_leak" in ig else getattr(node, "v_leak", z) + z
        c = dict(ds=z, gs=z, cs=z, dm=one, a_new=z, a_old=z, a_x=z, cm=z, v_unit=one, i_unit=one,
                 v0=z, i0=z)
        if isinstance(node, (LIF, LI)):
            d = self._decay(node.tau, dt_n)
            g, unit = self._gain(node.tau, dt_n, r, d)
            c.update(dm=d + z, a_x=g + z, v_unit=unit + z)
            lg = (1.0 - d) if self.input_scale == "exact" else dt_n / node.tau
            c["cm"] = (lg * v_leak) / unit + z if self.input_scale != "unit" else v_leak * (1.0 - d) + z
            c["v0"] = v_leak / unit
        elif isinstance(node, (IF, I)):
            s = self.input_scale
            if s in ("euler", "exact"):
                g, unit = dt_n * r, 1.0
            elif s in ("unit", "gain_only"):
                g, unit = one, 1.0
            elif s == "threshold":
                g, unit = one, dt_n * r
            else:
                raise ValueError(f"unknown input_scale {s!r}")
            c.update(a_x=g + z, v_unit=unit + z)
        elif isinstance(node, (CubaLIF, CubaLI)):
            w_in = one if "w_in" in ig else node.w_in + z
            ds = self._decay(node.tau_syn, dt_n)
            dm = self._decay(node.tau_mem, dt_n)
            s = self.input_scale
            if s == "euler":
                gs, am, unit_i, unit_v = dt_n / node.tau_syn * w_in, dt_n / node.tau_mem * r, 1.0, 1.0
            elif s == "exact":
                gs, am, unit_i, unit_v = (1.0 - ds) * w_in, (1.0 - dm) * r, 1.0, 1.0
            elif s == "unit":
                gs, am, unit_i, unit_v = one, one, 1.0, 1.0
            elif s == "threshold":
                # snnTorch Synaptic: I' = alpha I + x, v' = beta v + I'; theta' = theta tau_syn/(w_in dt).
                unit_i = dt_n / node.tau_syn * w_in
                unit_v = unit_i * dt_n / node.tau_mem * r
                gs, am = one, one
            elif s == "euler_w_in":
                gs, am, unit_i, unit_v = w_in, one, 1.0, 1.0
            else:
                raise ValueError(f"unknown input_scale {s!r} for CubaLIF")
            if self.synapse_order == "add_then_decay":
                gs = ds * gs
            c.update(ds=ds + z, gs=gs + z, dm=dm + z, i_unit=unit_i + z, v_unit=unit_v + z)
            leak = (1.0 - dm) if self.decay == "exact" else dt_n / node.tau_mem
            if self.input_scale == "unit":
                leak = one
            c["cm"] = leak * v_leak / unit_v + z
            c["v0"] = v_leak / unit_v + z
            if self.coupling == "new":
                c["a_new"] = am + z
            elif self.coupling == "old":
                c["a_old"] = am + z
            elif self.coupling == "exact":
                # v' = dm v + K I + ((1 - dm) r w_in - K w_in) x + (1 - dm) v_leak  (exact ZOH, DESIGN rule 8)
                delta = 1.0 / node.tau_syn - 1.0 / node.tau_mem
                k = dm * dt_n * phi(-delta * dt_n) * r / node.tau_mem
                c["a_old"] = k * unit_i / unit_v + z
                c["a_x"] = ((1.0 - dm) * r * w_in - k * w_in) / unit_v + z
                if self.input_scale != "exact" or self.decay != "exact":
                    raise PlatformError(
                        f"coupling='exact' needs decay='exact' and input_scale='exact' (node {name!r})."
                    )
                c["cm"] = (1.0 - dm) * v_leak + z
            else:
                raise ValueError(f"unknown coupling {self.coupling!r}")
        else:
            raise PlatformError(f"node {name!r} ({_kind(node)}) is not a neuron")

        spiking = getattr(node, "spiking", False)
        if spiking:
            theta = node.v_threshold + z
            vr = z if "v_reset" in ig else node.v_reset + z
            c["theta"] = theta / c["v_unit"]
            c["v_reset"] = vr / c["v_unit"]
        else:
            c["theta"] = z + jnp.inf
            c["v_reset"] = z
        c["spike_out"] = one  # per-neuron factor on the spike value (Nengo amplitudes)
        floor = self.floor
        c["v_floor"] = (-c["theta"] if floor == "minus_theta" else z if floor == "zero" else z - jnp.inf)
        c["v_min"] = z - jnp.inf
        c["v_max"] = z + jnp.inf
        return c

    # -- maps -----------------------------------------------------------------
    def maps(self, net, dt):
        """The map nodes as the platform applies them (quantized where it quantizes)."""
        return {n: m for n, m in net.nodes.items() if isinstance(m, Map)}

    # -- program --------------------------------------------------------------
    def program(self, net, *, dt, spike_area=1.0, reset=None):
        """Compile ``net`` into a :class:`Program` for this platform."""
        self.check(net)
        reset_rule = self.reset
        if reset is not None:
            if reset not in self.reset_options:
                raise PlatformError(
                    f"Platform {self.name!r} resets by {self.reset!r} and cannot be configured with "
                    f"reset={reset!r} (options: {list(self.reset_options) or 'none'})."
                )
            reset_rule = {"subtract": "subtract", "zero": "zero", "v_reset": "v_reset", "nir": "v_reset"}[reset]
        from ._rules import RESET_CODES

        neurons = {}
        for n in net.neurons:
            c = self.neuron_coeffs(n, net.nodes[n], dt, reset_rule)
            z = jnp.zeros(net.nodes[n].shape, dtype=jnp.result_type(float))
            flags = dict(ge=float(self.threshold_test == ">="), cap=float(self.spikes_per_step),
                         reset_mode=RESET_CODES[self.reset_for(net.nodes[n], reset_rule)],
                         reset_next=float(self.reset_timing == "next"))
            neurons[n] = {k: jnp.asarray(v, dtype=z.dtype) + z for k, v in {**flags, "spike_out": 1.0, **c}.items()}
        maps = self.maps(net, dt)
        if self.order == "fire_first":
            # every spike of the step is known before any input is summed: maps, then neurons
            order = tuple(net.inputs) + tuple(net.map_order) + tuple(net.neurons) + tuple(net.outputs)
            back = frozenset()
        else:
            order, back = execution_order(net, self.executor_order)
        delayed_out, delayed_in = self._latency_sets(net)
        delayed_edges = self._delayed_edges(net, back)
        if self.spike_value == "unit":
            sv = 1.0
        elif self.spike_value == "area":
            sv = spike_area / dt
        elif self.spike_value == "per_dt":
            sv = 1.0 / dt
        else:
            raise ValueError(f"unknown spike_value {self.spike_value!r}")
        return Program(
            neurons=neurons,
            maps=maps,
            spike_value=jnp.asarray(sv, dtype=jnp.result_type(float)),
            kernel=self.kernel_name(),
            fire_first=self.order == "fire_first",
            order=order,
            back=back,
            delayed_outputs=delayed_out,
            delayed_edges=delayed_edges,
            delayed_inputs=delayed_in,
            predecessors=net.predecessors,
            inputs=net.inputs,
            outputs=net.outputs,
            output_shapes=net.output_shapes,
            spiking=net.spiking,
            kinds=tuple((n, _kind(net.nodes[n])) for n in net.nodes),
            drop_back_bias=self.drop_back_bias(),
            no_bias=tuple(sorted({p for (p, _) in execution_order(net)[1] if p in maps})) if self.drop_back_bias() else (),
            fire_after_decay=self.fire_after_decay(net),
            single_input=tuple(self.single_input(net)),
            late_reset=self.reset_timing == "next",
            multi_spike=int(self.spikes_per_step) > 1,
            reset_rules=tuple((n, self.reset_for(net.nodes[n], reset_rule)) for n in net.neurons),
            bounded=_any_bound(neurons),
            thresholds={n: jnp.asarray(net.nodes[n].threshold, dtype=jnp.result_type(float))
                        + jnp.zeros(net.nodes[n].shape, dtype=jnp.result_type(float)) for n in net.thresholds},
            delay_steps=tuple((d, tuple(net.nodes[d].shape), _whole_steps(d, net.nodes[d].delay, dt))
                              for d in net.delays),
        )

    def drop_back_bias(self):
        return False

    def single_input(self, net):
        """Nodes that receive only their first in-edge (an executor quirk; default none)."""
        return ()

    def reset_for(self, node, rule):
        """The reset rule of one neuron node (default: the platform's)."""
        return rule

    def fire_after_decay(self, net):
        """Neurons whose fire-first reset lands after the decay (``v = beta v + x - s theta``)."""
        return ()

    def kernel_name(self):
        return "float"

    def _delayed_edges(self, net, back):
        if self.latency != "per_hidden_hop":
            return frozenset()
        out = set()
        for n in net.neurons:
            for m in net.preds(n):
                if (m, n) in back or m in net.inputs:
                    continue
                srcs = net.upstream_sources(m) | ({m} if m in net.nodes and not isinstance(net.nodes[m], Map) else set())
                if any(q in net.nodes and getattr(net.nodes[q], "spiking", False) for q in srcs):
                    out.add((m, n))
        return frozenset(out)

    def _latency_sets(self, net):
        lat = self.latency
        if lat == "same":
            return (), ()
        if lat == "per_weight":
            return tuple(n for n, m in net.nodes.items() if isinstance(m, (Affine, Linear, Conv))), ()
        if lat == "per_projection":
            return (), tuple(net.neurons)
        if lat == "per_synapse":
            return (), tuple(n for n in net.neurons if isinstance(net.nodes[n], (CubaLIF, CubaLI)))
        if lat == "per_hidden_hop":
            return (), ()  # edge-level: see _delayed_edges
        raise ValueError(f"unknown latency {lat!r}")


ARRAY_FIELDS = ("neurons", "maps", "spike_value", "thresholds")


@dataclasses.dataclass(frozen=True)
class Program:
    """A graph compiled for one platform: what the stepped executor runs.

    Array fields (``neurons``, ``maps``, ``spike_value``, ``thresholds``) are a pytree;
    the rest is static wiring. ``order`` lists every node (inputs, maps, neurons) in
    evaluation order; an edge ``(src, dst)`` in ``back`` reads ``src``'s value of
    the previous step; consumers read the previous-step output of the nodes in
    ``delayed_outputs``; every in-edge of a neuron in ``delayed_inputs`` reads the
    previous step (a back edge, already +1, is not delayed twice).
    """

    neurons: dict
    maps: dict
    spike_value: object
    kernel: str
    fire_first: bool
    order: tuple
    back: frozenset
    delayed_outputs: tuple
    delayed_inputs: tuple
    predecessors: tuple
    inputs: tuple
    outputs: tuple
    output_shapes: tuple
    spiking: tuple
    kinds: tuple
    drop_back_bias: bool = False
    fire_after_decay: tuple = ()
    single_input: tuple = ()
    no_bias: tuple = ()
    delayed_edges: frozenset = frozenset()
    """Edges ``(src, dst)`` that read the previous step (a back edge is never delayed twice)."""
    late_reset: bool = True
    """Whether any neuron may reset one step late (else the executor skips that path)."""
    multi_spike: bool = True
    """Whether any neuron may emit several spikes per step (else the count path is skipped)."""
    reset_rules: tuple = ()
    """(neuron, rule) pairs: the reset of each neuron node, static (empty: read ``reset_mode``)."""
    bounded: bool = True
    """Whether any neuron has a floor or saturation (else the executor skips the clip)."""
    thresholds: dict = dataclasses.field(default_factory=dict)
    """Threshold node -> its threshold (array, part of the pytree): one spike in the step
    where the input rises from below to at or above it."""
    delay_steps: tuple = ()
    """(Delay node, shape, whole steps per element as a nested tuple): the node outputs its
    input of that many steps earlier (0 before the first step)."""

    def preds(self, name):
        return dict(self.predecessors).get(name, ())

    def static(self):
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                     if f.name not in ARRAY_FIELDS)


def _kind(node):
    if isinstance(node, Conv):
        return "Conv"
    for cls in (LIF, IF, LI, I, CubaLIF, CubaLI, Affine, Linear, Scale, Pool2d, Flatten, Identity,
                Threshold, Delay):
        if type(node) is cls:
            return cls.__name__
    return type(node).__name__


kind_of = _kind


def execution_order(net, rule="topological"):
    """Evaluation order of all nodes and the back edges of cycles.

    ``'topological'``: a depth-first post-order from the inputs, reversed (a
    topological order of the graph without its back edges). ``'nirtorch_dfs'``:
    nirtorch 2.x GraphExecutor's pre-order walk from the inputs (a node runs
    when first reached; an in-edge from a node not yet run reads the previous
    step), which delays the later branch of a diamond by one step.
    """
    preds = dict(net.predecessors)
    names = list(net.inputs) + list(net.nodes) + list(net.outputs)
    succ = {n: [] for n in names}
    for dst, ps in preds.items():
        for p in ps:
            succ.setdefault(p, []).append(dst)
    if rule == "topological":
        state, post = {}, []

        def visit(n):
            stack = [(n, iter(succ.get(n, ())))]
            state[n] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    post.append(node)
                    stack.pop()
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ.get(nxt, ()))))

        for n in names:
            if n not in state:
                visit(n)
        order = tuple(reversed(post))
    elif rule == "nirtorch_dfs":
        seen, order_l = set(), []

        def pre(n):
            if n in seen:
                return
            seen.add(n)
            order_l.append(n)
            for s in succ.get(n, ()):
                pre(s)

        for n in names:
            pre(n)
        order = tuple(order_l)
    else:
        raise ValueError(f"unknown executor_order {rule!r}")
    pos = {n: i for i, n in enumerate(order)}
    back = frozenset((p, d) for d, ps in preds.items() for p in ps if pos[p] >= pos[d])
    return order, back


def quantize_symmetric(w, scale, lo, hi):
    """``clip(round(w*scale), lo, hi)`` with round-half-to-even."""
    return jnp.clip(jnp.round(w * scale), lo, hi)


def as_float(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _np(x):
    return np.asarray(x)


__all__ = ["AXES", "AXIS_DOC", "Platform", "PlatformError", "Program", "execution_order", "kind_of", "math"]


def _any_bound(neurons) -> bool:
    """Whether any neuron has a finite floor or saturation (``v_floor``, ``v_min``,
    ``v_max``): read from the coefficients themselves, so a per-node floor (Sinabs IF
    ``min_v_mem``) is never skipped; traced coefficients count as bounded."""
    for c in neurons.values():
        for k in ("v_floor", "v_min", "v_max"):
            a = c.get(k)
            if a is None:
                continue
            if isinstance(a, jax.core.Tracer) or np.any(np.isfinite(np.asarray(a))):
                return True
    return False


def _whole_steps(name, delay, dt):
    """A Delay node's delay in whole steps of ``dt`` (per element, as a nested tuple). A
    time-stepped model can only delay by whole steps: anything else is refused, not rounded."""
    if isinstance(delay, jax.core.Tracer):
        raise PlatformError(f"Delay node {name!r}: a time-stepped model needs a concrete delay (its buffer "
                            "length is static); do not trace the delay through jit/vmap/grad.")
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
