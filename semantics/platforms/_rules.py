"""Pure per-step neuron rules of the time-stepped platforms.

Each rule maps ``(coefficients, state, x)`` to ``(state, spikes)`` for one
neuron node and one step; ``x`` is the node's summed input of the step. Spikes
are counts (0, 1, ... ``cap``). The spike non-linearity has a surrogate
derivative (fast sigmoid, slope 10 per threshold) so that ``jax.grad`` flows
through the stepped model; the forward values are exact.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

SURROGATE_SLOPE = 10.0


@jax.custom_jvp
def heaviside(z, ge):
    """``1`` where ``z > 0`` (``z >= 0`` where ``ge``), else 0; surrogate derivative
    ``1 / (1 + k|z|)^2`` (no derivative with respect to ``ge``)."""
    return jnp.where(jnp.where(ge, z >= 0, z > 0), 1.0, 0.0).astype(z.dtype)


@heaviside.defjvp
def _heaviside_jvp(primals, tangents):
    z, ge = primals
    dz, _ = tangents
    return heaviside(z, ge), dz / (1.0 + SURROGATE_SLOPE * jnp.abs(z)) ** 2


def _surrogate_jvp(f):
    def jvp(primals, tangents):
        (z,), (dz,) = primals, tangents
        return f(z), dz / (1.0 + SURROGATE_SLOPE * jnp.abs(z)) ** 2

    f.defjvp(jvp)
    return f


@_surrogate_jvp
@jax.custom_jvp
def _step_ge(z):
    return jnp.where(z >= 0, 1.0, 0.0).astype(z.dtype)


@_surrogate_jvp
@jax.custom_jvp
def _step_gt(z):
    return jnp.where(z > 0, 1.0, 0.0).astype(z.dtype)


def _static(a):
    """A coefficient folded into the compiled step (a Python scalar, see ``solvers.stepped``)."""
    return isinstance(a, (float, int, bool))


def mul(a, x):
    """``a * x``, where a folded unit coefficient does not multiply."""
    return x if (_static(a) and a == 1.0) else a * x


def lin(*terms):
    """``a1*x1 + a2*x2 + ...`` in this order (``x`` None: the constant ``a``); the terms
    of a folded zero coefficient vanish (adding an exact 0)."""
    out, ref = None, None
    for a, x in terms:
        if x is not None:
            ref = x
        if _static(a) and a == 0.0:
            continue
        t = a if x is None else mul(a, x)
        out = t if out is None else out + t
    return jnp.zeros_like(ref) if out is None else out


def spike_count(v, theta, ge, cap, multi=True):
    """Spikes of one step: the threshold test (``>=`` where ``ge``), and where
    ``cap > 1`` the count ``floor(v/theta)`` clipped to ``[1, cap]`` (Sinabs,
    Rockpool, Xylo). ``ge`` and ``cap`` are arrays (coefficients, not structure)."""
    if _static(theta) and _static(ge) and math.isfinite(theta):
        th = theta
        z = v - th if abs(th) == 1.0 else (v - th) / abs(th)
        s = (_step_ge if ge > 0 else _step_gt)(z)
    elif _static(theta) and _static(ge):
        th = 1.0
        s = jnp.zeros_like(v)
    else:
        finite = jnp.isfinite(theta)
        th = jnp.where(finite, theta, 1.0)
        s = heaviside(jnp.where(finite, (v - th) / jnp.abs(th), -1.0), ge > 0)
    if not multi:  # static: every neuron of the program is binary
        return s
    n = jnp.where(cap > 1, jnp.clip(jnp.floor(v / th), 1, jnp.maximum(cap, 1)), 1.0)
    return s * (1.0 + jax.lax.stop_gradient(n - 1.0))


RESET_CODES = {"zero": 0.0, "subtract": 1.0, "v_reset": 2.0}


def apply_reset(c, v, n, rule=None):
    """Reset by ``rule`` (static: 'zero', 'subtract', 'v_reset') or, when None, by the
    coefficient ``c['reset_mode']``: 0 to zero, 1 subtract ``n theta``, 2 to ``v_reset``."""
    if rule == "subtract":
        return v - mul(c["theta"], n)
    if rule == "zero":
        return jnp.where(n > 0, 0.0, v)
    if rule == "v_reset":
        return jnp.where(n > 0, c["v_reset"], v)
    mode = c["reset_mode"]
    th = jnp.where(jnp.isfinite(c["theta"]), c["theta"], 0.0)
    to = jnp.where(mode == 0, 0.0, c["v_reset"])
    return jnp.where(mode == 1, v - n * th, jnp.where(n > 0, to, v))


def _bound(c, v, bounded=True):
    if not bounded:  # static: no floor, no saturation
        return v
    lo, lo2, hi = c["v_floor"], c["v_min"], c["v_max"]
    if _static(lo) and _static(lo2) and _static(hi):
        if lo > -math.inf:
            v = jnp.maximum(v, lo)
        if lo2 > -math.inf or hi < math.inf:
            v = jnp.clip(v, lo2 if lo2 > -math.inf else None, hi if hi < math.inf else None)
        return v
    return jnp.clip(jnp.maximum(v, c["v_floor"]), c["v_min"], c["v_max"])


def float_fire(c, state, after_decay=False, multi=True, rule=None):
    """Fire from the state of the previous step (``order='fire_first'``) and reset
    now, or (``after_decay``) after this step's integration (``v = beta v + x - s theta``)."""
    n = spike_count(state["v"], c["theta"], c["ge"], c["cap"], multi)
    v = state["v"] if after_decay else apply_reset(c, state["v"], n, rule)
    return {**state, "v": v, "s": n}, n


def float_integrate(c, state, x, *, fire, pending_reset=None, synapse=True, late_reset=True, multi=True,
                    rule=None, bounded=True):
    """Integrate one step; with ``fire`` also fire and reset: in the same step
    (integrate -> fire -> reset), or where ``c['reset_next']`` with the previous
    step's spikes (snnTorch 0.9.4 RSynaptic: the reset lands one step late)."""
    v, i = state["v"], state["i_syn"]
    if synapse:  # static: CubaLIF / CubaLI
        i_new = lin((c["ds"], i), (c["gs"], x), (c["cs"], None))
        v_new = lin((c["dm"], v), (c["a_new"], i_new), (c["a_old"], i), (c["a_x"], x), (c["cm"], None))
    else:
        i_new = i
        v_new = lin((c["dm"], v), (c["a_x"], x), (c["cm"], None))
    out = {**state, "i_syn": i_new}
    if not fire:
        if pending_reset is not None:
            v_new = apply_reset(c, v_new, pending_reset, rule)
        out["v"] = _bound(c, v_new, bounded)
        return out, state["s"]
    n_same = spike_count(v_new, c["theta"], c["ge"], c["cap"], multi)
    v_same = apply_reset(c, v_new, n_same, rule)
    if not late_reset:  # static: no neuron of the program resets one step late (s is not needed)
        out["v"] = _bound(c, v_same, bounded)
        return out, n_same
    v_late = apply_reset(c, v_new, state["s"], rule)
    n_late = spike_count(v_late, c["theta"], c["ge"], c["cap"], multi)
    late = c["reset_next"] > 0
    n = jnp.where(late, n_late, n_same)
    out["v"] = _bound(c, jnp.where(late, v_late, v_same), bounded)
    out["s"] = n
    return out, n


def _rtz_shift(p, bits):
    """Round toward zero of ``p / 2**bits`` (sign-magnitude shift), exact in float64."""
    return jnp.trunc(p / 2.0**bits)


def _wrap(x, bits):
    m = 2.0 ** (bits - 1)
    return jnp.mod(x + m, 2.0 * m) - m


def loihi2_step(c, state, x, **_):
    """Loihi 2 LIF/CUBA fixed point (Lava ``PyLifModelBitAcc``), integers held in float64::

        u = wrap24(rtz(u (4096 - du_eff) / 4096) + (a_in << 6))
        v = sat24(rtz(v (4096 - dv) / 4096) + u + bias)
        s = v > (vth << 6);  v = 0 where s
    """
    u = _wrap(_rtz_shift(state["i_syn"] * (4096.0 - c["du_eff"]), 12) + x * 64.0, 24)
    v = _rtz_shift(state["v"] * (4096.0 - c["dv"]), 12) + u + c["bias"]
    v = jnp.clip(v, -(2.0**23) + 1, 2.0**23 - 1)
    n = heaviside(v - c["theta"], False)
    v = jnp.where(n > 0, 0.0, v)
    return {**state, "v": v, "i_syn": u, "s": n}, n


def _shift_decay(x, dash):
    q = jnp.floor(x / 2.0**dash)
    return jnp.where((q == 0) & (x != 0), jnp.sign(x), q)


def xylo_step(c, state, x, **_):
    """Xylo (xylosim v2) integer LIF, 16-bit saturating (``c['quant'] = 1``)::

        i = sat16(i + x);  i -= decay(i, dash_syn)
        v = sat16(v - decay(v, dash_mem) + i + bias)
        while v >= thr and n < cap: n += 1; v -= thr   (cap 31 hidden, 1 readout)

    ``decay(x, dash) = x >> dash`` (floor), or ``sign(x)`` when that is 0 and ``x != 0``.
    With ``quant = 0`` the same rule in float: ``decay = x 2^-dash``, no saturation.
    """
    lo, hi = -(2.0**15), 2.0**15 - 1
    q = c["quant"] > 0
    i = state["i_syn"] + x
    i = jnp.where(q, jnp.clip(i, lo, hi), i)
    i = i - jnp.where(q, _shift_decay(i, c["dash_syn"]), i * 2.0 ** (-c["dash_syn"]))
    v = state["v"] - jnp.where(q, _shift_decay(state["v"], c["dash_mem"]), state["v"] * 2.0 ** (-c["dash_mem"]))
    v = v + i + c["bias"]
    v = jnp.where(q, jnp.clip(v, lo, hi), v)
    s = heaviside(v - c["theta"], True)
    n = s * (1.0 + jax.lax.stop_gradient(jnp.clip(jnp.floor(v / c["theta"]), 1, c["cap"]) - 1.0))
    v = v - jax.lax.stop_gradient(n) * c["theta"]
    return {**state, "v": v, "i_syn": i, "s": n}, n


KERNELS = {"float": None, "loihi2": loihi2_step, "xylo": xylo_step}
