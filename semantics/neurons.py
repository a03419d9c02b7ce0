"""The dynamic NIR primitives as pure functions of (parameters, state, input).

Each neuron is an :class:`equinox.Module` whose array fields are the NIR
parameters (a pytree: differentiable and vmappable) and whose ``shape`` is
static. The input ``x`` is the summed signal of the node's in-edges. Between
events ``x`` is the continuous part of that signal; an impulse of weighted area
``A`` (a spike of area ``q`` through the edge weights) applies :meth:`jump`.

Every method is plain maths; how it is stepped is the solvers' business.
Initial state: the neuron at rest (``v = v_leak``, ``i_syn = 0``; ``v = 0`` for
I and IF), the state reached with no input.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from ._elementwise import Elementwise
from .trajectory import ExpTrajectory, phi


class Neuron(Elementwise):
    """A node with state. Subclasses are final and name their state variables.

    ``time_constants`` names the parameters that must be positive (seconds); every other
    array parameter must be finite. :meth:`invalid_parameters` checks both on (possibly
    traced) values, so a parameter that becomes invalid during training or in a sweep is
    reported by name.
    """

    state_vars: ClassVar[tuple[str, ...]] = ("v",)
    spiking: ClassVar[bool] = False
    time_constants: ClassVar[tuple[str, ...]] = ()

    def _zeros(self):
        return jnp.zeros(self.shape, dtype=jnp.result_type(float))

    def parameters(self) -> dict:
        """The NIR parameters (array fields) by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "shape"}

    def invalid_parameters(self) -> dict:
        """``{name: (bool scalar, requirement)}``: whether any element of the parameter is
        invalid (non-finite; a time constant <= 0), and what a valid value is."""
        out = {}
        for name, p in self.parameters().items():
            if name in self.time_constants:
                out[name] = (jnp.any(~(jnp.isfinite(p) & (p > 0))), "a finite time constant > 0 (seconds)")
            else:
                out[name] = (jnp.any(~jnp.isfinite(p)), "a finite number")
        return out

    def init(self) -> dict:
        raise NotImplementedError

    def vector_field(self, state: dict, x) -> dict:
        raise NotImplementedError

    def flow(self, state: dict, x, s) -> dict:
        """Exact solution after time ``s`` under the constant drive ``x``."""
        raise NotImplementedError

    def jump(self, state: dict, area) -> dict:
        raise NotImplementedError

    def propagator(self, x, s):
        """:meth:`flow` as an affine map of the state: ``flow(S, x, s) = P S + c`` (every
        neuron here is linear), ``P[i][j]``, ``c[i]`` indexed by :attr:`state_vars`. This
        generic version evaluates the flow at the basis states; subclasses give closed
        forms (fewer exponentials)."""
        names = self.state_vars
        zero = {v: jnp.zeros_like(s) for v in names}
        c = self.flow(zero, x, s)
        cols = []
        for j in names:
            f = self.flow({v: (jnp.ones_like(s) if v == j else zero[v]) for v in names}, x, s)
            cols.append([f[v] - c[v] for v in names])
        return [[cols[j][i] for j in range(len(names))] for i in range(len(names))], [c[v] for v in names]

    def output(self, state: dict):
        """The continuous signal this node emits (non-spiking nodes: ``v``)."""
        return state["v"]


class SpikingNeuron(Neuron):
    """Emits Dirac spikes when ``v`` reaches ``v_threshold``; then resets.

    A concrete subclass declares ``trajectory_kind``, the form of its threshold function
    between events (:mod:`semantics.trajectory`), which tells a solver how to find its
    first root exactly:

    * ``"linear"``: ``g(s) = c1 + slope s`` (IF); explicit root, monotone;
    * ``"exp"``: ``g(s) = c0 + c1 exp(-a s)`` (LIF); explicit root, monotone;
    * ``"exp2"``: ``g(s) = c0 + exp(-a s) (c1 + c2 s phi(-delta s))`` (CubaLIF); at most
      one extremum, so two monotone brackets.

    A new neuron type without it is refused when the class is defined (a solver must
    never guess LIF's root for it).
    """

    spiking: ClassVar[bool] = True
    trajectory_kind: ClassVar[str]
    TRAJECTORY_KINDS: ClassVar[tuple[str, ...]] = ("linear", "exp", "exp2")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("trajectory_kind", getattr(cls, "trajectory_kind", None))
        if kind not in SpikingNeuron.TRAJECTORY_KINDS:
            raise TypeError(
                f"Spiking neuron class {cls.__name__} must declare trajectory_kind as one of "
                f"{SpikingNeuron.TRAJECTORY_KINDS} (the form of its threshold function between events), "
                f"got {kind!r}."
            )

    def threshold_fn(self, state: dict):
        return state["v"] - self.v_threshold

    def trajectory(self, state: dict, x) -> ExpTrajectory:
        """Closed form of ``threshold_fn`` along :meth:`flow` under drive ``x``."""
        raise NotImplementedError

    def reset(self, state: dict, fired, *, rule: str = "v_reset") -> dict:
        """Reset map for the neurons in ``fired`` (a boolean mask); ``rule`` is one of
        :data:`semantics.resets.RESETS`:

        * ``"v_reset"`` (NIR >= 1.0.6): ``v <- v_reset``;
        * ``"subtract"`` (what files written by nir <= 1.0.5 meant): ``v <- v - v_threshold``;
        * ``"zero"``: ``v <- 0``.

        Only ``v`` is reset (a CubaLIF's ``i_syn`` is continuous across a spike).
        """
        v = state["v"]
        if rule == "subtract":
            new = v - self.v_threshold
        elif rule == "zero":
            new = jnp.zeros_like(v)
        elif rule == "v_reset":
            new = jnp.broadcast_to(self.v_reset, v.shape)
        else:  # pragma: no cover - static misuse
            raise ValueError(f"unknown reset rule {rule!r}")
        return {**state, "v": jnp.where(fired, new, v)}

    def output(self, state: dict):
        return jnp.zeros(self.shape, dtype=state["v"].dtype)


def _leaky_flow(v, v_inf, tau, s):
    return v_inf + (v - v_inf) * jnp.exp(-s / tau)


class LI(Neuron):
    r"""Leaky integrator: :math:`\tau \dot v = (v_{leak} - v) + r x`."""

    time_constants: ClassVar[tuple[str, ...]] = ("tau",)

    tau: jnp.ndarray
    r: jnp.ndarray
    v_leak: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    def init(self):
        return {"v": self._zeros() + self.v_leak}

    def vector_field(self, state, x):
        return {"v": (self.v_leak - state["v"] + self.r * x) / self.tau}

    def flow(self, state, x, s):
        return {"v": _leaky_flow(state["v"], self.v_leak + self.r * x, self.tau, s)}

    def jump(self, state, area):
        return {"v": state["v"] + self.r * area / self.tau}

    def propagator(self, x, s):
        e = jnp.exp(-s / self.tau)
        return [[e]], [(self.v_leak + self.r * x) * (1.0 - e)]


class LIF(SpikingNeuron):
    r"""Leaky integrate-and-fire: :math:`\tau \dot v = (v_{leak} - v) + r x`;
    spike when ``v`` reaches ``v_threshold``, then reset.

    Closed form under constant ``x``: ``v(s) = v_inf + (v0 - v_inf) exp(-s/tau)``
    with ``v_inf = v_leak + r x``. An impulse of area ``A``: ``v += r A / tau``.
    """

    trajectory_kind: ClassVar[str] = "exp"
    time_constants: ClassVar[tuple[str, ...]] = ("tau",)

    tau: jnp.ndarray
    r: jnp.ndarray
    v_leak: jnp.ndarray
    v_threshold: jnp.ndarray
    v_reset: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    init = LI.init
    vector_field = LI.vector_field
    flow = LI.flow
    jump = LI.jump
    propagator = LI.propagator

    def trajectory(self, state, x):
        v_inf = self.v_leak + self.r * x
        z = jnp.zeros_like(state["v"])
        return ExpTrajectory(
            c0=v_inf - self.v_threshold + z,
            c1=state["v"] - v_inf,
            c2=z,
            a=1.0 / self.tau + z,
            delta=z,
            slope=z,
        )


class I(Neuron):  # noqa: E742 - the NIR name
    r"""Integrator: :math:`\dot v = r x`."""

    r: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    def init(self):
        return {"v": self._zeros()}

    def vector_field(self, state, x):
        return {"v": self.r * x + jnp.zeros_like(state["v"])}

    def flow(self, state, x, s):
        return {"v": state["v"] + self.r * x * s}

    def jump(self, state, area):
        return {"v": state["v"] + self.r * area}

    def propagator(self, x, s):
        return [[jnp.ones_like(s)]], [self.r * x * s + jnp.zeros_like(s)]


class IF(SpikingNeuron):
    r"""Integrate-and-fire: :math:`\dot v = r x`; spike at ``v_threshold``, reset.

    An impulse of area ``A``: ``v += r A``.
    """

    trajectory_kind: ClassVar[str] = "linear"

    r: jnp.ndarray
    v_threshold: jnp.ndarray
    v_reset: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    init = I.init
    vector_field = I.vector_field
    flow = I.flow
    jump = I.jump
    propagator = I.propagator

    def trajectory(self, state, x):
        z = jnp.zeros_like(state["v"])
        return ExpTrajectory(
            c0=z,
            c1=state["v"] - self.v_threshold,
            c2=z,
            a=z,
            delta=z,
            slope=self.r * x + z,
        )


class CubaLI(Neuron):
    r"""Current-based leaky integrator:

    .. math::
        \tau_{syn} \dot I = -I + w_{in} x, \qquad
        \tau_{mem} \dot v = (v_{leak} - v) + r I.

    Closed form under constant ``x`` (``I_inf = w_in x``, ``v_inf = v_leak + r I_inf``,
    ``delta = 1/tau_syn - 1/tau_mem``)::

        I(s) = I_inf + (I0 - I_inf) exp(-s/tau_syn)
        v(s) = v_inf + exp(-s/tau_mem) [(v0 - v_inf) + (r/tau_mem)(I0 - I_inf) s phi(-delta s)]

    An impulse of area ``A``: ``I += w_in A / tau_syn``.
    """

    time_constants: ClassVar[tuple[str, ...]] = ("tau_syn", "tau_mem")

    state_vars: ClassVar[tuple[str, ...]] = ("v", "i_syn")

    tau_syn: jnp.ndarray
    tau_mem: jnp.ndarray
    r: jnp.ndarray
    v_leak: jnp.ndarray
    w_in: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    def init(self):
        z = self._zeros()
        return {"v": z + self.v_leak, "i_syn": z}

    def vector_field(self, state, x):
        return {
            "v": (self.v_leak - state["v"] + self.r * state["i_syn"]) / self.tau_mem,
            "i_syn": (self.w_in * x - state["i_syn"]) / self.tau_syn,
        }

    def _parts(self, state, x):
        i_inf = self.w_in * x
        v_inf = self.v_leak + self.r * i_inf
        c1 = state["v"] - v_inf
        c2 = self.r / self.tau_mem * (state["i_syn"] - i_inf)
        delta = 1.0 / self.tau_syn - 1.0 / self.tau_mem
        return i_inf, v_inf, c1, c2, delta

    def flow(self, state, x, s):
        i_inf, v_inf, c1, c2, delta = self._parts(state, x)
        i = i_inf + (state["i_syn"] - i_inf) * jnp.exp(-s / self.tau_syn)
        v = v_inf + jnp.exp(-s / self.tau_mem) * (c1 + c2 * s * phi(-delta * s))
        return {"v": v, "i_syn": i}

    def jump(self, state, area):
        return {**state, "i_syn": state["i_syn"] + self.w_in * area / self.tau_syn}

    def propagator(self, x, s):
        """``v(s) = e_m v0 + k I0 + v_inf (1 - e_m) - k I_inf``, ``I(s) = e_s I0 + I_inf (1 - e_s)``
        with ``e_m = exp(-s/tau_mem)``, ``e_s = exp(-s/tau_syn)``, ``k = (r/tau_mem) s phi(-delta s) e_m``."""
        i_inf, v_inf, _, _, delta = self._parts({"v": jnp.zeros_like(s), "i_syn": jnp.zeros_like(s)}, x)
        e_m = jnp.exp(-s / self.tau_mem)
        e_s = jnp.exp(-s / self.tau_syn)
        k = self.r / self.tau_mem * s * phi(-delta * s) * e_m
        z = jnp.zeros_like(s)
        return [[e_m, k], [z, e_s]], [v_inf * (1.0 - e_m) - k * i_inf, i_inf * (1.0 - e_s)]


class CubaLIF(SpikingNeuron):
    r"""Current-based LIF: the :class:`CubaLI` dynamics with a threshold at
    ``v_threshold`` and a reset of ``v`` (``i_syn`` is not reset)."""

    trajectory_kind: ClassVar[str] = "exp2"
    time_constants: ClassVar[tuple[str, ...]] = ("tau_syn", "tau_mem")

    state_vars: ClassVar[tuple[str, ...]] = ("v", "i_syn")

    tau_syn: jnp.ndarray
    tau_mem: jnp.ndarray
    r: jnp.ndarray
    v_leak: jnp.ndarray
    w_in: jnp.ndarray
    v_threshold: jnp.ndarray
    v_reset: jnp.ndarray
    shape: tuple[int, ...] = eqx.field(static=True)

    init = CubaLI.init
    vector_field = CubaLI.vector_field
    _parts = CubaLI._parts
    flow = CubaLI.flow
    jump = CubaLI.jump
    propagator = CubaLI.propagator

    def trajectory(self, state, x):
        _, v_inf, c1, c2, delta = self._parts(state, x)
        z = jnp.zeros_like(state["v"])
        return ExpTrajectory(
            c0=v_inf - self.v_threshold + z,
            c1=c1,
            c2=c2 + z,
            a=1.0 / self.tau_mem + z,
            delta=delta + z,
            slope=z,
        )


NEURONS = (LI, LIF, I, IF, CubaLI, CubaLIF)
