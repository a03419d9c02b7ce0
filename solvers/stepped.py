"""The time-stepped executor: runs a platform :class:`~semantics.platforms.Program`.

:func:`run` is the one run function of every platform path: one jitted ``lax.scan`` over the
steps; inside a step the nodes run in the program's static order, each neuron node by its
:class:`~semantics.platforms.rules.NeuronRule` (the public step rules of ``semantics``). It
returns a :class:`~solvers.Solution`. Everything is a pure function of the program's arrays and
the inputs, so ``jax.jit``, ``jax.vmap`` (batches, parameter sweeps) and ``jax.grad`` (through
the rules' surrogate spike derivative) apply. It knows nothing of the public API or of platform
names: a Program says what to do.

Executor-side transformations (none changes a result):

* **folding** (:func:`fold_constants`): coefficients that are concrete and uniform over a node
  become Python floats, i.e. constants of the compiled step; the rules' coefficient algebra
  then drops terms with a constant zero coefficient and multiplications by a constant one.
  Traced coefficients (``jax.grad``, a jitted function of the graph) stay arrays;
* **layout**: 2-d spatial values are held channels-last inside the loop
  (:mod:`solvers._channels_last`); recordings and the final state come back in NIR's layout;
* **unrolling** (:func:`auto_unroll`): several steps per loop iteration.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import weakref

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..semantics.maps import Affine, Conv, Linear
from ..semantics.platforms import NeuronProgram, Program
from ..semantics.platforms.rules import heaviside, mul

from . import _channels_last as _cl
from ._results import RESULTS
from ._solution import Solution

RECORDABLE = ("spikes", "v", "i_syn", "v_native", "i_native", "outputs")
DEFAULT_RECORD = ("outputs", "output_spikes")
"""What a run keeps per step unless told: the value reaching each Output node and the spikes of the
nodes that feed the Outputs (the output layer). ``spike_counts`` of every node and ``final_state``
come whatever is recorded; ``record=None`` keeps everything."""


def run(program: Program, inputs: dict, *, t0=0.0, record=DEFAULT_RECORD, dtype=None, unroll=None,
        fold: bool = True) -> Solution:
    """Run ``program`` on dense ``inputs`` ``{name: (steps, *shape)}`` (one sample; ``jax.vmap``
    this function, or the caller, for a batch).

    Returns a :class:`Solution`: ``ts`` (the step ends ``t0 + k dt``, ``k = 1..steps``),
    ``spikes[node]`` (steps, *shape) spike counts per step (spiking neurons and Threshold nodes),
    ``states[node]`` per step after the step (``v`` and, for CubaLIF/CubaLI, ``i_syn`` in NIR
    units; ``v_native``/``i_native`` in the platform's units), ``spike_counts``,
    ``stats["outputs"][name]`` the value reaching each Output node per step, and ``final_state``
    (pass it as ``initial_state`` of the next chunk to continue the run bit for bit).

    - ``record``: what to keep per step: by default (``DEFAULT_RECORD``) the value reaching each
      Output node (what the frameworks' runs return) and the spikes of the nodes feeding them;
      None (everything: spikes and every state of every node), kinds of ``RECORDABLE``,
      ``"states"`` or ``"output_spikes"``, or ``{node: kinds}`` (:func:`normalize_record`).
      ``spike_counts`` (every spiking node and Threshold) and ``final_state`` come whatever is
      recorded. Recording costs memory traffic in proportion to its size: every state of every
      node is 3-8x the run time of the outputs alone (``benchmarks/bench_platforms.py``).
    - ``dtype``: the floating type of the run (default: JAX's default float).
    - ``unroll``: steps per loop iteration (None: :func:`auto_unroll`); the same operations in
      the same order, so results are identical, only the schedule changes.
    - ``fold``: compile concrete uniform coefficients in as constants (see the module docstring).
    """
    record, dtype, unroll = run_options(program, record=record, dtype=dtype, unroll=unroll)
    arrays, static = _split(_prepared(program, fold))
    return _run_jit(arrays, static, inputs, jnp.asarray(t0, dtype), record, dtype.name, unroll)


def _split(prog):
    """``prog`` as (its array leaves, the rest): the rest (structure, Python-float constants, wiring)
    is a hashable static argument of the compiled run, compared by value."""
    leaves, treedef = jax.tree.flatten(prog)
    arrays = [a if eqx.is_array(a) else None for a in leaves]
    return arrays, (treedef, tuple(None if eqx.is_array(a) else a for a in leaves))


_PREPARED = {}


def _prepared(program, fold):
    """``program`` folded (where ``fold``) and without its platform label (a label, not part of what
    runs: kept out of the compilation key). Remembered per program object while it lives, so that
    running one Program many times eagerly folds it once."""
    key = (id(program), fold)
    hit = _PREPARED.get(key)
    if hit is not None and hit[0]() is program:
        return hit[1]
    prog = fold_constants(program) if fold else program
    prog = dataclasses.replace(prog, platform=None)
    if not any(isinstance(a, jax.core.Tracer) for a in jax.tree.leaves(program)):
        if len(_PREPARED) > 256:
            _PREPARED.clear()
        _PREPARED[key] = (weakref.ref(program, lambda _, k=key: _PREPARED.pop(k, None)), prog)
    return prog


def run_options(program, *, record=DEFAULT_RECORD, dtype=None, unroll=None):
    """The run options of :func:`run`, checked and normalised: ``(record, dtype, unroll)``."""
    record = normalize_record(record, program)
    dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
    unroll = auto_unroll(program) if unroll is None else unroll
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"unroll must be a positive number of steps (or None), got {unroll!r}.")
    return record, dtype, unroll


def normalize_record(record, program):
    """``record`` -> a tuple of ``(kind, nodes or None)``: what to keep per step.

    ``record``: None (everything), a kind or a list of kinds, or ``{node: kind(s)}``. Kinds:
    ``RECORDABLE`` (``"spikes"``, ``"v"``, ``"i_syn"``, ``"v_native"``, ``"i_native"``, ``"outputs"``)
    ``"states"`` (all four states) and ``"output_spikes"`` (the spikes of the spiking nodes and
    Thresholds that feed an Output node directly)."""
    def expand(kinds):
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        out = set()
        for k in kinds:
            if k == "states":
                out.update(("v", "i_syn", "v_native", "i_native"))
            elif k == "output_spikes":
                out.add(k)
            elif k == "spike_times":
                raise ValueError("record: a time-stepped platform model has no exact spike times; record 'spikes' "
                                 "(counts per step).")
            elif k in RECORDABLE:
                out.add(k)
            else:
                raise ValueError(f"record: unknown kind {k!r}; kinds are "
                                 f"{list(RECORDABLE) + ['states', 'output_spikes']}.")
        return out

    if record is None:
        return tuple((k, None) for k in RECORDABLE)
    spiking = {n for n, p in program.neurons.items() if p.rule.spiking} | set(program.thresholds)
    preds = dict(program.wiring.predecessors)
    feeding = tuple(sorted({p for o in program.wiring.outputs for p in preds.get(o, ()) if p in spiking}))
    if isinstance(record, dict):
        known = set(program.neurons) | set(program.thresholds) | set(program.wiring.outputs)
        per = {}
        for node, kinds in record.items():
            if node not in known:
                raise ValueError(f"record: no node {node!r} with records; nodes: {sorted(known)}.")
            for k in expand(kinds):
                if k == "output_spikes":
                    per.setdefault("spikes", set()).update(feeding)
                else:
                    per.setdefault(k, set()).add(node)
        return tuple((k, tuple(sorted(per[k]))) for k in RECORDABLE if k in per)
    kinds = expand(record)
    out = tuple((k, None) for k in RECORDABLE if k in kinds)
    if "output_spikes" in kinds and "spikes" not in kinds and feeding:
        out = (("spikes", feeding),) + out
    return out


def _wants(record, kind, node=None):
    """Whether ``record`` keeps ``kind`` (of ``node``, or of any node when None)."""
    for k, nodes in record:
        if k == kind and (node is None or nodes is None or node in nodes):
            return True
    return False


def auto_unroll(program: Program) -> int:
    """Steps per loop iteration: 4 for programs with 2-d convolutions, else 1.

    Unrolled, XLA's CPU runtime overlaps independent work of consecutive steps (the
    first layer of step t+1 with the deeper layers of step t). Measured on the 2-core
    CPU (``benchmarks/bench_platforms.py``): the NIR paper's CNN at batch 16, 300 steps
    runs 1.25x faster (norse model 100 -> 80 ms) with compilation 0.4 -> 0.7 s, while
    the braille RNN (small dense steps, dominated by per-op overhead) runs 2-3x slower
    unrolled, hence the rule."""
    return 4 if any(_cl.is_conv2d(m) for m in program.maps.values()) else 1


def fold_constants(program: Program) -> Program:
    """``program`` with every concrete coefficient that is uniform over its node (and a concrete
    scalar spike value) replaced by a Python float: a constant of the compiled step. A new
    compilation per new constant; traced values are left as they are."""
    found = {}
    for n, np_ in program.neurons.items():
        for k, a in np_.coeffs.items():
            if not isinstance(a, jax.core.Tracer) and isinstance(a, (jax.Array, np.ndarray)):
                found[(n, k)] = a
    sv = program.spike_value
    if not isinstance(sv, jax.core.Tracer):
        found[("", "spike_value")] = sv
    host = jax.device_get(found)
    consts = {}
    for key, h in host.items():
        h = np.asarray(h)
        if h.size and np.all(h == h.flat[0]):  # NaN is never uniform
            consts[key] = float(h.flat[0])
    neurons = {}
    for n, np_ in program.neurons.items():
        coeffs = {k: consts.get((n, k), a) for k, a in np_.coeffs.items()}
        neurons[n] = NeuronProgram(coeffs=coeffs, rule=np_.rule, shape=np_.shape, state_vars=np_.state_vars)
    out = eqx.tree_at(lambda p: p.neurons, program, neurons)
    if ("", "spike_value") in consts and math.isfinite(consts[("", "spike_value")]):
        out = eqx.tree_at(lambda p: p.spike_value, out, consts[("", "spike_value")])
    return out


# A plain jax.jit over (arrays, static): under an eager jax.vmap each call goes through JAX's
# Python dispatch, and equinox.filter_jit's own partitioning on top of it cost ~0.6 ms a call
# (braille, batch 140: 6.8 -> 6.1 ms in one run; same results).
@functools.partial(jax.jit, static_argnums=(1, 4, 5, 6))
def _run_jit(arrays, static, inputs, t0, record, dtype, unroll):
    treedef, fixed = static
    prog = jax.tree.unflatten(treedef, [f if a is None else a for a, f in zip(arrays, fixed)])
    dtype = jnp.dtype(dtype)

    def cast(a):
        if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.floating):
            return a.astype(dtype)
        return a

    prog = jax.tree.map(cast, prog)
    dense = {k: jnp.asarray(v, dtype) for k, v in inputs.items()}
    missing = set(prog.wiring.inputs) - set(dense)
    if missing or set(dense) - set(prog.wiring.inputs):
        raise ValueError(f"inputs must be given for exactly {list(prog.wiring.inputs)}, got {sorted(dense)}.")
    n_steps = {x.shape[0] for x in dense.values()}
    if len(n_steps) != 1:
        raise ValueError(f"the inputs disagree on their number of steps: { {k: v.shape[0] for k, v in dense.items()} }.")
    T = n_steps.pop()
    spikes, counted, states, outputs, final = _scan(prog, dense, record, unroll)
    ts = t0 + prog.dt * jnp.arange(1, T + 1, dtype=dtype)
    return Solution(
        ts=ts,
        states=states,
        spikes=spikes,
        spike_times={},
        spike_counts=counted,
        result=RESULTS.successful,
        stats={"outputs": outputs},
        final_state=final,
    )


def rec_plan(record, neurons, spiking, thr, currents, outputs):
    """Which nodes' values one step records, by record key (native states only: NIR states are
    derived after the scan)."""
    plan = {
        "spikes": [n for n in (*spiking, *thr) if _wants(record, "spikes", n)],
        "v_native": [n for n in neurons if _wants(record, "v", n) or _wants(record, "v_native", n)],
        "i_native": [n for n in neurons if n in currents and (_wants(record, "i_syn", n) or _wants(record, "i_native", n))],
        "outputs": [n for n in outputs if _wants(record, "outputs", n)],
    }
    return {k: v for k, v in plan.items() if v}


def _per_step(c, a):
    """``c * a`` for a coefficient ``c`` of one step's shape and a record ``a`` (steps, *shape)."""
    return mul(c, a) if isinstance(c, float) else c[None] * a


def _apply_map(m, x):
    """A map on one step's value in NIR's layout (2-d convolutions and pools over channels-last
    values go through :mod:`solvers._channels_last` instead)."""
    if isinstance(m, (Affine, Linear)):
        y = jnp.matmul(x, m.weight.T.astype(x.dtype))
        return y + m.bias if isinstance(m, Affine) else y
    return m(x)


def _scan(prog, dense, record, unroll):
    w = prog.wiring
    preds = dict(w.predecessors)
    neurons = {n: dict(p.coeffs) for n, p in prog.neurons.items()}
    rules = {n: p.rule for n, p in prog.neurons.items()}
    shapes = {n: tuple(p.shape) for n, p in prog.neurons.items()}
    synapse_vars = {n for n, p in prog.neurons.items() if "i_syn" in p.state_vars}
    has_current = {n for n, r in rules.items() if r.synapse or r.kernel != "float"}
    spiking = tuple(n for n in prog.neurons if rules[n].spiking)
    maps, thr, sv = prog.maps, prog.thresholds, prog.spike_value
    delayed = w.delayed
    carried = w.carried
    input_shapes = {n: x.shape[1:] for n, x in dense.items()}
    dtype = next(iter(dense.values())).dtype
    delays = {}
    for d, shape, steps in w.delays:
        k = np.asarray(steps, dtype=np.int32).reshape(shape)
        delays[d] = (int(k.flat[0]) if k.size and np.all(k == k.flat[0]) else jnp.asarray(k), int(k.max(initial=0)))
    elem_shapes = {**{d: tuple(shape) for d, shape, _ in w.delays}, **{n: tuple(s) for n, s in w.thresholds}}
    out_shapes = dict(w.output_shapes)

    def out_shape(n):
        if n in maps:
            return maps[n].out_shape
        if n in shapes:
            return shapes[n]
        if n in elem_shapes:
            return elem_shapes[n]
        if n in input_shapes:
            return input_shapes[n]
        return out_shapes[n]

    def in_shape(n):
        if n in w.outputs:
            return out_shapes[n]
        if n in maps:
            return maps[n].in_shape
        if n in elem_shapes:
            return elem_shapes[n]
        return shapes[n]

    # 2-d values held channels-last inside the loop (solvers/_channels_last.py): their
    # neurons' coefficients and states in (H, W, C), converted back after the scan
    hwc = _cl.plan(maps, shapes, preds)
    for n in hwc & set(neurons):
        neurons[n] = {k: _cl.coefficient(a, shapes[n]) for k, a in neurons[n].items()}

    def held(n, a):
        return _cl.to_hwc(a) if n in hwc else a

    def nir(n, a, batch_axes=0):
        return _cl.to_chw(a, batch_axes=batch_axes) if n in hwc else a

    state0 = {n: {k: held(n, a.astype(dtype)) for k, a in prog.init["neurons"][n].items()} for n in neurons}
    prev0 = {p: held(p, prog.init["prev"][p].astype(dtype)) for p in carried}
    elem0 = {"dly": {d: prog.init["delay"][d].astype(dtype) for d, (_, K) in delays.items() if K > 0},
             "thr": {n: prog.init["threshold"][n].astype(dtype) for n in thr}}

    # No map is hoisted out of the loop (evaluated for all steps at once): under jax.vmap the hoisted
    # values come out batch-major and the scan needs them time-major, and that transpose of a (batch,
    # steps, features) array cost more than the per-step products it saved (braille, batch 140: 8.8 vs
    # 4.7 ms CPU time; one sample: no difference; benchmarks/bench_platforms.py).
    xs = dense
    # the convolution kernels laid out once, outside the loop
    conv_w = {n: _cl.kernel(m, dtype) for n, m in maps.items() if n in hwc and _cl.is_conv2d(m)}

    def held_shape(n):
        return _cl.hwc_shape(out_shape(n)) if n in hwc else tuple(out_shape(n))

    def spike_gain(n):
        g = neurons[n].get("spike_out")
        if g is None:
            return sv
        return sv * g

    def neuron_out(n, cnt, state):
        if rules[n].spiking:
            return mul(spike_gain(n), cnt)
        return mul(neurons[n]["v_unit"], state["v"])

    def step(carry, ext):
        states, prev, elem = carry
        states = dict(states)
        new_elem = {"dly": dict(elem["dly"]), "thr": dict(elem["thr"])}
        vals = {}
        if w.fire_first:  # every spike of the step from the previous state, before any input is summed
            for n in neurons:
                if rules[n].spiking and rules[n].fires_first:
                    states[n], cnt = rules[n].fire(neurons[n], states[n])
                    vals[n] = mul(spike_gain(n), cnt)
                else:
                    vals[n] = neuron_out(n, None, states[n])

        def read(p, d):
            return prev[p] if (p, d) in delayed else vals[p]

        def summed(n, channels_last=False):
            """The sum of ``n``'s inputs, channels-last where asked (else NIR's layout)."""
            total = None
            for p in preds.get(n, ()):
                v = read(p, n)
                if not (channels_last and p in hwc and tuple(out_shape(p)) == tuple(in_shape(n))):
                    v = jnp.reshape(_cl.to_chw(v) if p in hwc else v, in_shape(n))
                    v = _cl.to_hwc(v) if channels_last else v
                total = v if total is None else total + v
            if total is None:
                return jnp.zeros(_cl.hwc_shape(in_shape(n)) if channels_last else in_shape(n), dtype)
            return total

        counts = {}
        for n in w.order:
            if n in w.inputs:
                vals[n] = ext[n]
            elif n in maps:
                m = maps[n]
                if n in conv_w:
                    vals[n] = _cl.conv(m, conv_w[n], summed(n, True))
                elif n in hwc:
                    vals[n] = _cl.pool(m, summed(n, True))
                else:
                    vals[n] = _apply_map(m, summed(n))
            elif n in neurons:
                states[n], cnt = rules[n].integrate(neurons[n], states[n], summed(n, n in hwc))
                counts[n] = cnt
                if not w.fire_first:
                    vals[n] = neuron_out(n, cnt, states[n])
            elif n in delays:  # y_t = x_{t-k}: whole steps (the platform refuses other delays)
                x = summed(n)
                k, K = delays[n]
                if K == 0:
                    vals[n] = x
                    continue
                stack = jnp.concatenate([x[None], elem["dly"][n]], axis=0)
                vals[n] = stack[k] if isinstance(k, int) else jnp.take_along_axis(stack, k[None], axis=0)[0]
                new_elem["dly"][n] = stack[:K]
            elif n in thr:  # one spike where the input rises from below to at or above the threshold
                x = summed(n)
                below = jax.lax.stop_gradient((elem["thr"][n] < thr[n]).astype(dtype))
                counts[n] = heaviside(x - thr[n], True) * below
                new_elem["thr"][n] = x
                vals[n] = mul(sv, counts[n])
            elif n in w.outputs:
                vals[n] = summed(n)
        new_prev = {p: vals[p] for p in carried}
        # per step only what cannot be derived afterwards: spike counts, native states, outputs
        value = {"spikes": lambda n: counts[n], "v_native": lambda n: states[n]["v"],
                 "i_native": lambda n: states[n]["i_syn"], "outputs": lambda n: vals[n]}
        leaves = [value[k](n) for k, ns in plan.items() for n in ns]
        return (states, new_prev, new_elem), leaves, {n: counts[n] for n in tallied}

    plan = rec_plan(record, neurons, spiking, thr, has_current | synapse_vars, w.outputs)
    T = next(iter(dense.values())).shape[0]

    # spike counts of every spiking node and Threshold, summed in the loop whatever is recorded
    # (whole numbers, so the same values as the sum of the per-step record; cheaper than summing
    # a (batch, steps, n) record afterwards: braille, every record, fastest of 15: 35 -> 26 ms)
    tallied = [*spiking, *thr]
    tally0 = {n: jnp.zeros(held_shape(n), dtype) for n in tallied}

    # The per-step records are buffers (steps, *shape) carried through the loop and written in
    # place, rather than the scan's stacked outputs: under jax.vmap a carry is batch-major, so a
    # record comes out in the (batch, steps, ...) layout the caller gets, with no transpose of the
    # whole recording afterwards (braille, batch 140, every record, one run at load 6: fastest of 15
    # 33 ms stacked, 23-30 ms carried). One buffer per record, not one packed buffer: no slicing
    # afterwards (equal or faster in the same run, outputs only 4.4 vs 4.6-4.7 ms).
    order = [(k, n) for k, ns in plan.items() for n in ns]

    # the step index is carried (not read from an arange of the steps: one dynamic slice less per
    # step; braille B=140, one run: 6.0 -> 5.3 ms default, 18.6 -> 14.9 ms everything, fastest of 20)
    def step_buf(carry, ext):
        core, bufs, tally, i = carry
        core, leaves, cnt = step(core, ext)
        tally = {n: tally[n] + cnt[n] for n in tallied}
        bufs = [jax.lax.dynamic_update_slice(b, a[None], (i,) + (0,) * a.ndim) for b, a in zip(bufs, leaves)]
        return (core, bufs, tally, i + 1), None

    bufs0 = [jnp.zeros((T, *held_shape(n)), dtype) for _, n in order]
    ((states_f, prev_f, elem_f), bufs, tally_f, _), _ = jax.lax.scan(
        step_buf, ((state0, prev0, elem0), bufs0, tally0, jnp.zeros((), jnp.result_type(int))), xs,
        unroll=unroll)
    recs = {}
    for (k, n), b in zip(order, bufs):
        recs.setdefault(k, {})[n] = b

    coeffs = {n: p.coeffs for n, p in prog.neurons.items()}
    spikes = {n: nir(n, a, 1) for n, a in recs.get("spikes", {}).items()}
    states = {}
    for n in neurons:
        st = {}
        if n in recs.get("v_native", {}):
            vn = nir(n, recs["v_native"][n], 1)
            if _wants(record, "v", n):
                st["v"] = _per_step(coeffs[n]["v_unit"], vn)
            if _wants(record, "v_native", n):
                st["v_native"] = vn
        if n in recs.get("i_native", {}):
            i_n = nir(n, recs["i_native"][n], 1)
            if _wants(record, "i_syn", n) and n in synapse_vars:
                st["i_syn"] = _per_step(coeffs[n]["i_unit"], i_n)
            if _wants(record, "i_native", n) and n in has_current:
                st["i_native"] = i_n
        if st:
            states[n] = st
    outputs = recs.get("outputs", {})
    # the final state in NIR layout (module docstring of semantics.platforms._program)
    final = {}
    for n in neurons:
        s = {k: nir(n, a) for k, a in states_f[n].items()}
        d = {"v": mul(coeffs[n]["v_unit"], s["v"])}
        if n in synapse_vars:
            d["i_syn"] = mul(coeffs[n]["i_unit"], s["i_syn"])
        d.update(v_native=s["v"], i_native=s["i_syn"], spikes_prev=s["s"])
        final[n] = d
    for p in carried:
        final.setdefault(p, {})["prev_output"] = nir(p, prev_f[p])
    for d in elem_f["dly"]:
        final.setdefault(d, {})["buffer"] = elem_f["dly"][d]
    for t in elem_f["thr"]:
        final.setdefault(t, {})["x_prev"] = elem_f["thr"][t]
    counted = {n: nir(n, a) for n, a in tally_f.items()}
    return spikes, counted, states, outputs, final
