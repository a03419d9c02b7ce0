"""The event loop of one component of the exact solver (see :mod:`._plan`).

A component sees its inputs as *groups*: a change of the dense drive at step ``k``
(key ``(t_k, -1)``), the impulses of its upstream trains with one key ``(t, w)``, the
end of the run (``(t1, -1)``; runs are half-open ``[t0, t1)``). Nothing is done per
input step: a constant input costs nothing, a step where the dense inputs change costs
one evaluation of the maps.

``"parallel"`` (one neuron node, no recurrence)::

    while not done:                                        # one bounded while loop
        every neuron: its next own spike from its own anchor (closed-form root), or
                      "at threshold now" (a jump or a reset left it there: key (t_a, wave))
        if some neurons spike before the next group:       # one spike each, vectorised
            fire them, reset, move their anchors to their spike times
        else:
            move every neuron to the group time; apply the group
            (switch the drive / jump by the group's impulses / stop)

Each neuron is solved independently; the loop runs (groups + firing rounds) times, each
O(neurons). ``"joint"`` (recurrent populations, Delays): a common anchor; an iteration
either advances every neuron to the earliest event (own crossing or group) and runs wave
0 of that instant, or runs the next wave of a same-instant cascade (fire, reset,
internal and external impulses of that wave, jump; Delay buffers), as the global loop.

Spike times are written in place (``eqx.internal.while_loop`` buffers) at
``(neuron, count)``: O(neurons) per firing, not O(neurons x slots). With per-step states
requested, each neuron's last anchor in each step is logged (one write when it leaves
the step) and :mod:`._recording` rebuilds the states with the closed-form flow.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from ..semantics.events import Delay
from ._roots import first_root
from ._trains import NO_WAVE, Train, lexmin, step_of, train_key


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    reset: str
    max_spikes: int
    max_events: int
    max_cascade: int
    max_delayed: int
    loop_kind: str


def _flat(x):
    return jnp.reshape(x, (-1,))


def _where_tree(mask, a, b):
    return jax.tree.map(lambda x, y: jnp.where(mask, x, y), a, b)


class _Inputs:
    """What a component reads: dense drive, upstream trains, static wiring."""

    def __init__(self, net, comp, *, trains, dense, next_change, bounds, n_steps):
        self.net = net
        self.comp = comp
        self.trains = {s: trains[s] for s in comp.impulse_sources}
        self.dense = {i: dense[i] for i in comp.dense_inputs}
        self.next_change = next_change
        self.bounds = bounds
        self.n_steps = n_steps
        self.t_end = bounds[n_steps]
        self.neurons = tuple(n for n in comp.nodes if not isinstance(net.nodes[n], Delay))
        self.spiking = tuple(n for n in self.neurons if net.nodes[n].spiking)
        self.delays = tuple(n for n in comp.nodes if isinstance(net.nodes[n], Delay))

    def drive_at(self, k):
        vals = {i: x[k] for i, x in self.dense.items()}
        return self.net.signals_into(vals, self.neurons, use_bias=True)

    def drive_key(self, kc):
        t = jnp.where(kc < self.n_steps, self.bounds[jnp.minimum(kc, self.n_steps)], jnp.inf)
        return t, jnp.where(kc < self.n_steps, -1, NO_WAVE)

    def next_key(self, kc, ptr, extra=()):
        keys = [self.drive_key(kc), (self.t_end, jnp.array(-1))]
        keys += [train_key(self.trains[s], ptr[s]) for s in self.trains]
        keys += list(extra)
        return lexmin(keys)

    def external_at(self, ptr, t, w, live):
        """Impulse areas of the upstream trains with key ``(t, w)`` (if ``live``), by source."""
        vals, new_ptr = {}, {}
        for s, tr in self.trains.items():
            a, p = tr.pop(ptr[s], t, w)
            vals[s] = jnp.where(live, a, 0.0)
            new_ptr[s] = jnp.where(live, p, ptr[s])
        return vals, new_ptr

    def external_pending_at(self, ptr, t):
        """Whether an upstream impulse is still due at time ``t`` (a later wave)."""
        pend = jnp.array(False)
        for s, tr in self.trains.items():
            pend = pend | (train_key(tr, ptr[s])[0] == t)
        return pend


def _write_spikes(tbuf, wbuf, cnt, fired, t, w, k):
    """Write the spike of every neuron in ``fired`` at slot ``cnt`` (flattened arrays)."""
    f = _flat(fired)
    slot = cnt
    ok = f & (slot < k)
    rows = jnp.arange(f.shape[0])
    cols = jnp.where(ok, slot, k)
    tbuf = tbuf.at[rows, cols].set(jnp.where(ok, _flat(t), 0.0), mode="drop")
    wbuf = wbuf.at[rows, cols].set(jnp.where(ok, _flat(w), 0).astype(jnp.int32), mode="drop")
    return tbuf, wbuf, cnt + f.astype(cnt.dtype), jnp.any(f & (slot >= k))


def _write_log(log_t, log_s, bounds, t_old, t_new, st_old):
    """Log each anchor that is left for a later step: row = the step of the old anchor."""
    k_old = _flat(step_of(bounds, t_old))
    k_new = _flat(step_of(bounds, t_new))
    leave = k_new > k_old
    n_rows = log_t.shape[0]
    rows = jnp.where(leave, k_old, n_rows)
    cols = jnp.arange(rows.shape[0])
    log_t = log_t.at[rows, cols].set(jnp.where(leave, _flat(t_old), 0.0), mode="drop")
    log_s = {v: log_s[v].at[rows, cols].set(jnp.where(leave, _flat(st_old[v]), 0.0), mode="drop") for v in log_s}
    return log_t, log_s


def _while(cond, body, init, cfg, buffers):
    return eqx.internal.while_loop(cond, body, init, max_steps=cfg.max_events, kind=cfg.loop_kind,
                                   buffers=buffers)


# ------------------------------------------------------------------------------------------
# parallel: one neuron node, every neuron on its own
# ------------------------------------------------------------------------------------------
def run_parallel(net, comp, *, trains, dense, next_change, bounds, n_steps, q, init, cfg: LoopConfig, log, skip=False):
    inp = _Inputs(net, comp, trains=trains, dense=dense, next_change=next_change, bounds=bounds, n_steps=n_steps)
    (name,) = comp.nodes
    node = net.nodes[name]
    spiking = node.spiking
    dtype = bounds.dtype
    shape = node.shape
    n = max(1, int(jnp.size(jnp.zeros(shape))))
    K = cfg.max_spikes
    steps_log = n_steps if log else 0
    t0 = bounds[0]

    drive0 = inp.drive_at(0)[name] if inp.dense else inp.drive_at(None)[name]
    kc0 = next_change[0] if inp.dense else jnp.array(n_steps, jnp.int32)
    carry = {
        "st": init[name],
        "ta": jnp.full(shape, t0, dtype),
        "wv": jnp.zeros(shape, jnp.int32),
        "drive": jnp.asarray(drive0, dtype),
        "kc": jnp.asarray(kc0, jnp.int32),
        "ptr": {s: jnp.zeros(tr.times.shape[0], jnp.int32) for s, tr in inp.trains.items()},
        "cnt": jnp.zeros(n, jnp.int32),
        "tbuf": jnp.full((n, K if spiking else 0), jnp.inf, dtype),
        "wbuf": jnp.full((n, K if spiking else 0), NO_WAVE, jnp.int32),
        "log_t": jnp.full((steps_log, n), -jnp.inf, dtype),
        "log_s": {v: jnp.zeros((steps_log, n), dtype) for v in node.state_vars},
        "done": jnp.asarray(skip),
        "over": jnp.array(False),
        "cascade": jnp.array(False),
        "it": jnp.array(0, jnp.int32),
    }
    kind = node.trajectory_kind if spiking else None

    def fire_branch(c, aux):
        t_g, w_g, s, cont, fire = aux
        st, ta, wv = c["st"], c["ta"], c["wv"]
        s_f = jnp.where(cont, s, 0.0)
        at = node.flow(st, c["drive"], s_f)
        at = {**at, "v": jnp.where(cont, node.v_threshold, at["v"])}
        post = node.reset(at, fire, rule=cfg.reset)
        t_spk = jnp.where(cont, ta + s_f, ta)
        w_spk = jnp.where(cont & (t_spk > ta), 0, wv)
        new = {**c, "st": _where_tree(fire, post, st), "ta": jnp.where(fire, t_spk, ta),
               "wv": jnp.where(fire, w_spk + 1, wv),
               "cascade": c["cascade"] | jnp.any(fire & (w_spk >= cfg.max_cascade))}
        return new, (fire, t_spk, w_spk)

    def group_branch(c, aux):
        t_g, w_g, _, _, _ = aux
        st, ta, wv = c["st"], c["ta"], c["wv"]
        st_g = node.flow(st, c["drive"], t_g - ta)
        wv_g = jnp.where(ta == t_g, wv, 0)
        if spiking:
            blocked = (w_g >= 0) & jnp.any((node.threshold_fn(st_g) >= 0) & (wv_g <= w_g))
        else:
            blocked = jnp.array(False)
        apply = ~blocked
        t_d, _ = inp.drive_key(c["kc"])
        is_drive = apply & (w_g == -1) & (t_d == t_g)
        is_end = apply & (w_g == -1) & ~is_drive
        is_imp = apply & (w_g >= 0)
        # drive switch (one map evaluation; skipped values are masked)
        if inp.dense:
            kc = jnp.minimum(c["kc"], n_steps - 1)
            drive = jnp.where(is_drive, inp.drive_at(kc)[name], c["drive"])
            kc_new = jnp.where(is_drive, next_change[kc], c["kc"])
        else:
            drive, kc_new = c["drive"], c["kc"]
        # impulses of the group (t_g, w_g)
        if inp.trains:
            vals, ptr = inp.external_at(c["ptr"], t_g, w_g, is_imp)
            arr = net.signals_into(vals, (name,), use_bias=False)[name]
            st_g = node.jump(st_g, arr)
            wv_g = jnp.where(is_imp, jnp.maximum(wv_g, w_g + 1), wv_g)
        else:
            ptr = c["ptr"]
        new = {**c, "st": st_g, "ta": jnp.full(shape, t_g, dtype), "wv": wv_g, "drive": drive, "kc": kc_new,
               "ptr": ptr, "done": is_end}
        z = jnp.zeros(shape, bool)
        return new, (z, jnp.zeros(shape, dtype), jnp.zeros(shape, jnp.int32))

    def body(c):
        t_g, w_g = inp.next_key(c["kc"], c["ptr"])
        if spiking:
            st, ta, wv = c["st"], c["ta"], c["wv"]
            at_now = node.threshold_fn(st) >= 0
            s = first_root(node.trajectory(st, c["drive"]), t_g - ta, kind)
            cont = ~at_now & (ta + s < t_g)
            now_ok = at_now & ((ta < t_g) | (wv <= w_g))
            fire = cont | now_ok
            any_fire = jnp.any(fire)
        else:
            s = cont = fire = jnp.zeros(shape, bool)
            any_fire = jnp.array(False)
        small = {k: v for k, v in c.items() if k not in ("tbuf", "wbuf", "log_t", "log_s")}
        aux = (t_g, w_g, s, cont, fire)
        if spiking:
            new, (fired, t_spk, w_spk) = jax.lax.cond(any_fire, fire_branch, group_branch, small, aux)
        else:
            new, (fired, t_spk, w_spk) = group_branch(small, aux)
        out = {**c, **new, "it": c["it"] + 1}
        if spiking:
            tb, wb, cnt, over = _write_spikes(c["tbuf"], c["wbuf"], c["cnt"], fired, t_spk, w_spk, K)
            out.update(tbuf=tb, wbuf=wb, cnt=cnt, over=c["over"] | over)
        if log:
            lt, ls = _write_log(c["log_t"], c["log_s"], bounds, c["ta"], new["ta"], c["st"])
            out.update(log_t=lt, log_s=ls)
        return out

    def cond(c):
        return ~c["done"]

    buffers = lambda c: (c["tbuf"], c["wbuf"], c["log_t"], c["log_s"])  # noqa: E731
    c = _while(cond, body, carry, cfg, buffers)
    res = {
        "final": {name: c["st"]},
        "counts": {name: jnp.reshape(c["cnt"], shape)} if spiking else {},
        "trains": {name: Train(times=c["tbuf"], waves=c["wbuf"], areas=jnp.where(jnp.isfinite(c["tbuf"]), q, 0.0),
                               shape=shape)} if spiking else {},
        "logs": {name: (c["log_t"], c["log_s"])} if log else {},
        "flags": {name: {"spikes": c["over"], "cascade": c["cascade"], "events": ~c["done"]}},
        "iterations": c["it"],
        "delays": {},
    }
    return res


# ------------------------------------------------------------------------------------------
# joint: a recurrent population (or cycle, or Delay): one common anchor
# ------------------------------------------------------------------------------------------
def run_joint(net, comp, *, trains, dense, next_change, bounds, n_steps, q, init, init_delays, cfg: LoopConfig, log,
              delay_outputs, skip=False):
    inp = _Inputs(net, comp, trains=trains, dense=dense, next_change=next_change, bounds=bounds, n_steps=n_steps)
    nodes = net.nodes
    neurons, spiking, delays = inp.neurons, inp.spiking, inp.delays
    dtype = bounds.dtype
    K = cfg.max_spikes
    D = cfg.max_delayed
    t0 = bounds[0]
    size = {n: max(1, int(jnp.size(jnp.zeros(nodes[n].shape)))) for n in comp.nodes}
    steps_log = n_steps if log else 0

    drive0 = inp.drive_at(0) if inp.dense else inp.drive_at(None)
    kc0 = next_change[0] if inp.dense else jnp.array(n_steps, jnp.int32)
    carry = {
        "t": t0,
        "w": jnp.array(0, jnp.int32),
        "busy": jnp.array(False),
        "st": {n: init[n] for n in neurons},
        "drive": {n: jnp.asarray(drive0[n], dtype) for n in neurons},
        "kc": jnp.asarray(kc0, jnp.int32),
        "ptr": {s: jnp.zeros(tr.times.shape[0], jnp.int32) for s, tr in inp.trains.items()},
        "dly_t": {d: init_delays[d][0] for d in delays},
        "dly_a": {d: init_delays[d][1] for d in delays},
        "cnt": {n: jnp.zeros(size[n], jnp.int32) for n in spiking},
        "tbuf": {n: jnp.full((size[n], K), jnp.inf, dtype) for n in spiking},
        "wbuf": {n: jnp.full((size[n], K), NO_WAVE, jnp.int32) for n in spiking},
        "dcnt": {d: jnp.zeros(size[d], jnp.int32) for d in delay_outputs},
        "dtbuf": {d: jnp.full((size[d], K), jnp.inf, dtype) for d in delay_outputs},
        "dabuf": {d: jnp.zeros((size[d], K), dtype) for d in delay_outputs},
        "log_t": {n: jnp.full((steps_log, size[n]), -jnp.inf, dtype) for n in neurons},
        "log_s": {n: {v: jnp.zeros((steps_log, size[n]), dtype) for v in nodes[n].state_vars} for n in neurons},
        "done": jnp.asarray(skip),
        "flags": {f: jnp.array(False) for f in ("cascade", "delayed")},
        "over": {n: jnp.array(False) for n in spiking + tuple(delay_outputs)},
        "it": jnp.array(0, jnp.int32),
    }

    def delay_key(c):
        keys = [(jnp.min(c["dly_t"][d], initial=jnp.inf), jnp.array(0)) for d in delays]
        return lexmin(keys) if keys else (jnp.array(jnp.inf, dtype), jnp.array(NO_WAVE))

    def advance(c):
        """Move every neuron to the next event; returns the new small carry, the instant
        time, forced neurons and their lags, and whether the instant is live."""
        t_g, w_g = inp.next_key(c["kc"], c["ptr"], extra=[delay_key(c)])
        t = c["t"]
        horizon = t_g - t
        roots = {n: first_root(nodes[n].trajectory(c["st"][n], c["drive"][n]), horizon, nodes[n].trajectory_kind)
                 for n in spiking}
        s_min = jnp.min(jnp.array([jnp.min(r, initial=jnp.inf) for r in roots.values()] + [jnp.inf]))
        crossed = s_min < horizon
        t_new = jnp.where(crossed, t + s_min, t_g)
        s = t_new - t
        st = {n: nodes[n].flow(c["st"][n], c["drive"][n], s) for n in neurons}
        forced, lag = {}, {}
        for n in spiking:
            f = crossed & (roots[n] <= s_min)
            st[n] = {**st[n], "v": jnp.where(f, nodes[n].v_threshold, st[n]["v"])}
            forced[n] = f
            lag[n] = jnp.where(f, t_new - (t + jnp.where(f, roots[n], 0.0)), 0.0)
        t_d, _ = inp.drive_key(c["kc"])
        is_drive = ~crossed & (w_g == -1) & (t_d == t_g)
        is_end = ~crossed & (w_g == -1) & ~is_drive
        drive, kc = c["drive"], c["kc"]
        if inp.dense:
            k = jnp.minimum(kc, n_steps - 1)
            new_drive = inp.drive_at(k)
            drive = {n: jnp.where(is_drive, new_drive[n], drive[n]) for n in neurons}
            kc = jnp.where(is_drive, next_change[k], kc)
        new = {**c, "st": st, "t": t_new, "drive": drive, "kc": kc, "done": is_end}
        return new, t_new, jnp.array(0, jnp.int32), forced, lag, ~is_end

    def continue_instant(c):
        forced = {n: jnp.zeros(nodes[n].shape, bool) for n in spiking}
        lag = {n: jnp.zeros(nodes[n].shape, dtype) for n in spiking}
        return c, c["t"], c["w"], forced, lag, jnp.array(True)

    def wave(c, t, w, forced, lag, live):
        """One wave of the instant at ``t``: fire, reset, impulses of this wave, jumps."""
        st = dict(c["st"])
        fired, t_spk = {}, {}
        for n in spiking:
            at = nodes[n].threshold_fn(st[n]) >= 0
            fired[n] = (at | forced[n]) & live
            t_spk[n] = t - lag[n]
            post = nodes[n].reset(st[n], fired[n], rule=cfg.reset)
            v_dot = nodes[n].vector_field(post, c["drive"][n])["v"]
            st[n] = {**post, "v": post["v"] + jnp.where(forced[n] & live, v_dot * lag[n], 0.0)}
        sources = {n: q * fired[n] for n in spiking}
        ext, ptr = inp.external_at(c["ptr"], t, w, live)
        sources.update(ext)
        dly_t, dly_a = dict(c["dly_t"]), dict(c["dly_a"])
        popped = {}
        for d in delays:
            hit = live & (w == 0) & (dly_t[d] == t)
            popped[d] = jnp.sum(jnp.where(hit, dly_a[d], 0.0), axis=-1)
            dly_t[d] = jnp.where(hit, jnp.inf, dly_t[d])
            dly_a[d] = jnp.where(hit, 0.0, dly_a[d])
            sources[d] = popped[d]
        arrivals = net.signals_into(sources, comp.nodes, use_bias=False)
        for n in neurons:
            st[n] = nodes[n].jump(st[n], arrivals[n])
        over_d = c["flags"]["delayed"]
        for d in delays:
            a = arrivals[d]
            has = (a != 0) & live
            free = jnp.isinf(dly_t[d])
            slot = jnp.argmax(free, axis=-1)
            ok = has & jnp.any(free, axis=-1)
            onehot = (jnp.arange(D).reshape((1,) * slot.ndim + (D,)) == slot[..., None]) & ok[..., None]
            dly_t[d] = jnp.where(onehot, (t + nodes[d].delay)[..., None], dly_t[d])
            dly_a[d] = jnp.where(onehot, a[..., None], dly_a[d])
            over_d = over_d | jnp.any(has & ~ok)
        # is the instant still busy (another wave at t)?
        busy = jnp.array(False)
        for n in spiking:
            busy = busy | jnp.any(nodes[n].threshold_fn(st[n]) >= 0)
        busy = (busy | inp.external_pending_at(ptr, t)) & live
        cascade = c["flags"]["cascade"] | (busy & (w + 1 >= cfg.max_cascade))
        busy = busy & (w + 1 < cfg.max_cascade)
        new = {**c, "st": st, "ptr": ptr, "dly_t": dly_t, "dly_a": dly_a, "t": t, "w": w + 1, "busy": busy,
               "flags": {**c["flags"], "delayed": over_d, "cascade": cascade}}
        return new, fired, t_spk, popped

    def body(c):
        small = {k: v for k, v in c.items() if k not in ("tbuf", "wbuf", "dtbuf", "dabuf", "log_t", "log_s")}
        new, t, w, forced, lag, live = jax.lax.cond(c["busy"], continue_instant, advance, small)
        new, fired, t_spk, popped = wave(new, t, w, forced, lag, live)
        out = {**c, **new, "it": c["it"] + 1}
        tb, wb, cnt, over = dict(c["tbuf"]), dict(c["wbuf"]), dict(c["cnt"]), dict(c["over"])
        for n in spiking:
            tb[n], wb[n], cnt[n], o = _write_spikes(tb[n], wb[n], cnt[n], fired[n], t_spk[n],
                                                     jnp.full(nodes[n].shape, w, jnp.int32), K)
            over[n] = over[n] | o
        out.update(tbuf=tb, wbuf=wb, cnt=cnt)
        if delay_outputs:
            dt_, da_, dc_ = dict(c["dtbuf"]), dict(c["dabuf"]), dict(c["dcnt"])
            for d in delay_outputs:
                has = _flat(popped[d] != 0)
                rows = jnp.arange(has.shape[0])
                ok = has & (dc_[d] < K)
                cols = jnp.where(ok, dc_[d], K)
                dt_[d] = dt_[d].at[rows, cols].set(jnp.where(ok, t, 0.0), mode="drop")
                da_[d] = da_[d].at[rows, cols].set(jnp.where(ok, _flat(popped[d]), 0.0), mode="drop")
                over[d] = over[d] | jnp.any(has & (dc_[d] >= K))
                dc_[d] = dc_[d] + has.astype(jnp.int32)
            out.update(dtbuf=dt_, dabuf=da_, dcnt=dc_)
        out["over"] = over
        if log:
            lt, ls = dict(c["log_t"]), dict(c["log_s"])
            for n in neurons:
                t_old = jnp.full(nodes[n].shape, c["t"], dtype)
                t_new = jnp.full(nodes[n].shape, new["t"], dtype)
                lt[n], ls[n] = _write_log(lt[n], ls[n], bounds, t_old, t_new, c["st"][n])
            out.update(log_t=lt, log_s=ls)
        return out

    def cond(c):
        return ~c["done"]

    buffers = lambda c: (c["tbuf"], c["wbuf"], c["dtbuf"], c["dabuf"], c["log_t"], c["log_s"])  # noqa: E731
    c = _while(cond, body, carry, cfg, buffers)
    trains_out = {n: Train(times=c["tbuf"][n], waves=c["wbuf"][n], areas=jnp.where(jnp.isfinite(c["tbuf"][n]), q, 0.0),
                           shape=nodes[n].shape) for n in spiking}
    for d in delay_outputs:
        trains_out[d] = Train(times=c["dtbuf"][d], waves=jnp.zeros_like(c["dtbuf"][d], dtype=jnp.int32),
                              areas=c["dabuf"][d], shape=nodes[d].shape)
    flags = {n: {"spikes": c["over"].get(n, jnp.array(False)), "cascade": c["flags"]["cascade"],
                 "events": ~c["done"], "delayed": c["flags"]["delayed"]} for n in comp.nodes}
    return {
        "final": {n: c["st"][n] for n in neurons},
        "counts": {n: jnp.reshape(c["cnt"][n], nodes[n].shape) for n in spiking},
        "trains": trains_out,
        "logs": {n: (c["log_t"][n], c["log_s"][n]) for n in neurons} if log else {},
        "flags": flags,
        "iterations": c["it"],
        "delays": {d: (c["dly_t"][d], c["dly_a"][d]) for d in delays},
    }
