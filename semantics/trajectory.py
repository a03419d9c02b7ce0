"""Closed-form trajectories of the threshold function between events.

Between two events every linear NIR neuron sees a constant drive ``x``, so its
threshold function ``g(s) = v(t + s) - v_threshold`` has the closed form

    g(s) = c0 + exp(-a s) * (c1 + c2 * s * phi(-delta s)) + slope * s,
    phi(z) = (exp(z) - 1) / z   (phi(0) = 1),

which covers LIF and LI (``c2 = 0``), IF and I (``a = 0``, ``slope = r x``) and
CubaLIF / CubaLI (``a = 1/tau_mem``, ``delta = 1/tau_syn - 1/tau_mem``). The
``phi`` form stays finite when ``tau_syn == tau_mem`` (no cancellation of two
large coefficients). This module is pure maths: it knows nothing of solvers.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


def phi(z):
    """``(exp(z) - 1) / z`` with the removable singularity at 0 filled in."""
    small = jnp.abs(z) < 1e-8
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 + 0.5 * z, jnp.expm1(zs) / zs)


class ExpTrajectory(eqx.Module):
    """``g(s) = c0 + exp(-a s) (c1 + c2 s phi(-delta s)) + slope s`` elementwise."""

    c0: Float[Array, "..."]
    c1: Float[Array, "..."]
    c2: Float[Array, "..."]
    a: Float[Array, "..."]
    delta: Float[Array, "..."]
    slope: Float[Array, "..."]

    def __call__(self, s):
        e = jnp.exp(-self.a * s)
        return self.c0 + e * (self.c1 + self.c2 * s * phi(-self.delta * s)) + self.slope * s

    def derivative(self, s):
        e = jnp.exp(-self.a * s)
        return (
            -self.a * e * (self.c1 + self.c2 * s * phi(-self.delta * s))
            + self.c2 * e * jnp.exp(-self.delta * s)
            + self.slope
        )

    def extremum(self):
        """The one time ``s > 0`` where ``g'(s) = 0``, or ``+inf`` if there is none.

        With ``b = a + delta``: ``g' = 0`` <=> ``exp(-delta s) = a (c2 + c1 delta) / (b c2)``,
        i.e. ``s = -(log1p(c1 delta / c2) - log1p(delta / a)) / delta``, whose
        limit at ``delta = 0`` is ``1/a - c1/c2``. Only ``c2 != 0`` trajectories
        (CubaLIF) can have one; the others are monotone.
        """
        has = (self.c2 != 0) & (self.slope == 0) & (self.a > 0)
        c2 = jnp.where(has, self.c2, 1.0)
        a = jnp.where(has, self.a, 1.0)
        d = self.delta
        x1 = self.c1 * d / c2
        x2 = d / a
        ok = has & (x1 > -1) & (x2 > -1)
        tiny = jnp.abs(d) < 1e-12 * a
        ds = jnp.where(tiny, 1.0, d)
        s_gen = -(jnp.log1p(jnp.where(ok, x1, 0.0)) - jnp.log1p(jnp.where(ok, x2, 0.0))) / ds
        s_lim = 1.0 / a - self.c1 / c2
        s = jnp.where(tiny, s_lim, s_gen)
        return jnp.where(ok & (s > 0), s, jnp.inf)
