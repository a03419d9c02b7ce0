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

Derivatives: a parallel node driven by impulses under a constant drive is not
differentiated through its loop; :mod:`._replay` replays its spikes in closed form (the
loop's own derivatives, at a fraction of the cost). Other components are differentiated
through their (checkpointed) loops.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ..semantics.events import Delay
from . import _replay
from ._roots import first_root, has_root
from ._trains import NO_WAVE, Train, lexmin, step_of, train_key


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    reset: str
    max_spikes: tuple  # ((node, K), ...)
    max_events: int
    max_cascade: int
    max_delayed: int
    loop_kind: str
    root_forms: tuple = ()


def _flat(x):
    return jnp.reshape(x, (-1,))


def per_neuron(node, n, lead=(), trail=()):
    """``node`` with its per-neuron parameters reshaped to ``(*lead, n, *trail)`` (flat neurons,
    broadcast against leading and trailing axes)."""
    shape = tuple(node.shape)
    is_param = lambda a: eqx.is_array(a) and a.shape == shape  # noqa: E731
    new = (1,) * len(lead) + (n,) + (1,) * len(trail)
    return jax.tree.map(lambda a: jnp.reshape(a, new) if is_param(a) else a, node)


def _where_tree(mask, a, b):
    return jax.tree.map(lambda x, y: jnp.where(mask, x, y), a, b)


def drive_key(bounds, n_steps, kc):
    """The key ``(t_kc, -1)`` of the dense drive's next change at step ``kc`` (none: ``(inf, NO_WAVE)``)."""
    t = jnp.where(kc < n_steps, bounds[jnp.minimum(kc, n_steps)], jnp.inf)
    return t, jnp.where(kc < n_steps, -1, NO_WAVE)


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
        return drive_key(self.bounds, self.n_steps, kc)

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


_COLUMNS_MAX = 2**20  # effective-matrix mode up to this many (target x source) entries
_DIRECT_MAX = 2**20  # ... also when the matrix is simply a Linear's weight (no cheaper: measured)
_WINDOW = 8  # impulses applied per iteration in effective-matrix mode


class _Events:
    """The impulses reaching one neuron node from all its upstream trains, merged into one
    list sorted by key ``(t, w)``: the next group is an O(1) lookup and a group is a
    contiguous run of the list.

    Arrivals: when (target x sources) is small, the maps are folded into one effective
    matrix ``C`` (the impulse response of the maps to each source element, computed once by
    pushing a unit impulse per element through :meth:`Network.signals_into`), and an
    iteration applies up to ``_WINDOW`` impulses of the group as columns of ``C``
    (O(target x window)); a longer group continues in the next iteration (same key, so no
    threshold check in between). Otherwise (convolutions, large layers) the whole group is
    scattered into source vectors and pushed through the maps once.
    """

    def __init__(self, net, target, trains, sources, max_wave):
        self.net, self.target, self.sources = net, target, tuple(sources)
        self.shape = net.nodes[target].shape
        n = max(1, math.prod(self.shape))
        sizes = [trains[s].times.shape[0] for s in self.sources]
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        m_total = sum(sizes)
        t, w, gi, a = [], [], [], []
        for s, off in zip(self.sources, self.offsets):
            tr = trains[s]
            m, k = tr.times.shape
            t.append(jnp.reshape(tr.times, (-1,)))
            w.append(jnp.reshape(tr.waves, (-1,)))
            a.append(jnp.reshape(tr.areas, (-1,)))
            gi.append(jnp.reshape(jnp.broadcast_to(off + jnp.arange(m, dtype=jnp.int32)[:, None], (m, k)), (-1,)))
        if t:
            t, w, gi, a = (jnp.concatenate(t), jnp.concatenate(w), jnp.concatenate(gi), jnp.concatenate(a))
            order = _key_order(t, w, max_wave)
            self.t, self.w, self.gi, self.a = t[order], w[order], gi[order], a[order]
        else:
            self.t = jnp.zeros((0,), jnp.result_type(float))
            self.w = self.gi = jnp.zeros((0,), jnp.int32)
            self.a = self.t
        self.size = int(self.t.shape[0])
        direct = [_single_linear(net, src, target) for src in self.sources]
        small = n * m_total <= _COLUMNS_MAX
        self.columns = bool(m_total) and (small or (all(d is not None for d in direct) and n * m_total <= _DIRECT_MAX))
        self.columns = self.columns or not m_total
        if self.columns and m_total:
            blocks = []
            for s, m, d in zip(self.sources, sizes, direct):
                if d is not None:  # one Linear/Affine between them: its weight is the block
                    blocks.append(jnp.asarray(d, self.t.dtype).T)
                    continue
                shp = trains[s].shape

                def unit(e, s=s, shp=shp):
                    return jnp.reshape(net.signals_into({s: jnp.reshape(e, shp)}, (target,), use_bias=False)[target], (-1,))

                blocks.append(jax.vmap(unit)(jnp.eye(m, dtype=self.t.dtype)))
            self.matrix = jnp.concatenate(blocks, axis=0).T  # (n, m_total)
            self.window = min(_WINDOW, self.size)
        else:
            self.matrix = None
            self.window = min(self.size, m_total)  # one impulse per source element and key
        self.sizes = sizes
        self.m_total = m_total

    def key(self, p):
        if not self.size:
            return jnp.array(jnp.inf, self.t.dtype), jnp.array(NO_WAVE, jnp.int32)
        i = jnp.minimum(p, self.size - 1)
        ok = p < self.size
        return jnp.where(ok, self.t[i], jnp.inf), jnp.where(ok, self.w[i], NO_WAVE)

    def pop(self, p, t, w, live):
        """Arrivals (target shape) of the impulses with key ``(t, w)`` from ``p`` on (at most
        one window), and the advanced pointer."""
        idx = p + jnp.arange(self.window, dtype=p.dtype)
        j = jnp.minimum(idx, self.size - 1)
        hit = live & (idx < self.size) & (self.t[j] == t) & (self.w[j] == w)
        area = jnp.where(hit, self.a[j], 0.0)
        if self.matrix is not None:
            cols = jnp.take(self.matrix, self.gi[j], axis=1)  # (n, window)
            arr = jnp.reshape(_weighted_columns(cols, area), self.shape)
        else:
            vec = jnp.zeros((self.m_total,), self.t.dtype).at[self.gi[j]].add(area)
            vals = {s: jnp.reshape(vec[off:off + m], self.net.shape_of(s) if s in self.net.inputs
                                   else self.net.nodes[s].out_shape)
                    for s, off, m in zip(self.sources, self.offsets, self.sizes)}
            arr = self.net.signals_into(vals, (self.target,), use_bias=False)[self.target]
        return arr, p + jnp.sum(hit).astype(p.dtype)


def _sortable(t):
    """Integers ordered as the floats ``t`` are (IEEE bit patterns, negatives flipped)."""
    it = {4: jnp.int32, 8: jnp.int64}[t.dtype.itemsize]
    bits = jax.lax.bitcast_convert_type(t, it)
    mag = jnp.array(jnp.iinfo(it).max, it)
    return bits ^ ((bits >> (8 * t.dtype.itemsize - 1)) & mag)


def _key_order(t, w, max_wave):
    """The permutation sorting entries by key ``(t, w)`` (then by position).

    XLA's CPU sort is fast for one integer operand and slow for floats or several operands
    (measured: (64, 1600) entries, 2.3 ms vs 14-23 ms). So: sort the integer images of
    the times alone, rank every entry by binary search (unrolled: (64, 800) entries 0.9 ms
    vs 1.4 ms for the looped search), and sort one packed integer ``(rank, wave, position)``;
    the generic multi-operand sort only when it does not fit.
    """
    e = t.shape[0]
    nw = max_wave + 2  # waves 0 .. max_wave, and the padding's NO_WAVE (clipped)
    it = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    if e * e * nw < jnp.iinfo(it).max and e > 1:
        key = _sortable(t)
        rank = jnp.searchsorted(jnp.sort(key), key, side="left", method="scan_unrolled").astype(it)
        packed = (rank * nw + jnp.clip(w, 0, nw - 1).astype(it)) * e + jnp.arange(e, dtype=it)
        return (jnp.sort(packed) % e).astype(jnp.int32)
    _, _, order = jax.lax.sort((t, w, jnp.arange(e, dtype=jnp.int32)), num_keys=2)
    return order


def _single_linear(net, source, target):
    """The weight ``(target, source)`` when exactly one Linear/Affine map joins ``source`` to
    ``target`` (1-D shapes) and nothing else reaches ``target`` from ``source``; else None."""
    from ..semantics.maps import Affine, Linear

    ms = [m for m in net.preds(target) if m in net.nodes and isinstance(net.nodes[m], (Linear, Affine))
          and net.preds(m) == (source,)]
    if len(ms) != 1:
        return None
    for p in net.preds(target):
        if p != ms[0] and (p == source or (p in net.nodes and isinstance(net.nodes[p], (Linear, Affine, *_maps()))
                                           and source in net.upstream_sources(p))):
            return None
    m = net.nodes[ms[0]]
    if len(m.in_shape) != 1 or len(m.out_shape) != 1:
        return None
    return m.weight


def _maps():
    from ..semantics.maps import Map

    return (Map,)


def _weighted_columns(cols, w):
    """``cols @ w`` summed in a fixed order (elementwise: the same rounding with and
    without vmap, as :func:`semantics.maps._matvec`)."""
    acc = cols[:, 0] * w[0]
    for i in range(1, cols.shape[1]):
        acc = acc + cols[:, i] * w[i]
    return acc


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


def _write_log(log_t, log_s, bounds, t_old, t_new, st_old, extra=None):
    """Log each anchor that is left for a later step: row = the step of the old anchor.
    ``extra``: ``{key: (log array, value)}`` more per-anchor values written in the same rows
    (returned updated as a third result when given)."""
    k_old = _flat(step_of(bounds, t_old))
    k_new = _flat(step_of(bounds, t_new))
    leave = k_new > k_old
    n_rows = log_t.shape[0]
    rows = jnp.where(leave, k_old, n_rows)
    cols = jnp.arange(rows.shape[0])
    log_t = log_t.at[rows, cols].set(jnp.where(leave, _flat(t_old), 0.0), mode="drop")
    log_s = {v: log_s[v].at[rows, cols].set(jnp.where(leave, _flat(st_old[v]), 0.0), mode="drop") for v in log_s}
    if extra is None:
        return log_t, log_s
    extra = {k: a.at[rows, cols].set(jnp.where(leave, _flat(x), 0).astype(a.dtype), mode="drop")
             for k, (a, x) in extra.items()}
    return log_t, log_s, extra


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
    K = dict(cfg.max_spikes).get(name, 1)
    steps_log = n_steps if log else 0
    t0 = bounds[0]

    drive0 = inp.drive_at(0)[name] if inp.dense else inp.drive_at(None)[name]
    kc0 = next_change[0] if inp.dense else jnp.array(n_steps, jnp.int32)
    ev = _Events(net, name, trains, comp.impulse_sources, cfg.max_cascade)
    if ev.columns:
        return _run_windowed(net, comp, inp, ev, drive0=drive0, kc0=kc0, next_change=next_change, bounds=bounds,
                             n_steps=n_steps, q=q, init=init, cfg=cfg, log=log, skip=skip)
    carry = {
        "st": init[name],
        "ta": jnp.full(shape, t0, dtype),
        "wv": jnp.zeros(shape, jnp.int32),
        "drive": jnp.asarray(drive0, dtype),
        "kc": jnp.asarray(kc0, jnp.int32),
        "ptr": jnp.array(0, jnp.int32),
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
        if ev.size:
            arr, ptr = ev.pop(c["ptr"], t_g, w_g, is_imp)
            st_g = node.jump(st_g, arr)
            wv_g = jnp.where(is_imp, jnp.maximum(wv_g, w_g + 1), wv_g)
        else:
            ptr = c["ptr"]
        new = {**c, "st": st_g, "ta": jnp.full(shape, t_g, dtype), "wv": wv_g, "drive": drive, "kc": kc_new,
               "ptr": ptr, "done": is_end}
        z = jnp.zeros(shape, bool)
        return new, (z, jnp.zeros(shape, dtype), jnp.zeros(shape, jnp.int32))

    def body(c):
        t_g, w_g = lexmin([inp.drive_key(c["kc"]), (inp.t_end, jnp.array(-1)), ev.key(c["ptr"])])
        if spiking:
            st, ta, wv = c["st"], c["ta"], c["wv"]
            at_now = node.threshold_fn(st) >= 0
            s = first_root(node.trajectory(st, c["drive"]), t_g - ta, kind, dict(cfg.root_forms).get(name))
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
    return _parallel_result(name, c, c["st"], jnp.reshape(c["cnt"], shape), shape=shape, q=q, spiking=spiking, log=log)


def _parallel_result(name, c, final, counts, *, shape, q, spiking, log):
    """What a ``"parallel"`` component hands on, from its loop's final carry ``c``."""
    return {
        "final": {name: final},
        "counts": {name: counts} if spiking else {},
        "trains": {name: Train(times=c["tbuf"], waves=c["wbuf"], areas=jnp.where(jnp.isfinite(c["tbuf"]), q, 0.0),
                               shape=shape)} if spiking else {},
        "logs": {name: (c["log_t"], c["log_s"])} if log else {},
        "flags": {name: {"spikes": c["over"], "cascade": c["cascade"], "events": ~c["done"]}},
        "iterations": c["it"],
        "delays": {},
    }


def _window_size(n, e):
    """Impulses looked ahead per iteration: many for a node with few neurons and many input
    spikes (an output layer), one when the input spikes are few (the iterations are then its
    own firing rounds) or the node is large (the work per iteration is neurons x window)."""
    return max(1, min(32, 2048 // max(1, n), e // 16))


def _compose(first, second):
    """``second o first`` for maps ``(P, c)`` given as nested lists (elementwise 2x2 algebra)."""
    (P1, c1), (P2, c2) = first, second
    m = len(c1)
    P = [[sum(P2[i][k] * P1[k][j] for k in range(m)) for j in range(m)] for i in range(m)]
    c = [sum(P2[i][k] * c1[k] for k in range(m)) + c2[i] for i in range(m)]
    return P, c


def _prefix(P, cc):
    """Prefix compositions of the window's affine maps along axis 1, composed in order and
    unrolled: elementwise chains that XLA fuses into a few kernels. (An associative scan
    needs log2 W levels but its slices, pads and concatenations are separate kernels; at
    W <= 32 and few neurons those launches dominate: the Yin-Yang output layer's loss and
    gradient took 1.5x longer with it, measured in one run.)"""
    W = cc[0].shape[1]
    m = len(cc)

    def col(k):
        return [[P[i][j][:, k] for j in range(m)] for i in range(m)], [cc[i][:, k] for i in range(m)]

    outs = [col(0)]
    for k in range(1, W):
        outs.append(_compose(outs[-1], col(k)))
    Ps = [[jnp.stack([o[0][i][j] for o in outs], axis=1) for j in range(m)] for i in range(m)]
    return Ps, [jnp.stack([o[1][i] for o in outs], axis=1) for i in range(m)]


def _run_windowed(net, comp, inp, ev, *, drive0, kc0, next_change, bounds, n_steps, q, init, cfg, log, skip):
    """``"parallel"`` with the maps folded into columns (see :func:`_windowed_loop`).

    Derivatives: when the drive is constant and the replay is small enough
    (:func:`._replay.replay_applies`), the loop runs on values only and the derivatives of
    its spike times, final state and logged states come from replaying its spikes in
    closed form (:mod:`._replay`, a ``custom_jvp``: nothing extra without differentiation);
    otherwise the loop itself is differentiated."""
    (name,) = comp.nodes
    node = net.nodes[name]
    shape = node.shape
    K = dict(cfg.max_spikes).get(name, 1)
    n = max(1, math.prod(shape))
    steps_log = n_steps if log else 0
    run = dict(name=name, k=K, inp=inp, kc0=kc0, next_change=next_change, bounds=bounds, n_steps=n_steps, cfg=cfg, log=log)
    if _replay.replay_applies(node, ev, inp, n=n, k=K, steps_log=steps_log):
        c = _replay.replayed(_windowed_loop, node, ev, init[name], drive0, skip, run)
    else:
        c = _windowed_loop(node, _EventArrays.of(ev), init[name], drive0, skip, **run)
    res = _parallel_result(name, c, {v: jnp.reshape(a, shape) for v, a in c["st"].items()},
                           jnp.reshape(c["cnt"], shape), shape=shape, q=q, spiking=node.spiking, log=log)
    if "steps" in c:  # per-step states already rebuilt (with their derivatives)
        res["logs"], res["states"] = {}, {name: c["steps"]}
    return res


@dataclasses.dataclass(frozen=True)
class _EventArrays:
    """The merged impulse list a windowed loop walks (:class:`_Events`' arrays)."""

    t: jax.Array
    w: jax.Array
    a: jax.Array
    gi: jax.Array
    matrix: jax.Array | None

    @property
    def size(self):
        return int(self.t.shape[0])

    @classmethod
    def of(cls, ev):
        return cls(ev.t, ev.w, ev.a, ev.gi, ev.matrix)


def _windowed_loop(node, ev, x_init, drive0, skip, *, name, k, inp, kc0, next_change, bounds, n_steps, cfg, log,
                   indices=False):
    """The loop of a ``"parallel"`` node with the maps folded into columns: every neuron walks the merged
    impulse list with its own pointer and stops at its first spike. An iteration looks at
    the next ``W`` impulses of every neuron at once: the states after each of them are the
    prefix compositions of the affine maps (flow, then jump) of the window (:func:`_prefix`),
    every interval is tested for
    a threshold crossing (closed-form bracket test), and a neuron fires at its first one
    (one root per neuron). Neurons never wait for each other, except at a change of the
    dense drive and at the end (a barrier, applied once every neuron has reached it).

    Returns the final carry (flat ``(n,)`` arrays). ``indices``: also record, per spike
    slot, how many impulses were applied before it (``pbuf``) and whether it fired at an
    anchor already at threshold (``nbuf``), and per logged anchor the impulse pointer and
    spike count there (``log_p``, ``log_k``): what :mod:`._replay` needs."""
    spiking = node.spiking
    dtype = bounds.dtype
    shape = node.shape
    n = max(1, math.prod(shape))
    K = k
    names = tuple(node.state_vars)
    E = ev.size
    W = max(1, min(_window_size(n, E), E))
    steps_log = n_steps if log else 0
    kind = node.trajectory_kind if spiking else None
    form = dict(cfg.root_forms).get(name)
    flat = lambda x: jnp.reshape(x, (n,))  # noqa: E731
    carry = {
        "st": {v: flat(a) for v, a in x_init.items()},
        "ta": jnp.full((n,), bounds[0], dtype),
        "wv": jnp.zeros((n,), jnp.int32),
        "p": jnp.zeros((n,), jnp.int32),
        "drive": flat(jnp.asarray(drive0, dtype)),
        "kc": jnp.asarray(kc0, jnp.int32),
        "cnt": jnp.zeros(n, jnp.int32),
        "tbuf": jnp.full((n, K if spiking else 0), jnp.inf, dtype),
        "wbuf": jnp.full((n, K if spiking else 0), NO_WAVE, jnp.int32),
        "log_t": jnp.full((steps_log, n), -jnp.inf, dtype),
        "log_s": {v: jnp.zeros((steps_log, n), dtype) for v in names},
        "done": jnp.asarray(skip),
        "over": jnp.array(False),
        "cascade": jnp.array(False),
        "it": jnp.array(0, jnp.int32),
    }
    if indices:
        carry.update(pbuf=jnp.zeros((n, K if spiking else 0), jnp.int32), nbuf=jnp.zeros((n, K if spiking else 0), bool),
                     log_p=jnp.zeros((steps_log, n), jnp.int32), log_k=jnp.zeros((steps_log, n), jnp.int32))
    # the node's maths on flat (n,) and windowed (n, W) arrays
    nf, nw = per_neuron(node, n), per_neuron(node, n, trail=(1,))

    def lexlt(t1, w1, t2, w2):
        return (t1 < t2) | ((t1 == t2) & (w1 < w2))

    def take(a, k):
        return jnp.take_along_axis(a, k[:, None], axis=1)[:, 0]

    def body(c):
        stop_t, stop_w = lexmin([inp.drive_key(c["kc"]), (inp.t_end, jnp.array(-1))])
        drive = c["drive"]
        t0, x0, c0, p = c["ta"], c["st"], c["wv"], c["p"]
        lt, ls = c["log_t"], c["log_s"]
        if E:
            idx = p[:, None] + jnp.arange(W, dtype=p.dtype)[None, :]
            jw = jnp.minimum(idx, E - 1)
            valid = (idx < E)
            T = jnp.where(valid, ev.t[jw], jnp.inf)
            Wv = jnp.where(valid, ev.w[jw], NO_WAVE)
            valid = valid & lexlt(T, Wv, stop_t, stop_w)
            valid = jnp.cumprod(valid.astype(jnp.int32), axis=1).astype(bool)  # a prefix of the window
            A = jnp.where(valid, ev.a[jw] * ev.matrix[jnp.arange(n)[:, None], ev.gi[jw]], 0.0)
            T = jnp.where(valid, T, stop_t)
            prev = jnp.concatenate([t0[:, None], T[:, :-1]], axis=1)
            # one map per interval: to its impulse, or (first invalid one) to the barrier
            P1, c1 = nw.propagator(drive[:, None], T - prev)
            J = nw.jump({v: jnp.zeros_like(T) for v in names}, A)
            eye = [[jnp.ones_like(T) if i == j else jnp.zeros_like(T) for j in range(len(names))]
                   for i in range(len(names))]
            P = [[jnp.where(valid, P1[i][j], eye[i][j]) for j in range(len(names))] for i in range(len(names))]
            cc = [jnp.where(valid, c1[i] + J[v], 0.0) for i, v in enumerate(names)]
            P, cc = _prefix(P, cc)
            X = {v: sum(P[i][j] * x0[names[j]][:, None] for j in range(len(names))) + cc[i]
                 for i, v in enumerate(names)}  # state just after each impulse of the window
            S = {v: jnp.concatenate([x0[v][:, None], X[v][:, :-1]], axis=1) for v in names}  # interval starts
            start_t = prev
            lim_t = jnp.where(valid, T, stop_t)
            lim_w = jnp.where(valid, Wv, stop_w)
            start_c = jnp.concatenate([c0[:, None], Wv[:, :-1] + 1], axis=1)
            # interval k is looked at when its start exists; its end is impulse k, or the
            # barrier when the window reaches it
            # state at each interval's end, before its impulse
            X_end = {v: sum(P1[i][j] * S[names[j]] for j in range(len(names))) + c1[i] for i, v in enumerate(names)}
            n_valid = jnp.sum(valid, axis=1)
            considered = jnp.arange(W)[None, :] <= jnp.minimum(n_valid, W - 1)[:, None]
            considered = considered & ((jnp.arange(W)[None, :] < n_valid[:, None]) | (n_valid < W)[:, None])
        else:
            S = {v: x0[v][:, None] for v in names}
            start_t, start_c = t0[:, None], c0[:, None]
            lim_t = jnp.broadcast_to(stop_t, (n, 1))
            lim_w = jnp.broadcast_to(stop_w, (n, 1))
            n_valid = jnp.zeros((n,), jnp.int32)
            considered = jnp.ones((n, 1), bool)
            X = None
            X_end = None
        kk = jnp.arange(lim_t.shape[1])[None, :]
        if spiking:
            g_now = nw.threshold_fn(S) >= 0
            at_now = g_now & ((start_t < lim_t) | (start_c <= lim_w))
            g_end = None if X_end is None else nw.threshold_fn(X_end)
            has, _ = has_root(nw.trajectory(S, drive[:, None]), lim_t - start_t, kind, g_end)
            hit = considered & (at_now | (~g_now & has))
            found = jnp.any(hit, axis=1)
            k_hit = jnp.argmax(hit, axis=1)
        else:
            found = jnp.zeros((n,), bool)
            k_hit = jnp.zeros((n,), jnp.int32)
        # where each neuron stops: its first hit, else the barrier (ready), else the window end
        reach = n_valid < lim_t.shape[1]  # the window reached the barrier (or the list's end)
        ready = ~found & (reach | (E == 0))
        k_end = jnp.where(found, k_hit, n_valid)
        # state and time at the stop point (the start of interval k_end)
        if E:
            f_x = {v: take(S[v], jnp.minimum(k_end, W - 1)) for v in names}
            f_t = take(start_t, jnp.minimum(k_end, W - 1))
            f_c = take(start_c, jnp.minimum(k_end, W - 1))
            last = {v: X[v][:, W - 1] for v in names}
            full = k_end >= W  # applied the whole window
            f_x = _where_tree(full, last, f_x)
            f_t = jnp.where(full, T[:, W - 1], f_t)
            f_c = jnp.where(full, Wv[:, W - 1] + 1, f_c)
            f_lim = take(lim_t, jnp.minimum(k_end, W - 1))
        else:
            f_x, f_t, f_c, f_lim = x0, t0, c0, jnp.broadcast_to(stop_t, (n,))
        fired = jnp.zeros((n,), bool)
        t_spk = jnp.zeros((n,), dtype)
        w_spk = jnp.zeros((n,), jnp.int32)
        new_t, new_x, new_c = f_t, f_x, f_c
        if spiking:
            f_now = (nf.threshold_fn(f_x) >= 0) & found & take(at_now, jnp.minimum(k_end, lim_t.shape[1] - 1))
            s = first_root(nf.trajectory(f_x, drive), f_lim - f_t, kind, form)
            s = jnp.where(f_now, 0.0, s)
            cont = found & ~f_now & (f_t + s < f_lim)
            fired = found & (f_now | cont)
            s_f = jnp.where(cont, s, 0.0)
            at = nf.flow(f_x, drive, s_f)
            at = {**at, "v": jnp.where(cont, nf.v_threshold, at["v"])}
            post = nf.reset(at, fired, rule=cfg.reset)
            t_spk = jnp.where(cont, f_t + s_f, f_t)
            w_spk = jnp.where(cont & (t_spk > f_t), 0, f_c)
            # a crossing found exactly at the interval's end: move there unfired; the next
            # iteration's threshold check decides (as the global loop's half-open intervals)
            stay = found & ~fired
            x_stay = nf.flow(f_x, drive, f_lim - f_t)
            new_t = jnp.where(fired, t_spk, jnp.where(stay, f_lim, f_t))
            new_x = _where_tree(fired, post, _where_tree(stay, x_stay, f_x))
            new_c = jnp.where(fired, w_spk + 1, jnp.where(stay, jnp.where(f_lim > f_t, 0, f_c), f_c))
        else:
            f_now = fired
        p_new = p + jnp.minimum(k_end, W).astype(p.dtype)
        cnt_new = c["cnt"] + fired.astype(jnp.int32)
        lx = {k: c[k] for k in ("log_p", "log_k")} if (indices and log) else None
        if log:
            if E:
                # anchors passed inside the window: interval starts 1 .. k_end (after impulses)
                rows = step_of(bounds, start_t)
                nxt = jnp.concatenate([start_t[:, 1:], new_t[:, None]], axis=1)
                passed = (kk < jnp.minimum(k_end, W)[:, None] + 1) & (kk <= jnp.minimum(k_end, W - 1)[:, None])
                end_t = jnp.where(kk < jnp.minimum(k_end, W)[:, None], nxt, new_t[:, None])
                leave = passed & (step_of(bounds, end_t) > rows)
                rr = jnp.where(leave, rows, steps_log)
                cols = jnp.broadcast_to(jnp.arange(n)[:, None], rr.shape)
                lt = lt.at[rr, cols].set(jnp.where(leave, start_t, 0.0), mode="drop")
                ls = {v: ls[v].at[rr, cols].set(jnp.where(leave, S[v], 0.0), mode="drop") for v in names}
                if lx is not None:  # the anchor after impulse k: k impulses of the window applied
                    lx = {"log_p": lx["log_p"].at[rr, cols].set(p[:, None] + kk.astype(jnp.int32), mode="drop"),
                          "log_k": lx["log_k"].at[rr, cols].set(jnp.broadcast_to(c["cnt"][:, None], rr.shape),
                                                                mode="drop")}
            elif lx is None:
                lt, ls = _write_log(lt, ls, bounds, t0, new_t, x0)
            else:
                lt, ls, lx = _write_log(lt, ls, bounds, t0, new_t, x0,
                                        {"log_p": (lx["log_p"], p), "log_k": (lx["log_k"], c["cnt"])})
        # the barrier (drive change or end) once every neuron has reached it
        all_ready = jnp.all(ready)
        is_drive = all_ready & (stop_w == -1) & (inp.drive_key(c["kc"])[0] == stop_t)
        is_end = all_ready & ~is_drive
        if log and lx is None:
            lt, ls = _write_log(lt, ls, bounds, new_t, jnp.where(all_ready, stop_t, new_t), new_x)
        elif log:
            lt, ls, lx = _write_log(lt, ls, bounds, new_t, jnp.where(all_ready, stop_t, new_t), new_x,
                                    {"log_p": (lx["log_p"], p_new), "log_k": (lx["log_k"], cnt_new)})
        x_b = nf.flow(new_x, drive, stop_t - new_t)
        new_x = _where_tree(all_ready, x_b, new_x)
        new_c = jnp.where(all_ready & (new_t < stop_t), 0, new_c)
        new_t = jnp.where(all_ready, stop_t, new_t)
        if inp.dense:
            kc = jnp.minimum(c["kc"], n_steps - 1)
            drive = jnp.where(is_drive, flat(inp.drive_at(kc)[name]), drive)
            kc_new = jnp.where(is_drive, next_change[kc], c["kc"])
        else:
            kc_new = c["kc"]
        out = {**c, "st": new_x, "ta": new_t, "wv": new_c, "p": p_new, "drive": drive, "kc": kc_new,
               "done": is_end, "it": c["it"] + 1, "log_t": lt, "log_s": ls}
        if spiking:
            tb, wb, cnt, over = _write_spikes(c["tbuf"], c["wbuf"], c["cnt"], fired, t_spk, w_spk, K)
            out.update(tbuf=tb, wbuf=wb, cnt=cnt, over=c["over"] | over,
                       cascade=c["cascade"] | jnp.any(fired & (w_spk >= cfg.max_cascade)))
            if indices:
                ok = fired & (c["cnt"] < K)
                rows, cols = jnp.arange(n), jnp.where(ok, c["cnt"], K)
                out.update(pbuf=c["pbuf"].at[rows, cols].set(p_new, mode="drop"),
                           nbuf=c["nbuf"].at[rows, cols].set(f_now, mode="drop"))
        if lx is not None:
            out.update(lx)
        return out

    def cond(c):
        return ~c["done"]

    def buffers(c):
        extra = tuple(c[k] for k in ("pbuf", "nbuf", "log_p", "log_k") if k in c)
        return (c["tbuf"], c["wbuf"], c["log_t"], c["log_s"]) + extra

    return _while(cond, body, carry, cfg, buffers)


# ------------------------------------------------------------------------------------------
# joint: a recurrent population (or cycle, or Delay): one common anchor
# ------------------------------------------------------------------------------------------
def run_joint(net, comp, *, trains, dense, next_change, bounds, n_steps, q, init, init_delays, cfg: LoopConfig, log,
              delay_outputs, skip=False):
    inp = _Inputs(net, comp, trains=trains, dense=dense, next_change=next_change, bounds=bounds, n_steps=n_steps)
    nodes = net.nodes
    neurons, spiking, delays = inp.neurons, inp.spiking, inp.delays
    dtype = bounds.dtype
    Ks = dict(cfg.max_spikes)
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
        "tbuf": {n: jnp.full((size[n], Ks[n]), jnp.inf, dtype) for n in spiking},
        "wbuf": {n: jnp.full((size[n], Ks[n]), NO_WAVE, jnp.int32) for n in spiking},
        "dcnt": {d: jnp.zeros(size[d], jnp.int32) for d in delay_outputs},
        "dtbuf": {d: jnp.full((size[d], Ks[d]), jnp.inf, dtype) for d in delay_outputs},
        "dabuf": {d: jnp.zeros((size[d], Ks[d]), dtype) for d in delay_outputs},
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
        roots = {n: first_root(nodes[n].trajectory(c["st"][n], c["drive"][n]), horizon, nodes[n].trajectory_kind,
                               dict(cfg.root_forms).get(n)) for n in spiking}
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
                                                     jnp.full(nodes[n].shape, w, jnp.int32), Ks[n])
            over[n] = over[n] | o
        out.update(tbuf=tb, wbuf=wb, cnt=cnt)
        if delay_outputs:
            dt_, da_, dc_ = dict(c["dtbuf"]), dict(c["dabuf"]), dict(c["dcnt"])
            for d in delay_outputs:
                has = _flat(popped[d] != 0)
                rows = jnp.arange(has.shape[0])
                ok = has & (dc_[d] < Ks[d])
                cols = jnp.where(ok, dc_[d], Ks[d])
                dt_[d] = dt_[d].at[rows, cols].set(jnp.where(ok, t, 0.0), mode="drop")
                da_[d] = da_[d].at[rows, cols].set(jnp.where(ok, _flat(popped[d]), 0.0), mode="drop")
                over[d] = over[d] | jnp.any(has & (dc_[d] >= Ks[d]))
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
