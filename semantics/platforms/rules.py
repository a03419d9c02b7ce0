"""The per-step neuron rules of the time-stepped platforms (public: the executor calls these).

A neuron node steps by a :class:`NeuronRule`: a static description (which kernel, whether it
has a synapse, its threshold test, spike cap, reset and reset timing, the order of firing and
integrating) plus a dict of coefficients ``c``. One step maps ``(c, state, x)`` to
``(state, spikes)``, where ``x`` is the node's summed input of the step, ``state`` holds
``v``, ``i_syn`` and ``s`` (the spike counts of the previous step, needed by a late reset and
by fire-first rules) in the platform's native units, and spikes are counts (0, 1, ... ``cap``).

The float rule every float platform instantiates (native units)::

    I' = ds I + gs x + cs                               (neurons with a synapse)
    v' = dm v + a_new I' + a_old I + a_x x + cm
    n  = [v' > theta]  (or >=); cap > 1: n = clip(floor(v'/theta), 1, cap) where it fires
    v' = 0 | v' - n theta | v_reset   where n > 0        (reset)
    v' = max(v', v_floor); clip(v', v_min, v_max)       (floor, saturation: where present)

in the order "integrate, fire, reset" (``order='integrate_fire_reset'``), or "fire from the
previous step's ``v``, reset, integrate" (``'fire_first'``: Spyx's CubaLIF), or "fire from the
previous ``v``, integrate, then subtract" (``'fire_first_reset_after_decay'``: Spyx's LIF,
``v = beta v + x - s theta``). With ``reset_timing='next'`` the reset of step ``t`` lands at
step ``t + 1`` (``v_t`` is reset where ``s_{t-1} > 0``: snnTorch 0.9.4 RSynaptic).

**Coefficient algebra.** A coefficient is an array (per neuron, or broadcastable) or a Python
``float``: a compile-time constant. :func:`lin` and :func:`mul` write the rules so that a term
whose coefficient is absent (``None``) or the constant ``0.0`` vanishes and a constant ``1.0``
does not multiply. Both are exact identities of IEEE arithmetic for finite values
(``y + 0 x = y``, ``1 x = x``), so an executor may substitute Python floats for coefficients it
knows to be uniform constants (see ``solvers/stepped.py``) without changing a finite result; it
only removes work. Rules never inspect how a coefficient was obtained.

**Surrogate gradient.** The spike non-linearity has the forward value of the threshold test and
the derivative ``1 / (1 + k |z|)^2`` of a fast sigmoid (``k = SURROGATE_SLOPE``, ``z`` the
distance to threshold in thresholds), so ``jax.grad`` flows through every rule; spike counts
above one and integer rounding pass no gradient (``stop_gradient``), and quantisers use the
straight-through estimator :func:`ste` (forward the integer recipe, derivative 1).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

SURROGATE_SLOPE = 10.0
"""``k`` of the fast-sigmoid surrogate derivative ``1 / (1 + k |z|)^2``."""

KERNELS = ("float", "loihi2", "xylo")
ORDERS = ("integrate_fire_reset", "fire_first", "fire_first_reset_after_decay")
RESET_RULES = ("zero", "subtract", "v_reset")


# -- the coefficient algebra -----------------------------------------------------------------
def is_const(a) -> bool:
    """Whether ``a`` is a compile-time constant (a Python number)."""
    return isinstance(a, (float, int)) and not isinstance(a, bool)


def mul(a, x):
    """``a * x``; a constant ``1.0`` does not multiply."""
    return x if (is_const(a) and a == 1.0) else a * x


def lin(*terms, like=None):
    """``a1*x1 + a2*x2 + ...`` summed in this order; ``x`` None is the constant ``a``. A term
    whose coefficient is ``None`` (absent) or the constant ``0.0`` vanishes. ``like``: an array
    giving shape and dtype when every term vanishes."""
    out, ref = None, like
    for a, x in terms:
        if x is not None and ref is None:
            ref = x
        if a is None or (is_const(a) and a == 0.0):
            continue
        t = a if x is None else mul(a, x)
        out = t if out is None else out + t
    if out is None:
        return jnp.zeros_like(ref)
    if ref is not None and jnp.shape(out) != jnp.shape(ref):
        out = out + jnp.zeros_like(ref)
    return out


# -- spike non-linearities ----------------------------------------------------------------------
def _surrogate(f):
    f = jax.custom_jvp(f)

    def jvp(primals, tangents):
        (z,), (dz,) = primals, tangents
        return f(z), dz / (1.0 + SURROGATE_SLOPE * jnp.abs(z)) ** 2

    f.defjvp(jvp)
    return f


@_surrogate
def step_ge(z):
    """``1`` where ``z >= 0`` else 0, with the fast-sigmoid surrogate derivative."""
    return jnp.where(z >= 0, 1.0, 0.0).astype(z.dtype)


@_surrogate
def step_gt(z):
    """``1`` where ``z > 0`` else 0, with the fast-sigmoid surrogate derivative."""
    return jnp.where(z > 0, 1.0, 0.0).astype(z.dtype)


def heaviside(z, ge: bool):
    """The threshold test on ``z`` (``z >= 0`` where ``ge``, else ``z > 0``)."""
    return (step_ge if ge else step_gt)(z)


def ste(exact, smooth):
    """The straight-through estimator: the value ``exact`` (an integer recipe) with the
    derivative of ``smooth`` (the real-valued map it rounds). Written
    ``stop_gradient(exact) + (smooth - stop_gradient(smooth))`` so that the forward value is
    exactly ``exact`` (``s - s = 0`` exactly for finite ``s``)."""
    return jax.lax.stop_gradient(exact) + (smooth - jax.lax.stop_gradient(smooth))


def ste_round(x):
    """``round(x)`` (half to even) forward, derivative 1."""
    return ste(jnp.round(x), x)


def spike_count(v, theta, ge: bool, cap: int):
    """Spikes of one step: the threshold test of ``v`` against ``theta`` (``>=`` where ``ge``)
    and, where ``cap > 1``, the count ``floor(v / theta)`` clipped to ``[1, cap]`` (Sinabs,
    Rockpool, Xylo, Speck). An infinite ``theta`` never fires."""
    if is_const(theta):
        if not math.isfinite(theta):
            return jnp.zeros_like(v)
        z = v - theta if abs(theta) == 1.0 else (v - theta) / abs(theta)
        s = heaviside(z, ge)
        th = theta
    else:
        finite = jnp.isfinite(theta)
        th = jnp.where(finite, theta, 1.0)
        s = heaviside(jnp.where(finite, (v - th) / jnp.abs(th), -1.0), ge)
    if cap == 1:
        return s
    n = jnp.clip(jnp.floor(v / th), 1.0, float(cap))
    return s * (1.0 + jax.lax.stop_gradient(n - 1.0))


def apply_reset(rule: str, c, v, n):
    """Reset where ``n > 0``: ``'zero'`` to 0, ``'subtract'`` ``n theta``, ``'v_reset'`` to
    ``c['v_reset']``."""
    if rule == "subtract":
        return v - mul(c["theta"], n)
    if rule == "zero":
        return jnp.where(n > 0, 0.0, v)
    if rule == "v_reset":
        return jnp.where(n > 0, c["v_reset"], v)
    raise ValueError(f"unknown reset rule {rule!r}; valid: {RESET_RULES}")


def bound(c, v):
    """Floor (``v_floor``) and saturation (``v_min``, ``v_max``) where the coefficients exist."""
    if c.get("v_floor") is not None:
        v = jnp.maximum(v, c["v_floor"])
    if c.get("v_min") is not None or c.get("v_max") is not None:
        v = jnp.clip(v, c.get("v_min"), c.get("v_max"))
    return v


# -- integer helpers (fixed-point kernels hold integers in floats) ------------------------------
def rtz_shift(p, bits):
    """Round toward zero of ``p / 2**bits`` (a sign-magnitude shift), exact in floating point."""
    return jnp.trunc(p / 2.0**bits)


def wrap(x, bits):
    """Two's-complement wrap-around of ``x`` to ``bits`` bits."""
    m = 2.0 ** (bits - 1)
    return jnp.mod(x + m, 2.0 * m) - m


def shift_decay(x, dash):
    """Xylo's decay ``x >> dash`` (floor), or ``sign(x)`` when that is 0 and ``x != 0``."""
    q = jnp.floor(x / 2.0**dash)
    return jnp.where((q == 0) & (x != 0), jnp.sign(x), q)


# -- the rule ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class NeuronRule:
    """How one neuron node steps (static: part of a Program's structure).

    * ``kernel``: ``'float'`` (the rule of the module docstring), ``'loihi2'``, ``'xylo'``
      (the integer rules of :meth:`loihi2` and :meth:`xylo`).
    * ``synapse``: the node has a current ``i_syn`` (CubaLIF, CubaLI).
    * ``spiking``: the node fires (non-spiking nodes emit ``v_unit * v``).
    * ``threshold_test``: ``'>'`` or ``'>='``; ``cap``: spikes per step (1: binary).
    * ``reset``: ``'zero'``, ``'subtract'``, ``'v_reset'``; ``reset_timing``: ``'same'``, ``'next'``.
    * ``order``: ``'integrate_fire_reset'``, ``'fire_first'``, ``'fire_first_reset_after_decay'``.
    """

    kernel: str = "float"
    synapse: bool = False
    spiking: bool = True
    threshold_test: str = ">"
    cap: int = 1
    reset: str = "zero"
    reset_timing: str = "same"
    order: str = "integrate_fire_reset"

    def __post_init__(self):
        for name, val, ok in (("kernel", self.kernel, KERNELS), ("threshold_test", self.threshold_test, (">", ">=")),
                              ("reset", self.reset, RESET_RULES), ("reset_timing", self.reset_timing, ("same", "next")),
                              ("order", self.order, ORDERS)):
            if val not in ok:
                raise ValueError(f"NeuronRule.{name} must be one of {list(ok)}, got {val!r}.")
        if not (isinstance(self.cap, int) and self.cap >= 1):
            raise ValueError(f"NeuronRule.cap must be a positive int, got {self.cap!r}.")

    @property
    def fires_first(self) -> bool:
        return self.order != "integrate_fire_reset"

    @property
    def ge(self) -> bool:
        return self.threshold_test == ">="

    # -- float kernel -----------------------------------------------------------------------
    def fire(self, c, state):
        """Fire-first rules: spikes from the previous step's ``v``; reset now
        (``'fire_first'``) or after this step's integration (``'..._reset_after_decay'``)."""
        n = spike_count(state["v"], c["theta"], self.ge, self.cap)
        v = state["v"] if self.order == "fire_first_reset_after_decay" else apply_reset(self.reset, c, state["v"], n)
        return {**state, "v": v, "s": n}, n

    def integrate(self, c, state, x):
        """One step of input ``x``: integrate, and (unless the rule fires first) fire and reset."""
        if self.kernel == "loihi2":
            return self.loihi2(c, state, x)
        if self.kernel == "xylo":
            return self.xylo(c, state, x)
        v, i = state["v"], state["i_syn"]
        if self.synapse:
            i_new = lin((c.get("ds"), i), (c.get("gs"), x), (c.get("cs"), None), like=i)
            v_new = lin((c.get("dm"), v), (c.get("a_new"), i_new), (c.get("a_old"), i), (c.get("a_x"), x),
                        (c.get("cm"), None), like=v)
        else:
            i_new = i
            v_new = lin((c.get("dm"), v), (c.get("a_x"), x), (c.get("cm"), None), like=v)
        out = {**state, "i_syn": i_new}
        if self.fires_first:  # spikes were emitted by fire(); a pending subtraction lands now
            if self.order == "fire_first_reset_after_decay" and self.spiking:
                v_new = apply_reset(self.reset, c, v_new, state["s"])
            out["v"] = bound(c, v_new)
            return out, state["s"]
        if not self.spiking:
            out["v"] = bound(c, v_new)
            return out, jnp.zeros_like(v_new)
        if self.reset_timing == "next":  # the previous step's spikes reset now; no same-step reset
            v_late = apply_reset(self.reset, c, v_new, state["s"])
            n = spike_count(v_late, c["theta"], self.ge, self.cap)
            out["v"] = bound(c, v_late)
            out["s"] = n
            return out, n
        n = spike_count(v_new, c["theta"], self.ge, self.cap)
        out["v"] = bound(c, apply_reset(self.reset, c, v_new, n))
        out["s"] = n
        return out, n

    # -- integer kernels ------------------------------------------------------------------
    def loihi2(self, c, state, x):
        """Loihi 2 LIF/CUBA fixed point (Lava ``PyLifModelBitAcc``), integers held in floats::

            u = wrap24(rtz(u (4096 - du_eff) / 4096) + (a_in << 6))
            v = sat24(rtz(v (4096 - dv) / 4096) + u + bias)
            s = v > (vth << 6);  v = 0 where s

        Rounding passes gradients straight through (:func:`ste`)."""
        pu = state["i_syn"] * (4096.0 - c["du_eff"])
        pv = state["v"] * (4096.0 - c["dv"])
        u = wrap(ste(rtz_shift(pu, 12), pu / 4096.0) + x * 64.0, 24)
        v = ste(rtz_shift(pv, 12), pv / 4096.0) + u + c["bias"]
        v = jnp.clip(v, -(2.0**23) + 1, 2.0**23 - 1)
        n = spike_count(v, c["theta"], False, 1)
        v = jnp.where(n > 0, 0.0, v)
        return {**state, "v": v, "i_syn": u, "s": n}, n

    def xylo(self, c, state, x):
        """Xylo (xylosim v2) integer LIF, 16-bit saturating (``c['quant'] = 1``)::

            i = sat16(i + x);  i -= decay(i, dash_syn)
            v = sat16(v - decay(v, dash_mem) + i + bias)
            while v >= thr and n < cap: n += 1; v -= thr

        ``decay(x, dash) = x >> dash`` (floor), or ``sign(x)`` when that is 0 and ``x != 0``.
        With ``quant = 0`` the same rule in float: ``decay = x 2^-dash``, no saturation."""
        lo, hi = -(2.0**15), 2.0**15 - 1
        q = c["quant"] > 0
        i = state["i_syn"] + x
        i = jnp.where(q, jnp.clip(i, lo, hi), i)
        di = i * 2.0 ** (-c["dash_syn"])
        i = i - jnp.where(q, ste(shift_decay(i, c["dash_syn"]), di), di)
        dv = state["v"] * 2.0 ** (-c["dash_mem"])
        v = state["v"] - jnp.where(q, ste(shift_decay(state["v"], c["dash_mem"]), dv), dv)
        v = v + i + c["bias"]
        v = jnp.where(q, jnp.clip(v, lo, hi), v)
        n = spike_count(v, c["theta"], True, self.cap)
        v = v - jax.lax.stop_gradient(n) * c["theta"]
        return {**state, "v": v, "i_syn": i, "s": n}, n
