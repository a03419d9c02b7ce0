"""The global event loop: the whole graph in one jitted event system.

This is the reference the decomposed exact solver (:mod:`._decomposed`) is tested
against (``simulate(..., decompose=False)``), and the path of ``method="rk"`` (diffrax,
for graphs whose neurons are coupled continuously). Every event advances and tests every
neuron of the graph.

Structure (one ``lax.scan`` over the input steps, one bounded while loop over
the events inside a step, one bounded while loop over the waves of a
same-instant cascade)::

    for each input step [t_k, t_k + dt):               # lax.scan
        Threshold nodes compare their new input with the last one -> spikes at t_k,
        resolved in one instant with the Dirac inputs due at t_k
        while t < t_k + dt:                              # events in the step
            t_sched = next scheduled impulse (Dirac input, Delay output)
            find the first threshold crossing in (t, min(t_sched, t_k + dt)]
                exact: closed-form trajectories + first-root (solvers/_roots.py)
                rk:    diffrax Tsit5 + Event(max_n(v_n - theta_n)), Bisection
            advance every state to that time
            cascade: fire (v >= theta), reset, propagate impulses through the
                     maps, jump, repeat until no neuron is at threshold
        record states and per-step spike counts at t_k + dt

Every bound is static and every overflow sets a flag that becomes a
:class:`RESULTS` code; nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from ._roots import first_root


@dataclasses.dataclass(frozen=True)
class EventConfig:
    """Static options of the ideal solvers (hashable, part of the jit key).

    ``max_events``: loop iterations per input step for the global loop; per component
    for the decomposed solver (``None``: a bound derived from the buffer sizes there,
    256 per step here)."""

    method: str = "exact"
    reset: str = "v_reset"
    max_spikes: int | tuple = 64  # or ((node, K), ...): slots per element of each spiking node
    max_events: int | None = None
    max_cascade: int = 64
    max_delayed: int = 64
    rtol: float = 1e-10
    atol: float = 1e-12
    max_rk_steps: int = 4096
    loop_kind: str = "checkpointed"
    decompose: bool = True
    root_forms: tuple = ()  # ((node, "quadratic"), ...): explicit CubaLIF roots (_roots.quadratic_forms)


_FLAGS = ("events", "cascade", "delayed", "ode")


def _while(cond, body, init, max_steps, kind):
    return eqx.internal.while_loop(cond, body, init, max_steps=max_steps, kind=kind)


def solve_events(net, dense, diracs, *, bounds, n_steps, spike_area, init, config: EventConfig, record, valid=True):
    """Simulate ``net`` under the ideal semantics with one global event loop.

    ``dense``: input name -> (n_steps, *shape) zero-order-hold samples;
    ``diracs``: input name -> (*shape, K) ascending impulse times (``+inf`` padded);
    ``init``, ``record``, ``valid`` and the result as :func:`._decomposed.solve_decomposed`.
    """
    cfg = config
    nodes = net.nodes
    neurons = net.neurons
    spiking = net.spiking
    thresholds = net.thresholds
    delays = net.delays
    recorders = spiking + thresholds
    dtype = bounds.dtype
    q = jnp.asarray(spike_area, dtype)
    Ks = {n: slots(cfg, n) for n in recorders}
    inf = jnp.array(jnp.inf, dtype)
    max_events = 256 if cfg.max_events is None else cfg.max_events
    valid = jnp.asarray(valid)

    def fire_mask(states):
        return {n: nodes[n].threshold_fn(states[n]) >= 0 for n in spiking}

    # -- spike bookkeeping ----------------------------------------------------
    def record_spikes(c, t, fired):
        """``t``: the event time, or per node an array of spike times. Written in place at
        (neuron, count): O(neurons) per event."""
        times, counts = dict(c["times"]), dict(c["counts"])
        for n, f in fired.items():
            K = Ks[n]
            slot = jnp.reshape(counts[n], (-1,))
            ff = jnp.reshape(f, (-1,))
            write = ff & (slot < K)
            t_n = jnp.reshape(jnp.broadcast_to(t[n] if isinstance(t, dict) else t, f.shape), (-1,))
            rows = jnp.arange(ff.shape[0])
            times[n] = times[n].at[rows, jnp.where(write, slot, K)].set(jnp.where(write, t_n, 0.0), mode="drop")
            counts[n] = counts[n] + f.astype(counts[n].dtype)
        return {**c, "times": times, "counts": counts}

    def insert_delayed(c, t, arrivals):
        dly_t, dly_a, over = dict(c["dly_t"]), dict(c["dly_a"]), c["flags"]["delayed"]
        for d in delays:
            a = arrivals[d]
            has = a != 0
            free = jnp.isinf(dly_t[d])
            slot = jnp.argmax(free, axis=-1)
            ok = has & jnp.any(free, axis=-1)
            onehot = (_slots(cfg.max_delayed, slot.ndim) == slot[..., None]) & ok[..., None]
            dly_t[d] = jnp.where(onehot, (t + nodes[d].delay)[..., None], dly_t[d])
            dly_a[d] = jnp.where(onehot, a[..., None], dly_a[d])
            over = over | jnp.any(has & ~ok)
        return {**c, "dly_t": dly_t, "dly_a": dly_a, "flags": {**c["flags"], "delayed": over}}

    def next_scheduled(c):
        t = inf
        for n, times in diracs.items():
            nxt = _next_dirac(times, c["ptr"][n])
            t = jnp.minimum(t, jnp.min(nxt, initial=jnp.inf))
        for d in delays:
            t = jnp.minimum(t, jnp.min(c["dly_t"][d], initial=jnp.inf))
        return t

    def pop_scheduled(c, t, active):
        """Every impulse due at ``t``: coincident spikes of one input channel arrive together
        (one impulse of area n q, a Dirac sum)."""
        pending, ptr = dict(c["pending"]), dict(c["ptr"])
        dly_t, dly_a = dict(c["dly_t"]), dict(c["dly_a"])
        for n, times in diracs.items():
            k = times.shape[-1]
            due = active & (times == t) & (_slots(k, ptr[n].ndim) >= ptr[n][..., None])
            hits = jnp.sum(due, axis=-1)
            pending[n] = pending[n] + q * hits
            ptr[n] = ptr[n] + hits.astype(ptr[n].dtype)
        for d in delays:
            hit = active & (dly_t[d] == t)
            pending[d] = pending[d] + jnp.sum(jnp.where(hit, c["dly_a"][d], 0.0), axis=-1)
            dly_t[d] = jnp.where(hit, jnp.inf, dly_t[d])
            dly_a[d] = jnp.where(hit, 0.0, dly_a[d])
        return {**c, "pending": pending, "ptr": ptr, "dly_t": dly_t, "dly_a": dly_a}

    # -- one instant: fire, reset, propagate, jump, until settled ---------------
    def instant(c, t, forced, lag, drive):
        """Resolve everything at time ``t``.

        ``forced``: neurons that reached threshold continuously at ``t`` (fired in
        the first wave). ``lag``: for them, ``t - t_own`` where ``t_own`` is the
        neuron's own crossing time: zero in value, but it carries the difference
        of derivatives when several neurons cross at the same instant. Each
        forced neuron's spike time is recorded as ``t - lag`` and its reset state
        is moved by ``dv/dt * lag`` (the saltation term), so every neuron's spike
        time and later trajectory differentiate through its own root.
        """

        def cond(w):
            c, forced, lag, wave = w
            at = fire_mask(c["states"])
            busy = jnp.any(jnp.array([jnp.any(m) for m in at.values()] + [False]))
            busy = busy | jnp.any(jnp.array([jnp.any(f) for f in forced.values()] + [False]))
            busy = busy | jnp.any(jnp.array([jnp.any(p != 0) for p in c["pending"].values()] + [False]))
            return busy & valid

        def body(w):
            c, forced, lag, wave = w
            states = dict(c["states"])
            at = fire_mask(states)
            fired = {n: at[n] | forced[n] for n in spiking}
            c = record_spikes(c, {n: t - lag[n] for n in spiking}, fired)
            for n in spiking:
                states[n] = nodes[n].reset(states[n], fired[n], rule=cfg.reset)
                v_dot = nodes[n].vector_field(states[n], drive[n])["v"]
                states[n] = {**states[n], "v": states[n]["v"] + jnp.where(forced[n], v_dot * lag[n], 0.0)}
            sources = dict(c["pending"])
            for n in spiking:
                sources[n] = q * fired[n]
            arrivals = net.impulse_drive(sources)
            for n in neurons:
                states[n] = nodes[n].jump(states[n], arrivals[n])
            c = {**c, "states": states, "pending": jax.tree.map(jnp.zeros_like, c["pending"])}
            c = insert_delayed(c, t, arrivals)
            no_force = jax.tree.map(jnp.zeros_like, forced)
            return c, no_force, jax.tree.map(jnp.zeros_like, lag), wave + 1

        init_w = (c, forced, lag, jnp.array(0))
        c, forced, lag, wave = _while(cond, body, init_w, cfg.max_cascade, cfg.loop_kind)
        unsettled = cond((c, forced, lag, wave))
        return {**c, "flags": {**c["flags"], "cascade": c["flags"]["cascade"] | unsettled}}

    # -- advancing between events ----------------------------------------------
    def advance_exact(states, drive, t, t_stop):
        horizon = t_stop - t
        roots = {}
        for n in spiking:
            node = nodes[n]
            roots[n] = first_root(node.trajectory(states[n], drive[n]), horizon, node.trajectory_kind,
                                  dict(cfg.root_forms).get(n))
        s_min = jnp.min(jnp.array([jnp.min(r, initial=jnp.inf) for r in roots.values()] + [jnp.inf]))
        # A crossing at exactly t_stop belongs to what happens at t_stop (the next
        # step, or the scheduled impulse there): intervals are half-open.
        crossed = s_min < horizon
        t_new = jnp.where(crossed, t + s_min, t_stop)
        s = t_new - t
        new = {n: nodes[n].flow(states[n], drive[n], s) for n in neurons}
        forced, lag = {}, {}
        for n in spiking:
            f = crossed & (roots[n] <= s_min)
            new[n] = {**new[n], "v": jnp.where(f, nodes[n].v_threshold, new[n]["v"])}
            forced[n] = f
            # t_new - t_own: t + s_min and t + roots[n] are the same float for a forced
            # neuron, so this is exactly 0 in value but carries its own derivative
            lag[n] = jnp.where(f, t_new - (t + jnp.where(f, roots[n], 0.0)), 0.0)
        return new, t_new, crossed, forced, lag, jnp.array(False)

    def advance_rk(states, ext, t, t_stop):
        def field(tt, y, args):
            drive = net.continuous_drive(y, ext)
            return {n: nodes[n].vector_field(y[n], drive[n]) for n in neurons}

        def gmax(y):
            return jnp.max(jnp.array([jnp.max(nodes[n].threshold_fn(y[n])) for n in spiking]))

        def cond_fn(t, y, args, **kwargs):
            return gmax(y)

        event = None
        if spiking:
            event = diffrax.Event(cond_fn, root_finder=optx.Bisection(rtol=cfg.rtol, atol=cfg.atol), direction=True)
        horizon = t_stop - t
        safe_stop = jnp.where(horizon > 0, t_stop, t + 1.0)
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            diffrax.Tsit5(),
            t0=t,
            t1=safe_stop,
            dt0=None,
            y0=states,
            stepsize_controller=diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol, dtmin=None),
            event=event,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=cfg.max_rk_steps,
            throw=False,
        )
        ran = horizon > 0
        ok = (sol.result == diffrax.RESULTS.successful) | (sol.result == diffrax.RESULTS.event_occurred)
        failed = ran & ~ok
        y_end = jax.tree.map(lambda a: a[-1], sol.ys)
        y_end = jax.tree.map(lambda a, b: jnp.where(ran, a, b), y_end, states)
        t_new = jnp.where(ran, sol.ts[-1], t)
        if spiking:
            now = gmax(states) >= 0
            ev = ran & jnp.any(jnp.asarray(sol.event_mask)) & (sol.ts[-1] < t_stop)
            crossed = now | ev
            y_end = jax.tree.map(lambda a, b: jnp.where(now, b, a), y_end, states)
            t_new = jnp.where(now, t, t_new)
            g = gmax(y_end)
            forced = {}
            for n in spiking:
                f = crossed & (nodes[n].threshold_fn(y_end[n]) >= g)
                y_end[n] = {**y_end[n], "v": jnp.where(f, nodes[n].v_threshold, y_end[n]["v"])}
                forced[n] = f
        else:
            crossed, forced = jnp.array(False), {}
        t_new = jnp.where(crossed, t_new, t_stop)
        lag = {n: jnp.zeros(nodes[n].shape, t_new.dtype) for n in spiking}  # diffrax gives one event time
        return y_end, t_new, crossed, forced, lag, failed

    # -- one input step [t_k, t_k + dt): events at exactly t_k + dt belong to the next --
    def step(c, xs):
        k, ext = xs
        t_start = bounds[k]
        t_end = bounds[k + 1]
        counts_before = c["counts"]
        c = {**c, "t": t_start}
        drive = net.continuous_drive(c["states"], ext)
        # everything due at t_start in one instant: Threshold spikes, Dirac inputs, Delay outputs
        if thresholds:
            fired = {n: nodes[n].crossed(c["thr_x"][n], drive[n]) & valid for n in thresholds}
            c = record_spikes(c, t_start, fired)
            pending = dict(c["pending"])
            for n in thresholds:
                pending[n] = pending[n] + q * fired[n]
            c = {**c, "pending": pending, "thr_x": {n: drive[n] for n in thresholds}}
        c = pop_scheduled(c, t_start, valid)
        no_force = {n: jnp.zeros(nodes[n].shape, bool) for n in spiking}
        no_lag = {n: jnp.zeros(nodes[n].shape, dtype) for n in spiking}
        c = instant(c, t_start, no_force, no_lag, drive)

        def cond(c):
            return (c["t"] < t_end) & valid

        def body(c):
            t = c["t"]
            t_sched = next_scheduled(c)
            t_stop = jnp.minimum(t_sched, t_end)
            if cfg.method == "exact":
                states, t_new, crossed, forced, lag, failed = advance_exact(c["states"], drive, t, t_stop)
                now_drive = drive
            else:
                states, t_new, crossed, forced, lag, failed = advance_rk(c["states"], ext, t, t_stop)
                now_drive = net.continuous_drive(states, ext)
            c = {**c, "states": states, "t": t_new, "n_events": c["n_events"] + 1}
            c = {**c, "flags": {**c["flags"], "ode": c["flags"]["ode"] | failed}}
            at_sched = ~crossed & (t_sched <= t_new) & (t_sched < t_end)
            c = pop_scheduled(c, t_new, at_sched)
            return instant(c, t_new, forced, lag, now_drive)

        c = _while(cond, body, c, max_events, cfg.loop_kind)
        c = {**c, "flags": {**c["flags"], "events": c["flags"]["events"] | ((c["t"] < t_end) & valid)}}
        spikes = {n: c["counts"][n] - counts_before[n] for n in recorders}
        rec_states = {n: {v: c["states"][n][v] for v in nodes[n].state_vars if v in record.get(n, ())}
                      for n in neurons}
        return c, (rec_states, spikes)

    # -- initial carry ------------------------------------------------------------
    carry = {
        "t": bounds[0],
        "states": {n: init["neurons"][n] for n in neurons},
        "times": {n: jnp.full((_size(net, n), Ks[n]), jnp.inf, dtype) for n in recorders},
        "counts": {n: jnp.zeros(net.shape_of(n), jnp.int32) for n in recorders},
        "ptr": {n: jnp.zeros(diracs[n].shape[:-1], jnp.int32) for n in diracs},
        "pending": {
            **{n: jnp.zeros(diracs[n].shape[:-1], dtype) for n in diracs},
            **{n: jnp.zeros(nodes[n].shape, dtype) for n in delays + thresholds},
        },
        "dly_t": {d: init["delays"][d][0] for d in delays},
        "dly_a": {d: init["delays"][d][1] for d in delays},
        "thr_x": {n: init["thresholds"][n] for n in thresholds},
        "flags": {f: jnp.array(False) for f in _FLAGS},
        "n_events": jnp.array(0, jnp.int32),
    }
    ks = jnp.arange(n_steps)
    ext_seq = {n: jnp.asarray(x, dtype) for n, x in dense.items()}
    carry, (rec_states, rec_spikes) = jax.lax.scan(step, carry, (ks, ext_seq))

    flags = {n: {"spikes": jnp.any(carry["counts"][n] > Ks[n]), **carry["flags"]} for n in recorders}
    for n in neurons + delays:
        flags.setdefault(n, dict(carry["flags"]))
    final = {n: carry["states"][n] for n in neurons}
    final.update({d: {"in_flight_times": carry["dly_t"][d], "in_flight_areas": carry["dly_a"][d]} for d in delays})
    final.update({n: {"x_prev": carry["thr_x"][n]} for n in thresholds})
    return {
        "spike_times": {n: jnp.reshape(carry["times"][n], (*net.shape_of(n), Ks[n]))
                        for n in recorders if "spike_times" in record.get(n, ())},
        "spikes": {n: s for n, s in rec_spikes.items() if "spikes" in record.get(n, ())},
        "states": {n: v for n, v in rec_states.items() if v},
        "spike_counts": carry["counts"],
        "final_state": final,
        "flags": flags,
        "iterations": {0: carry["n_events"]},
    }


def slots(cfg, node):
    """Spike-time slots per element of ``node`` (``cfg.max_spikes``: an int or ``((node, K), ...)``)."""
    m = cfg.max_spikes
    return m if isinstance(m, int) else dict(m)[node]


def _size(net, n):
    return int(math.prod(net.shape_of(n)))


def _slots(k, ndim):
    return jnp.arange(k).reshape((1,) * ndim + (k,))


def _next_dirac(times, ptr):
    k = times.shape[-1]
    idx = jnp.minimum(ptr, k - 1)[..., None]
    nxt = jnp.take_along_axis(times, idx, axis=-1)[..., 0]
    return jnp.where(ptr < k, nxt, jnp.inf)
