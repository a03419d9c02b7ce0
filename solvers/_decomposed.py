"""The exact solver by graph decomposition: components in topological order.

1. Dirac inputs become trains (coincident spikes of a channel merged into one impulse).
2. Threshold nodes fire from their piecewise-constant input, vectorised over the steps.
3. Each component of :func:`._plan.plan` runs its own event loop (:mod:`._component`)
   given the trains of the components before it; its spiking nodes' spike times (with
   their cascade waves) are the trains of the components after it.
4. The requested per-step recordings are rebuilt (:mod:`._recording`).

Results equal the global event loop (:mod:`._event_loop`) to float rounding: the same
instants, the same cascade waves, the same half-open step intervals.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..semantics.events import Delay
from ._component import LoopConfig, run_joint, run_parallel
from ._event_loop import slots
from ._plan import plan
from ._recording import states_from_log
from ._trains import Train, bin_times, dirac_train, raster_train


def next_change_index(dense, names, n_steps):
    """``nc[k]``: the first step ``> k`` where one of the dense inputs ``names`` changes
    (``n_steps`` if none). A constant input never makes the solver stop."""
    if not names:
        return jnp.full((n_steps,), n_steps, jnp.int32)
    changed = jnp.zeros((n_steps,), bool).at[0].set(True)
    for i in names:
        x = jnp.reshape(dense[i], (n_steps, -1))
        diff = jnp.any(x[1:] != x[:-1], axis=1)
        changed = changed.at[1:].set(changed[1:] | diff)
    idx = jnp.where(changed, jnp.arange(n_steps, dtype=jnp.int32), n_steps)
    after = jax.lax.cummin(idx[::-1])[::-1]  # min over k' >= k
    return jnp.concatenate([after[1:], jnp.array([n_steps], jnp.int32)])


def threshold_spikes(net, dense, bounds, n_steps, x_prev):
    """Per-step crossings of every Threshold node: ``(steps, *shape)`` 0/1, and the last input."""
    ths = net.thresholds
    if not ths:
        return {}, {}

    def drive(k):
        return net.signals_into({i: x[k] for i, x in dense.items()}, ths, use_bias=True)

    xs = jax.vmap(drive)(jnp.arange(n_steps))
    out, last = {}, {}
    for th in ths:
        x = xs[th]
        before = jnp.concatenate([x_prev[th][None], x[:-1]], axis=0)
        node = net.nodes[th]
        out[th] = jax.vmap(node.crossed)(before, x).astype(jnp.int32)
        last[th] = x[-1]
    return out, last


def solve_decomposed(net, dense, diracs, *, bounds, n_steps, spike_area, init, cfg, record, decompose=True,
                     valid=True):
    """``init``: ``{"neurons": {node: state}, "delays": {node: (times, areas)},
    "thresholds": {node: x_prev}}``; ``record``: ``{node: kinds}``; ``valid``: a scalar
    (traced) flag; when False nothing is simulated (the parameters or inputs are invalid)."""
    dtype = bounds.dtype
    q = jnp.asarray(spike_area, dtype)
    trains = {n: dirac_train(jnp.asarray(s, dtype), q) for n, s in diracs.items()}
    dense = {n: jnp.asarray(x, dtype) for n, x in dense.items()}

    thr, thr_last = threshold_spikes(net, dense, bounds, n_steps, init["thresholds"])
    counts, flags, final, logs, iterations = {}, {}, {}, {}, {}
    step_states = {}  # per-step states a component rebuilt itself
    spike_times = {}
    for th, raster in thr.items():
        tr, _ = raster_train(raster, bounds, (n_steps + 1) // 2 + 1)
        trains[th] = Train(tr.times, tr.waves, q * tr.areas, tr.shape)
        rec, over = raster_train(raster, bounds, slots(cfg, th))
        spike_times[th] = rec.times
        counts[th] = jnp.sum(raster, axis=0)
        flags[th] = {"spikes": over}
        final[th] = {"x_prev": thr_last[th]}

    comps = plan(net, tuple(dense), tuple(diracs), decompose=decompose)
    consumers = {}
    for comp in comps:
        for s in comp.impulse_sources:
            consumers.setdefault(s, set()).add(comp)
    never = jnp.logical_not(valid)
    delay_final = {}
    for i, comp in enumerate(comps):
        nc = next_change_index(dense, comp.dense_inputs, n_steps)
        log = any(v in record.get(n, ()) for n in comp.nodes for v in getattr(net.nodes[n], "state_vars", ()))
        neuron_init = {n: init["neurons"][n] for n in comp.nodes if n in init["neurons"]}
        ks = tuple((n, slots(cfg, n)) for n in comp.nodes if n in net.spiking or isinstance(net.nodes[n], Delay))
        lcfg = LoopConfig(reset=cfg.reset, max_spikes=ks, max_events=cfg.max_events or default_budget(
            net, comp, trains, n_steps, max([k for _, k in ks] + [1])), max_cascade=cfg.max_cascade, max_delayed=cfg.max_delayed,
            loop_kind=cfg.loop_kind, root_forms=cfg.root_forms)
        kw = dict(trains=trains, dense=dense, next_change=nc, bounds=bounds, n_steps=n_steps, q=q, init=neuron_init,
                  cfg=lcfg, log=log)
        if comp.mode == "parallel":
            res = run_parallel(net, comp, **kw, skip=never)
        else:
            outs = tuple(d for d in comp.nodes if isinstance(net.nodes[d], Delay) and d in consumers)
            res = run_joint(net, comp, **kw, init_delays={d: init["delays"][d] for d in comp.nodes if d in init["delays"]},
                            delay_outputs=outs, skip=never)
        trains.update(res["trains"])
        counts.update(res["counts"])
        flags.update(res["flags"])
        logs.update(res["logs"])
        step_states.update(res.get("states", {}))
        iterations[i] = res["iterations"]
        for n, st in res["final"].items():
            final[n] = st
        for d, (t, a) in res["delays"].items():
            delay_final[d] = {"in_flight_times": t, "in_flight_areas": a}
    final.update(delay_final)
    for n in net.spiking:
        spike_times[n] = trains[n].times

    # -- recordings -------------------------------------------------------------------
    rec_times, rec_spikes, rec_states = {}, {}, {}
    for n in net.spiking + net.thresholds:
        shape = net.nodes[n].shape
        kinds = record.get(n, ())
        if "spike_times" in kinds:
            rec_times[n] = jnp.reshape(spike_times[n], (*shape, spike_times[n].shape[-1]))
        if "spikes" in kinds:
            if n in thr:
                rec_spikes[n] = thr[n]
            else:
                rec_spikes[n] = jnp.reshape(bin_times(spike_times[n], bounds, n_steps), (n_steps, *shape))
    for n, (log_t, log_s) in logs.items():
        node = net.nodes[n]
        want = tuple(v for v in node.state_vars if v in record.get(n, ()))
        if not want:
            continue
        names = tuple(i for i in dense if n in _reached(net, i))

        def drive(k, n=n, names=names):
            return net.signals_into({i: dense[i][k] for i in names}, (n,), use_bias=True)[n]

        drive_seq = jax.vmap(drive)(jnp.arange(n_steps))
        full = states_from_log(node, log_t, log_s, drive_seq, bounds, n_steps, init["neurons"][n])
        rec_states[n] = {v: full[v] for v in want}
    for n, full in step_states.items():
        want = tuple(v for v in net.nodes[n].state_vars if v in record.get(n, ()))
        if want:
            rec_states[n] = {v: full[v] for v in want}
    return {
        "spike_times": rec_times,
        "spikes": rec_spikes,
        "states": rec_states,
        "spike_counts": counts,
        "final_state": final,
        "flags": flags,
        "iterations": iterations,
    }


def default_budget(net, comp, trains, n_steps, k):
    """A bound on the loop iterations of a component: every drive change, every upstream
    impulse slot and every spike slot of its own, twice (cascade waves, blocked groups)."""
    upstream = sum(int(trains[s].times.size) for s in comp.impulse_sources)
    own = sum(math.prod(net.nodes[n].shape) for n in comp.nodes) * k
    return 2 * (n_steps + upstream + own) + 16


def _reached(net, source):
    """Nodes whose input ``source`` reaches through maps only."""
    return net.downstream_consumers(source)
