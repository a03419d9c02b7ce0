"""First root of a closed-form threshold trajectory in ``(0, horizon]``.

``g(0) < 0`` is the neuron below threshold. LIF and IF have an explicit root;
CubaLIF's ``g`` has at most one extremum, so ``[0, s_ext]`` and
``[s_ext, horizon]`` are monotone brackets and a safeguarded Newton iteration
(Newton inside the bracket, bisection when a step would leave it) converges to
float rounding; it stops when every bracket is at rounding level or every Newton
step is (a few iterations from the regula-falsi start, instead of a fixed count).
The returned time carries the implicit-function gradient
``ds/dp = -(dg/dp) / g'(s)`` for every parameter ``p``.

The kind (``"linear"``, ``"exp"``, ``"exp2"``) is the neuron class's declared
``trajectory_kind`` (:class:`semantics.neurons.SpikingNeuron`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_MAX_ITERS = 64  # bisection alone halves a float64 bracket to rounding in < 64 steps


def _implicit(traj, s):
    """Attach ``ds/dp = -(dg/dp)/g'(s)`` to a root found without gradients."""
    s = jax.lax.stop_gradient(s)
    g = traj(s)
    dg = jax.lax.stop_gradient(traj.derivative(s))
    dg = jnp.where(dg == 0, 1.0, dg)
    return s - (g - jax.lax.stop_gradient(g)) / dg


def first_root(traj, horizon, kind):
    """Time ``s`` of the first upward zero of ``traj`` in ``[0, horizon]``; ``+inf`` if none.

    ``kind`` is static: ``"exp"`` (LIF: ``c2 = 0``, ``slope = 0``), ``"linear"``
    (IF: ``a = 0``) or ``"exp2"`` (CubaLIF).
    """
    g0 = traj.c0 + traj.c1
    if kind == "linear":
        slope = jnp.where(traj.slope > 0, traj.slope, 1.0)
        s = jnp.where(traj.slope > 0, -g0 / slope, jnp.inf)
    elif kind == "exp":
        # c0 + c1 exp(-a s) = 0  <=>  s = log1p(-g0 / c0) / a, needs c0 > 0 (v_inf above threshold).
        c0 = jnp.where(traj.c0 > 0, traj.c0, 1.0)
        s = jnp.where(traj.c0 > 0, jnp.log1p(-g0 / c0) / traj.a, jnp.inf)
    elif kind == "exp2":
        s = _exp2_root(traj, horizon, g0)
    else:  # pragma: no cover - static misuse
        raise ValueError(f"unknown trajectory kind {kind!r}")
    s = jnp.where(g0 >= 0, 0.0, s)
    return jnp.where(s <= horizon, s, jnp.inf)


def _exp2_root(traj, horizon, g0):
    h = jnp.broadcast_to(horizon, g0.shape)
    s_ext = jnp.minimum(traj.extremum(), h)
    g_ext = traj(s_ext)
    g_h = traj(h)
    first = g_ext >= 0
    lo = jnp.where(first, 0.0, s_ext)
    hi = jnp.where(first, s_ext, h)
    found = (g0 < 0) & (first | (g_h >= 0))
    lo = jax.lax.stop_gradient(jnp.where(found, lo, 0.0))
    hi = jax.lax.stop_gradient(jnp.where(found, hi, 0.0))
    t = jax.lax.stop_gradient(traj)
    g_lo = jnp.where(found, t(lo), -1.0)
    g_hi = jnp.where(found, t(hi), 1.0)
    # regula falsi start: inside the bracket, usually close for these smooth curves
    w = jnp.clip(-g_lo / jnp.where(g_hi - g_lo > 0, g_hi - g_lo, 1.0), 0.0, 1.0)
    s0 = lo + w * (hi - lo)
    eps = jnp.finfo(g0.dtype).eps

    def converged(lo, hi, s, step):
        return (hi - lo <= 4 * eps * jnp.abs(hi)) | (jnp.abs(step) <= 2 * eps * jnp.abs(s))

    def cond(c):
        lo, hi, s, step, it = c
        return (it < _MAX_ITERS) & jnp.any(found & ~converged(lo, hi, s, step))

    def body(c):
        lo, hi, s, _, it = c
        g = t(s)
        up = g >= 0
        hi = jnp.where(up, s, hi)
        lo = jnp.where(up, lo, s)
        d = t.derivative(s)
        newton = s - g / jnp.where(d == 0, 1.0, d)
        ok = (d != 0) & (newton > lo) & (newton < hi)
        new = jnp.where(ok, newton, 0.5 * (lo + hi))
        return lo, hi, new, jnp.where(found, new - s, 0.0), it + 1

    init = (lo, hi, s0, jnp.full_like(s0, jnp.inf), jnp.array(0))
    lo, hi, s, step, _ = jax.lax.while_loop(cond, body, init)
    # Converged: ``s`` is the root to rounding (``g(s)`` may be a rounding error below 0;
    # the solvers put the neuron exactly at threshold there). Not converged (iteration
    # cap): ``hi``, the earliest time known to be at or above threshold.
    s = jnp.where((t(s) >= 0) | converged(lo, hi, s, step), s, hi)
    s = _implicit(traj, s)
    return jnp.where(found, s, jnp.inf)
