"""What a time-stepped platform means: a point in the space of discretization axes.

A :class:`Platform` is an immutable value: one explicit, validated choice per axis of
``shared/PLATFORMS.md`` (``AXES``), plus named quirk switches of the released version it
models. It holds no per-graph state. :func:`~semantics.platforms.program` turns a graph into
a :class:`~semantics.platforms.Program` by asking the platform, node by node, for its rule
(:meth:`Platform.neuron_rule`), its coefficients (:meth:`Platform.neuron_coeffs`) and its maps
(:meth:`Platform.maps`); graph-level mapping choices (a chip's weight scales) are computed by
:meth:`Platform.mapping` inside that build and handed back in, never stored on the instance.

Notation per step of length ``dt``: ``x`` the summed input of a neuron node, ``a = dt/tau``
(forward-Euler factor), ``d = exp(-dt/tau)`` (exact decay). The float step rule is in
:mod:`semantics.platforms.rules`.

Every coefficient is computed with ``jax.numpy`` from the node's parameters, so a Program can
be built from traced parameters (``jax.grad``/``jax.vmap``/``jax.jit`` over the graph); checks
that need parameter values are :class:`Check` records (a predicate and a message), which
``program()`` raises eagerly where the values are concrete and turns into ``eqx.error_if``
where they are traced.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from ..errors import PlatformError
from ..events import Delay, Threshold
from ..maps import Affine, Conv, Flatten, Identity, Linear, Map, Pool2d, Scale
from ..neurons import IF, LI, LIF, CubaLI, CubaLIF, I
from ..resets import RESETS
from ..trajectory import phi
from .rules import NeuronRule

AXES = (
    "decay",
    "synapse_decay",
    "input_scale",
    "weight_gain",
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
    "initial_state",
)
"""The discretization axes, in the order attribution switches them."""

AXIS_VALUES = {
    "decay": ("euler", "exact", "dash"),
    "synapse_decay": ("euler", "exact", "dash"),
    "input_scale": ("euler", "exact", "unit", "threshold", "gain_only"),
    "weight_gain": ("none", "dt_over_tau"),
    "coupling": ("new", "old", "exact"),
    "synapse_order": ("decay_then_add", "add_then_decay"),
    "order": ("integrate_fire_reset", "fire_first"),
    "threshold_test": (">", ">="),
    "spikes_per_step": "a positive int",
    "reset": RESETS,
    "reset_timing": ("same", "next", "next_recurrent"),
    "latency": ("same", "per_weight", "per_projection", "per_synapse", "per_hidden_hop"),
    "executor_order": ("topological", "nirtorch_dfs"),
    "quantization": (None, "loihi2", "xylo", "speck", "spinnaker2_int8"),
    "floor": (None, "minus_theta", "minus_theta_if", "zero"),
    "dt_convention": ("argument", "fixed_1e-4", "steps", "rockpool_inferred"),
    "ignores": "a set of parameter names {'r', 'v_leak', 'w_in', 'v_reset'}, each optionally "
               "qualified by a neuron kind ('LIF.r': only LIF nodes)",
    "spike_value": ("unit", "area", "per_dt"),
    "initial_state": ("rest", "zero"),
}
"""The valid values of every axis."""

AXIS_DOC = {
    "decay": "membrane decay per step: 'euler' 1 - dt/tau | 'exact' exp(-dt/tau) | 'dash' 1 - 2^-round(log2(tau/dt)) "
             "(Xylo bit shift)",
    "synapse_decay": "synaptic current decay per step (same values as decay; Nengo's Lowpass matches Euler)",
    "input_scale": "input gain of a neuron: 'euler' a r | 'exact' (1 - d) r with d the decay used | 'unit' 1 (tau, r "
                   "ignored) | 'threshold' 1 with the threshold rescaled to theta/(a r) (native units) | 'gain_only' "
                   "dt/tau without r (CubaLIF: w_in into the current, 1 into v; Spyx 0.1.x)",
    "weight_gain": "mapping: 'none' | 'dt_over_tau' every weight map into a LIF is multiplied by its r dt/tau (the "
                   "NIR paper's Lava, Loihi 2 and Rockpool LIF runs did this by hand; applied before quantisation)",
    "coupling": "how v sees the current: 'new' (I after this step's update) | 'old' | 'exact' (2x2 ZOH propagator)",
    "synapse_order": "'decay_then_add' I' = ds I + g x | 'add_then_decay' I' = ds (I + g x) (Rockpool)",
    "order": "'integrate_fire_reset' | 'fire_first' (fire from the previous v, reset, integrate: Spyx)",
    "threshold_test": "'>' | '>='",
    "spikes_per_step": "1 = binary; N > 1: floor(v/theta) spikes capped at N",
    "reset": "'zero' | 'subtract' (n theta) | 'v_reset'",
    "reset_timing": "'same' step | 'next' step | 'next_recurrent': next step in recurrent CubaLIF layers only (a "
                    "CubaLIF in a 2-cycle with one Affine/Linear: snnTorch 0.9.4 RSynaptic)",
    "latency": "'same' step | 'per_weight' +1 per weight map (Loihi Dense) | 'per_projection' +1 into every neuron "
               "(SpiNNaker2) | 'per_synapse' +1 into every CubaLIF (Nengo's Lowpass) | 'per_hidden_hop' +1 for "
               "spikes of neurons (Xylo); back edges of cycles are +1 everywhere",
    "executor_order": "'topological' | 'nirtorch_dfs' (nirtorch GraphExecutor pre-order: a late diamond branch "
                      "arrives one step late)",
    "quantization": "None (float) | 'loihi2' | 'xylo' | 'speck' | 'spinnaker2_int8'",
    "floor": "None | 'minus_theta' (every neuron) | 'minus_theta_if' (IF only: Sinabs min_v_mem) | 'zero' (Nengo)",
    "dt_convention": "'argument' | 'fixed_1e-4' (snnTorch) | 'steps' (tau read in steps: Sinabs) | "
                     "'rockpool_inferred' (dt = min(tau_mem/(1+r)) per layer)",
    "ignores": "NIR parameters the platform drops: 'r', 'v_leak', 'w_in', 'v_reset', or 'KIND.param' for one kind",
    "spike_value": "what a spike carries into the next node for one step: 'unit' 1 | 'area' q/dt (the ideal "
                   "charge q) | 'per_dt' 1/dt (Nengo's amplitudes)",
    "initial_state": "the state a run starts from unless told otherwise: 'rest' (v = v_leak as the platform sees "
                     "it, i_syn = 0) | 'zero' (v = i_syn = 0)",
}

IGNORABLE = ("r", "v_leak", "w_in", "v_reset")
NEURON_KINDS = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI")


def ideal_axes(reset=None):
    """The value of every axis under the ideal semantics (DESIGN.md): exact propagators, the
    spike as its charge ``q``, one reset rule (``reset``: None = ``'v_reset'``)."""
    return dict(
        decay="exact", synapse_decay="exact", input_scale="exact", weight_gain="none", coupling="exact",
        synapse_order="decay_then_add", order="integrate_fire_reset", threshold_test=">=", spikes_per_step=1,
        reset=reset or "v_reset", reset_timing="same", latency="same", executor_order="topological",
        quantization=None, floor=None, dt_convention="argument", ignores=frozenset(), spike_value="area",
        initial_state="rest",
    )


class Check(NamedTuple):
    """A refusal that depends on parameter values: ``pred`` (a boolean array, True = refuse)
    for node ``node``; ``message`` says which rule refuses and what to do."""

    node: str
    pred: object
    message: str


def kind_of(node) -> str:
    """The NIR kind of a node of a loaded graph ('LIF', 'Conv', ...)."""
    if isinstance(node, Conv):
        return "Conv"
    for cls in (LIF, IF, LI, I, CubaLIF, CubaLI, Affine, Linear, Scale, Pool2d, Flatten, Identity, Threshold, Delay):
        if type(node) is cls:
            return cls.__name__
    return type(node).__name__


def _norm_ignores(val):
    if isinstance(val, str):
        val = (val,)
    try:
        out = frozenset(val)
    except TypeError:
        raise ValueError(f"ignores must be a set of parameter names, got {val!r}.") from None
    for item in out:
        kind, _, par = item.rpartition(".")
        if par not in IGNORABLE or (kind and kind not in NEURON_KINDS):
            raise ValueError(
                f"ignores: unknown entry {item!r}; entries are {list(IGNORABLE)}, optionally qualified by a "
                f"neuron kind {list(NEURON_KINDS)} ('LIF.r')."
            )
    return out


@dataclasses.dataclass(frozen=True)
class Platform:
    """A time-stepped execution model of NIR (abstract: the platforms are its final subclasses).

    Every field is an axis (``AXES``, validated against ``AXIS_VALUES``), the ``version`` label of
    the preset it was built from, or a quirk switch / mapping option of the subclass. Fields are
    never rewritten after construction: ``p.replace(axis=v).axis == v``. Version presets are
    constructors (:meth:`preset`) that write the axes of that version out.
    """

    name: ClassVar[str] = "abstract"
    source: ClassVar[str] = ""
    supported: ClassVar[tuple] = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI", "Affine", "Linear", "Scale", "Conv",
                                  "Pool2d", "Flatten", "Identity", "Threshold", "Delay")
    units: ClassVar[str] = "NIR volts"
    reset_options: ClassVar[tuple] = ()
    """The resets a user may select with ``reset=`` (empty: the platform's rule is fixed)."""
    PRESETS: ClassVar[dict] = {}
    """preset name -> the field values of that configuration (every other field: the defaults)."""
    QUIRKS: ClassVar[dict] = {}
    """quirk field -> (description, the value that switches it off)."""
    OPTIONS: ClassVar[dict] = {}
    """mapping option field -> its valid values (not axes, not quirks)."""

    version: str = ""
    decay: str = "exact"
    synapse_decay: str = "exact"
    input_scale: str = "exact"
    weight_gain: str = "none"
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
    initial_state: str = "rest"

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for base in cls.__mro__[1:]:
            if base is not Platform and issubclass(base, Platform):
                raise TypeError(f"{base.__name__} is a final platform; subclass Platform instead (and register it).")

    def __post_init__(self):
        if type(self) is Platform:
            raise TypeError("Platform is abstract: use a registered platform (nirjax.get_platform(name)).")
        object.__setattr__(self, "ignores", _norm_ignores(self.ignores))  # a set -> frozenset (same value)
        for ax in AXES:
            val = getattr(self, ax)
            ok = AXIS_VALUES[ax]
            if ax == "spikes_per_step":
                if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                    raise ValueError(f"{self.name}: spikes_per_step must be a positive int, got {val!r}.")
            elif ax != "ignores" and val not in ok:
                raise ValueError(f"{self.name}: unknown {ax} {val!r}; valid values: {list(ok)}.")
        for q, (_, off) in self.QUIRKS.items():
            if not isinstance(getattr(self, q), type(off)):
                raise ValueError(f"{self.name}: quirk {q!r} must be a {type(off).__name__}, got {getattr(self, q)!r}.")
        for o, ok in self.OPTIONS.items():
            if getattr(self, o) not in ok:
                raise ValueError(f"{self.name}: unknown {o} {getattr(self, o)!r}; valid values: {list(ok)}.")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def preset(cls, name, **overrides):
        """The configuration called ``name`` (``cls.PRESETS``), with ``overrides`` applied."""
        if name not in cls.PRESETS:
            raise ValueError(f"{cls.name}: unknown preset {name!r}; presets: {sorted(cls.PRESETS)}.")
        return cls(**{**cls.PRESETS[name], **overrides})

    @classmethod
    def options(cls):
        """The names of the fields a user may set (axes, quirks, mapping options, version)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes):
        """This platform with ``changes`` applied (validated; nothing else changes)."""
        bad = set(changes) - set(self.options())
        if bad:
            raise TypeError(f"Platform {self.name!r} has no option(s) {sorted(bad)}; its options are "
                            f"{list(self.options())}.")
        return dataclasses.replace(self, **changes)

    def quirk_switches(self):
        """Quirk fields and the value that switches each off (for attribution)."""
        return {q: off for q, (_, off) in self.QUIRKS.items()}

    def quirks(self):
        """Version quirks (description -> on/off) this platform models."""
        return {desc: getattr(self, q) != off for q, (desc, off) in self.QUIRKS.items()}

    def describe(self):
        lines = [f"{self.name} {self.version}".strip(), f"  source: {self.source}"]
        for ax in AXES:
            lines.append(f"  {ax:16s} {getattr(self, ax)!r}")
        for o in self.OPTIONS:
            lines.append(f"  {o:16s} {getattr(self, o)!r}")
        for q, v in self.quirks().items():
            lines.append(f"  quirk {q}: {v}")
        return "\n".join(lines)

    # -- checks (structure: Python; values: Check records) ----------------------------------
    def check(self, net):
        """Raise :class:`PlatformError` for a node or an axis combination this platform cannot
        run (structure only: kinds, wiring, shapes)."""
        self.check_axes()
        for name, node in net.nodes.items():
            kind = kind_of(node)
            if kind not in self.supported:
                raise PlatformError(
                    f"Platform {self.name!r} ({self.version}) cannot run node {name!r} ({kind}): "
                    f"{self.reject_reason(kind)}"
                )
            if kind in ("Threshold", "Delay") and self.order == "fire_first":
                raise PlatformError(
                    f"Platform {self.name!r} with order='fire_first' cannot run node {name!r} ({kind}): that order "
                    "sums every map before any neuron fires, which leaves no place for a node that reads and "
                    "emits within the step. Use order='integrate_fire_reset'."
                )
        if self.input_scale != "exact" or self.decay != "exact" or self.synapse_decay != "exact":
            if self.coupling == "exact" and any(isinstance(net.nodes[n], (CubaLIF, CubaLI)) for n in net.neurons):
                raise PlatformError(
                    f"{self.name}: coupling='exact' (the 2x2 ZOH propagator) needs decay='exact', synapse_decay="
                    "'exact' and input_scale='exact'."
                )

    def check_axes(self):
        """Raise for axis combinations the platform's rules cannot express."""
        return None

    def reject_reason(self, kind):
        return f"it supports only {', '.join(self.supported)}."

    def value_checks(self, net, dt):
        """Refusals that depend on parameter values: a list of :class:`Check`."""
        return []

    def reset_rule(self, reset):
        """The reset rule for the run option ``reset`` (None: the platform's own)."""
        if reset is None:
            return self.reset
        if reset not in self.reset_options:
            if reset not in RESETS:
                raise ValueError(f"reset must be None or one of {list(RESETS)}, got {reset!r}.")
            raise PlatformError(
                f"Platform {self.name!r} resets by {self.reset!r} and cannot be configured with "
                f"reset={reset!r} (options: {list(self.reset_options) or 'none'})."
            )
        return reset

    # -- the dt convention ------------------------------------------------------------------
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
        raise AssertionError(c)

    def ignored(self, node, param):
        return param in self.ignores or f"{kind_of(node)}.{param}" in self.ignores

    # -- graph-level mapping ----------------------------------------------------------------
    def mapping(self, net, dt):
        """Graph-level mapping values (e.g. a chip's weight scales) as a pytree of arrays; computed
        once per program build and passed to :meth:`maps` and :meth:`neuron_coeffs`."""
        return {}

    def weight_gains(self, net, dt):
        """``weight_gain='dt_over_tau'``: map -> per-output-row factor ``r dt/tau`` of the LIF it feeds."""
        if self.weight_gain == "none":
            return {}
        out = {}
        for n in net.neurons:
            node = net.nodes[n]
            if not isinstance(node, LIF):
                continue
            r = 1.0 if self.ignored(node, "r") else node.r
            k = r * self.step_dt(node, dt) / node.tau
            for m in net.preds(n):
                if m in net.nodes and isinstance(net.nodes[m], (Affine, Linear)):
                    out[m] = k
        return out

    # -- per node ------------------------------------------------------------------------------
    def neuron_rule(self, net, name, reset):
        """The static step rule of neuron node ``name`` of ``net``."""
        node = net.nodes[name]
        spiking = getattr(node, "spiking", False)
        order = self.order
        if order == "fire_first" and spiking and self.fire_first_reset_after_decay(node):
            order = "fire_first_reset_after_decay"
        timing = self.reset_timing
        if timing == "next_recurrent":
            timing = "next" if isinstance(node, CubaLIF) and name in recurrent_layers(net) else "same"
        return NeuronRule(
            kernel="float", synapse=isinstance(node, (CubaLIF, CubaLI)), spiking=spiking,
            threshold_test=self.threshold_test, cap=int(self.spikes_per_step), reset=reset,
            reset_timing=timing, order=order if spiking else "integrate_fire_reset",
        )

    def fire_first_reset_after_decay(self, node):
        """Whether a fire-first neuron subtracts after its decay (``v = beta v + x - s theta``)."""
        return False

    def _decay(self, tau, dt, which):
        rule = self.decay if which == "mem" else self.synapse_decay
        if rule == "euler":
            return 1.0 - dt / tau
        if rule == "exact":
            return jnp.exp(-dt / tau)
        if rule == "dash":
            dash = jnp.round(jnp.log2(tau / dt))
            return 1.0 - 2.0 ** (-dash)
        raise AssertionError(rule)

    def neuron_coeffs(self, name, node, dt, mapping):
        """Step coefficients of one neuron node in native units (a dict of arrays; an absent key
        is an absent term). Also ``v_unit``/``i_unit`` (NIR volts per native unit), ``spike_out``
        (a per-neuron factor on the spike value) and ``v_rest`` (the resting v, native)."""
        dt_n = self.step_dt(node, dt)
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        one = z + 1.0
        r = one if self.ignored(node, "r") else getattr(node, "r", one) + z
        v_leak = z if self.ignored(node, "v_leak") else getattr(node, "v_leak", z) + z
        s = self.input_scale
        c = {}
        if isinstance(node, (LIF, LI)):
            d = self._decay(node.tau, dt_n, "mem")
            if s == "euler":
                g, unit = dt_n / node.tau * r, 1.0
            elif s == "exact":
                g, unit = (1.0 - d) * r, 1.0
            elif s == "unit":
                g, unit = one, 1.0
            elif s == "threshold":
                g, unit = one, dt_n / node.tau * r
            else:  # gain_only
                g, unit = dt_n / node.tau + 0 * r, 1.0
            c.update(dm=d + z, a_x=g + z, v_unit=unit + z)
            lg = (1.0 - d) if s == "exact" else dt_n / node.tau
            c["cm"] = (lg * v_leak) / unit + z if s != "unit" else v_leak * (1.0 - d) + z
            c["v_rest"] = v_leak / unit + z
        elif isinstance(node, (IF, I)):
            if s in ("euler", "exact"):
                g, unit = dt_n * r, 1.0
            elif s in ("unit", "gain_only"):
                g, unit = one, 1.0
            else:  # threshold: no tau, threshold theta/r
                g, unit = one, r
            c.update(dm=one, a_x=g + z, v_unit=unit + z, v_rest=z)
        elif isinstance(node, (CubaLIF, CubaLI)):
            w_in = one if self.ignored(node, "w_in") else node.w_in + z
            ds = self._decay(node.tau_syn, dt_n, "syn")
            dm = self._decay(node.tau_mem, dt_n, "mem")
            unit_i, unit_v = 1.0, 1.0
            if s == "euler":
                gs, am = dt_n / node.tau_syn * w_in, dt_n / node.tau_mem * r
            elif s == "exact":
                gs, am = (1.0 - ds) * w_in, (1.0 - dm) * r
            elif s == "unit":
                gs, am = one, one
            elif s == "threshold":
                # snnTorch Synaptic: I' = alpha I + x, v' = beta v + I'; theta' = theta tau_syn/(w_in dt).
                unit_i = dt_n / node.tau_syn * w_in
                unit_v = unit_i * dt_n / node.tau_mem * r
                gs, am = one, one
            else:  # gain_only (Spyx 0.1.x): weights x w_in into the current, v' = beta v + I'
                gs, am = w_in, one
            if self.synapse_order == "add_then_decay":
                gs = ds * gs
            c.update(ds=ds + z, gs=gs + z, dm=dm + z, i_unit=unit_i + z, v_unit=unit_v + z)
            leak = (1.0 - dm) if self.decay == "exact" else dt_n / node.tau_mem
            if s == "unit":
                leak = one
            c["cm"] = leak * v_leak / unit_v + z
            c["v_rest"] = v_leak / unit_v + z
            if self.coupling == "new":
                c["a_new"] = am + z
            elif self.coupling == "old":
                c["a_old"] = am + z
            else:
                # v' = dm v + K I + ((1 - dm) r w_in - K w_in) x + (1 - dm) v_leak  (exact ZOH, DESIGN rule 8)
                delta = 1.0 / node.tau_syn - 1.0 / node.tau_mem
                k = dm * dt_n * phi(-delta * dt_n) * r / node.tau_mem
                c["a_old"] = k * unit_i / unit_v + z
                c["a_x"] = ((1.0 - dm) * r * w_in - k * w_in) / unit_v + z
                c["cm"] = (1.0 - dm) * v_leak + z
        else:
            raise PlatformError(f"node {name!r} ({kind_of(node)}) is not a neuron")
        c.setdefault("i_unit", one)
        if getattr(node, "spiking", False):
            c["theta"] = (node.v_threshold + z) / c["v_unit"]
            c["v_reset"] = (z if self.ignored(node, "v_reset") else node.v_reset + z) / c["v_unit"]
            if self.floor == "minus_theta" or (self.floor == "minus_theta_if" and isinstance(node, IF)):
                c["v_floor"] = -c["theta"]
        if self.floor == "zero":
            c["v_floor"] = z
        return c

    # -- maps ---------------------------------------------------------------------------------
    def maps(self, net, dt, mapping):
        """The map nodes as the platform applies them (scaled, quantized, bias dropped, ...)."""
        out = {n: m for n, m in net.nodes.items() if isinstance(m, Map)}
        for m, k in self.weight_gains(net, dt).items():
            out[m] = set_weights(out[m], out[m].weight * jnp.reshape(k, (-1, 1)))
        return out

    # -- wiring ---------------------------------------------------------------------------------
    def fires_first(self):
        return self.order == "fire_first"

    def wiring(self, net):
        """``(order, predecessors, delayed)``: the evaluation order of every node, the in-edges as
        the platform's executor runs them, and the edges ``(src, dst)`` that read ``src``'s value of
        the previous step (back edges of cycles and the latency axis, one set)."""
        preds = self.edges(net)
        for n in self.single_input(net):
            preds[n] = preds[n][:1]
        if self.fires_first():
            # every spike of the step is known before any input is summed: maps, then neurons
            order = tuple(net.inputs) + tuple(net.map_order) + tuple(net.neurons) + tuple(net.outputs)
            back = frozenset()
        else:
            order, back = execution_order(net, self.executor_order, preds)
        delayed = set(back)
        lat = self.latency
        weights = {n for n, m in net.nodes.items() if isinstance(m, (Affine, Linear, Conv))}
        for dst, ps in preds.items():
            for p in ps:
                if lat == "per_weight" and p in weights:
                    delayed.add((p, dst))
                elif lat == "per_projection" and dst in net.neurons:
                    delayed.add((p, dst))
                elif lat == "per_synapse" and dst in net.neurons and isinstance(net.nodes[dst], (CubaLIF, CubaLI)):
                    delayed.add((p, dst))
        if lat == "per_hidden_hop":
            for n in net.neurons:
                for m in preds.get(n, ()):
                    if (m, n) in back or m in net.inputs:
                        continue
                    srcs = net.upstream_sources(m) | ({m} if m in net.nodes and not isinstance(net.nodes[m], Map)
                                                      else set())
                    if any(q in net.nodes and getattr(net.nodes[q], "spiking", False) for q in srcs):
                        delayed.add((m, n))
        return order, tuple(sorted((k, tuple(v)) for k, v in preds.items())), frozenset(delayed)

    def edges(self, net):
        """The in-edges ``{node: (sources...)}`` as the platform's importer wires the graph (default:
        the graph's own)."""
        return dict(net.predecessors)

    def single_input(self, net):
        """Nodes that receive only their first in-edge (an executor quirk; default none)."""
        return ()


def recurrent_layers(net):
    """neuron -> its recurrent weight map, for every neuron in a 2-cycle with an Affine/Linear that
    has no other in- or out-edge (what snnTorch imports as RLeaky/RSynaptic)."""
    succ = {}
    for d, ps in net.predecessors:
        for p in ps:
            succ.setdefault(p, []).append(d)
    out = {}
    for n in net.neurons:
        for m in net.preds(n):
            if m in net.nodes and isinstance(net.nodes[m], (Affine, Linear)) and net.preds(m) == (n,) \
                    and succ.get(m) == [n]:
                out[n] = m
    return out


def nirtorch_name_collision(net):
    """Two node names that nirtorch's executors (which key modules by ``name.replace('.', '_')``)
    confuse, or None."""
    seen = {}
    for n in (*net.inputs, *net.nodes, *net.outputs):
        k = n.replace(".", "_")
        if k in seen and seen[k] != n:
            return seen[k], n
        seen[k] = n
    return None


def set_weights(m, w, b=None):
    """The weight map ``m`` with weight ``w`` (and bias ``b`` where given)."""
    import equinox as eqx

    m = eqx.tree_at(lambda q: q.weight, m, w)
    if b is not None and hasattr(m, "bias"):
        m = eqx.tree_at(lambda q: q.bias, m, b)
    return m


def execution_order(net, rule="topological", preds=None):
    """Evaluation order of all nodes and the back edges of cycles (of ``net``'s edges, or of the
    in-edges ``preds`` ``{node: (sources...)}`` where given).

    ``'topological'``: a depth-first post-order from the inputs, reversed (a topological order
    of the graph without its back edges). ``'nirtorch_dfs'``: nirtorch 2.x GraphExecutor's
    pre-order walk from the inputs (a node runs when first reached; an in-edge from a node not
    yet run reads the previous step), which delays the later branch of a diamond by one step.
    """
    preds = dict(net.predecessors) if preds is None else dict(preds)
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
