"""Derivatives of a ``"parallel"`` component by replaying its spikes in closed form.

The event loop of a parallel node (:func:`._component._windowed_loop`) finds *which* events
happen and in what order. Given that order, every quantity it returns is a closed-form
function of the parameters, the initial state and the input impulses (all neurons here are
linear between events, :meth:`Neuron.propagator`):

* the state just before spike ``m`` of a neuron, evaluated at that spike's time ``t_m``, is the
  flow of the state after spike ``m - 1`` plus the impulses applied in between (superposition):
  ``x(t_m) = P(t_m - t_{m-1}) x_{m-1}^+ + c(t_m - t_{m-1}) + sum_j P(t_m - s_j) J_j``;
* a threshold crossing's time has the implicit-function derivative
  ``dt_m = -dg / (dg/dt)`` (one Newton step at the exact root: value unchanged), a spike fired
  at an anchor already at threshold takes the time of that anchor (the impulse that pushed it
  there, or its previous spike in a same-instant cascade);
* the state used by the reset moves with ``t_m`` to first order (``x + F(x) (t_m - t_m^0)``);
* the final state and every logged anchor state are flows and impulse sums of the same kind.

:func:`replayed` wraps the loop in a ``jax.custom_jvp``: without differentiation only the loop
runs (on values); a JVP (and so ``jax.grad``) runs the loop on values and differentiates this
replay, instead of differentiating through the loop's iterations. The derivatives are those
of the loop (the same implicit differentiation of the same roots); the values are the loop's,
bit for bit. It applies when the node's drive is constant over the run (no dense input; a
bias is constant) and the replay's dense work (neurons x (impulses x spike slots + recorded
steps)) is bounded; otherwise the loop itself is differentiated.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._recording import states_from_log
from ._trains import step_of

_MAX_ELEMENTS = 2**22  # neurons x (impulses x (spike slots + 2) + recorded steps): the replay's dense work


def replay_applies(node, ev, inp, *, n, k, steps_log):
    """Whether the derivatives of this windowed component come from :func:`replayed`."""
    if inp.dense:
        return False
    return n * (max(1, ev.size) * (k + 2) + steps_log) <= _MAX_ELEMENTS


def replayed(loop, node, ev, x_init, drive0, skip, run):
    """``loop(node, events, x_init, drive0, skip, indices=True, **run)``'s final carry (and,
    when it logs, ``"steps"``: the per-step states rebuilt from the log), with the derivatives
    of its spike times (``tbuf``), final state (``st``) and per-step states from
    :func:`_replay`."""
    from ._component import _EventArrays

    params, static = eqx.partition(node, eqx.is_array)
    floats = (params, ev.t, ev.a, ev.matrix, x_init, drive0)
    # every array the loop reads is an argument (a custom_jvp must not close over traced values)
    ints = (ev.w, ev.gi, jnp.asarray(skip), run["bounds"], jnp.asarray(run["kc0"]))
    fixed = {k: v for k, v in run.items() if k not in ("inp", "bounds", "kc0", "next_change")}
    fixed["cfg"] = dataclasses.replace(run["cfg"], loop_kind="lax")  # never differentiated itself

    def forward(floats, ints):
        params, t, a, m, x0, d = floats
        w, gi, sk, bounds, kc0 = ints
        node = eqx.combine(params, static)
        c = loop(node, _EventArrays(t, w, a, gi, m), x0, d, sk, indices=True,
                 inp=_ConstantDrive(bounds, run["n_steps"]), bounds=bounds, kc0=kc0, next_change=None, **fixed)
        if run["log"]:  # the per-step states, here (their derivatives come from the replay)
            n_steps = run["n_steps"]
            drive_seq = jnp.broadcast_to(jnp.asarray(d, bounds.dtype), (n_steps, *node.shape))
            c["steps"] = states_from_log(node, c["log_t"], c["log_s"], drive_seq, bounds, n_steps, x0)
        return c

    @jax.custom_jvp
    def f(floats, ints):
        return forward(floats, ints)

    @f.defjvp
    def f_jvp(primals, tangents):
        floats, ints = primals
        dfloats, _ = tangents
        c = forward(floats, ints)
        _, d = jax.jvp(lambda fl: _replay(fl, ints, c, static, run), (floats,), (dfloats,))
        tan = jax.tree.map(_zero_tangent, c)
        tan.update(tbuf=d["tbuf"], st=d["st"])
        if "steps" in c:
            tan["steps"] = d["steps"]
        return c, tan

    return f(floats, ints)


class _ConstantDrive:
    """What the loop reads of its inputs when the drive is constant (no dense input)."""

    dense = {}

    def __init__(self, bounds, n_steps):
        self.bounds, self.n_steps, self.t_end = bounds, n_steps, bounds[n_steps]

    def drive_key(self, kc):
        from ._component import drive_key

        return drive_key(self.bounds, self.n_steps, kc)


def _zero_tangent(x):
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, dtype=jax.dtypes.float0)


def _affine(P, cvec, x, names, extra=None):
    """``P x + c (+ extra)`` on dicts of state variables (``P[i][j]``, ``c[i]``)."""
    out = {}
    for i, v in enumerate(names):
        acc = cvec[i] if cvec is not None else 0.0
        for j, u in enumerate(names):
            acc = acc + P[i][j] * x[u]
        out[v] = acc + (extra[v] if extra is not None else 0.0)
    return out


def _replay(floats, ints, c, static, run):
    """The loop's outputs as differentiable closed-form functions of ``floats``, given the loop's
    final carry ``c`` (which spikes happened, in what order, after how many impulses). Only the
    derivatives are used (the values are the loop's); a spike time carries its derivative as
    ``t0 + (delta - stop_gradient(delta))``, ``delta`` the Newton step at the loop's root."""
    from ._component import per_neuron as _shaped

    sg = jax.lax.stop_gradient
    params, t, a, mat, x0, drive = floats
    _, gi, _, bounds, _ = ints
    node = eqx.combine(params, static)
    n_steps, reset = run["n_steps"], run["cfg"].reset
    n = max(1, math.prod(node.shape))
    names = tuple(node.state_vars)
    nf, nw = _shaped(node, n), _shaped(node, n, trail=(1,))
    x0 = {v: jnp.reshape(x0[v], (n,)) for v in names}
    drive = jnp.reshape(jnp.asarray(drive, bounds.dtype), (n,))
    t_lo, t_end = bounds[0], bounds[n_steps]
    tbuf = c["tbuf"]
    K = tbuf.shape[1]  # 0 for a non-spiking node
    cnt = jnp.minimum(c["cnt"], K)
    E = int(t.shape[0])
    rows = jnp.arange(n)
    jj = jnp.arange(E)

    # -- every applied impulse's contribution, evaluated at the end of its segment ----------
    # segment of impulse j for neuron i: the number of its spikes before j (pbuf: impulses
    # applied before each spike); evaluated at that spike's time (the run's end after the last)
    if E:
        applied = jj[None, :] < c["p"][:, None]
        if K:
            pb = jnp.where(jnp.arange(K)[None, :] < cnt[:, None], c["pbuf"], E + 1)
            seg = jnp.sum(pb[:, None, :] <= jj[None, :, None], axis=-1)
            t_seg = jnp.where(seg < cnt[:, None], jnp.take_along_axis(tbuf, jnp.minimum(seg, K - 1), axis=1), t_end)
        else:
            seg = jnp.zeros((n, E), jnp.int32)
            t_seg = jnp.broadcast_to(t_end, (n, E))
        s = jnp.where(applied, t[None, :], t_seg)
        cols = mat[:, gi]  # (n, E): the matrix column of each impulse's source element
        A = jnp.where(applied, a[None, :] * cols, 0.0)
        P, _ = nw.propagator(jnp.zeros((n, E), bounds.dtype), t_seg - s)
        J = nw.jump({v: jnp.zeros((n, E), bounds.dtype) for v in names}, A)
        C = _affine(P, None, J, names)
        B = {v: jnp.zeros((n, K + 1), bounds.dtype).at[rows[:, None], seg].add(C[v]) for v in names}
    else:
        B = {v: jnp.zeros((n, K + 1), bounds.dtype) for v in names}

    # -- the spikes, in order, per neuron ---------------------------------------------------
    def spike(carry, m):
        xp, ta, pa = carry
        live = m < cnt
        tm0 = jnp.where(live, tbuf[:, m], sg(ta))
        pm, now = c["pbuf"][:, m], c["nbuf"][:, m]
        P, cv = nf.propagator(drive, jnp.where(live, tm0 - ta, 0.0))
        xb = _affine(P, cv, xp, names, {v: B[v][:, m] for v in names})
        F = sg(nf.vector_field(sg(xb), drive))
        g = nf.threshold_fn(xb)
        dg = sg(jax.jvp(nf.threshold_fn, (sg(xb),), (F,))[1])
        if E:
            s_last = t[jnp.clip(pm - 1, 0, E - 1)]
            by_impulse = live & now & (pm > pa) & (sg(s_last) == tm0)
        else:
            s_last, by_impulse = tm0, jnp.zeros((n,), bool)
        by_previous = live & now & ~by_impulse & (sg(ta) == tm0)
        newton = live & ~by_impulse & ~by_previous
        delta = jnp.where(newton, -g / jnp.where(newton & (dg != 0), dg, 1.0), 0.0)
        tm = jnp.where(by_impulse, s_last, jnp.where(by_previous, ta, tm0 + (delta - sg(delta))))
        xat = {v: xb[v] + F[v] * (tm - tm0) for v in names}
        xat["v"] = jnp.where(live & ~now, nf.v_threshold, xat["v"])  # as the loop: v is at threshold
        post = nf.reset(xat, live, rule=reset)
        new = ({v: jnp.where(live, post[v], xp[v]) for v in names}, jnp.where(live, tm, ta), jnp.where(live, pm, pa))
        return new, (jnp.where(live, tm, tbuf[:, m]), post, xat)

    init = (x0, jnp.full((n,), t_lo, bounds.dtype), jnp.zeros((n,), jnp.int32))
    if K:
        (xp, ta, _), (t_out, posts, pres) = jax.lax.scan(spike, init, jnp.arange(K))
        t_out = t_out.T  # (n, K)
    else:
        (xp, ta, _), t_out, posts, pres = init, tbuf, None, None

    # -- the final state --------------------------------------------------------------------
    P, cv = nf.propagator(drive, t_end - ta)
    x_end = _affine(P, cv, xp, names, {v: jnp.take_along_axis(B[v], cnt[:, None], axis=1)[:, 0] for v in names})

    # -- per-step states (the left limits at the step ends), when the loop logged anchors ---
    # x(T_r) = P(T_r - T_{r-1}) x(T_{r-1}) + c(..) + the impulses and resets of step r, each
    # flowed to T_r: superposition, one closed-form term per event, summed per step, then a
    # scan over the steps.
    steps = None
    if c["log_t"].shape[0]:
        ends = bounds[1:]
        G = {v: jnp.zeros((n, n_steps), bounds.dtype) for v in names}
        if E:
            k_j = step_of(bounds, t)  # (E,) the step of each impulse (n_steps: at or after the end)
            T_j = ends[jnp.clip(k_j, 0, n_steps - 1)]
            on = jnp.broadcast_to(((k_j >= 0) & (k_j < n_steps))[None, :], (n, E))
            s = jnp.where(on, t[None, :], T_j[None, :])
            P, _ = nw.propagator(jnp.zeros((n, E), bounds.dtype), T_j[None, :] - s)
            J = nw.jump({v: jnp.zeros((n, E), bounds.dtype) for v in names}, jnp.where(on, a[None, :] * cols, 0.0))
            D = _affine(P, None, J, names)
            kc = jnp.broadcast_to(jnp.clip(k_j, 0, n_steps - 1)[None, :], (n, E))
            G = {v: G[v].at[rows[:, None], kc].add(D[v]) for v in names}
        if K:
            # the reset of spike m as a jump R_m = post - pre at t_m
            live = jnp.arange(K)[:, None] < cnt[None, :]  # (K, n)
            tk = jnp.where(live, t_out.T, ends[0])
            k_m = step_of(bounds, jnp.where(live, sg(tk), jnp.inf))
            T_m = ends[jnp.clip(k_m, 0, n_steps - 1)]
            n2 = _shaped(node, n, lead=(1,))
            P, _ = n2.propagator(jnp.zeros((K, n), bounds.dtype), T_m - jnp.where(live, tk, T_m))
            R = {v: jnp.where(live, posts[v] - pres[v], 0.0) for v in names}
            Dm = _affine(P, None, R, names)
            km = jnp.clip(k_m, 0, n_steps - 1)
            G = {v: G[v].at[rows[None, :], km].add(Dm[v]) for v in names}

        def step(x, r):
            P, cv = nf.propagator(drive, ends[r] - jnp.where(r > 0, ends[r - 1], t_lo))
            x = _affine(P, cv, x, names, {v: G[v][:, r] for v in names})
            return x, x

        _, steps = jax.lax.scan(step, x0, jnp.arange(n_steps))
        steps = {v: jnp.reshape(x, (n_steps, *node.shape)) for v, x in steps.items()}
    return {"tbuf": t_out, "st": x_end, "steps": steps}
