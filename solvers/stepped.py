"""The time-stepped executor: runs a platform :class:`~semantics.platforms.Program`.

One ``lax.scan`` over the steps; inside a step the nodes run in the program's
static order. Everything is a pure function of (coefficients, maps, inputs), so
``jax.jit``, ``jax.vmap`` (batches, parameter sweeps) and ``jax.grad`` (through
the surrogate spike derivative of :func:`semantics.platforms.heaviside`) apply.
It knows nothing of the public API or of platform names: a Program says what to
do.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..semantics.maps import Affine, Conv, Linear
from ..semantics.platforms import Program
from ..semantics.platforms._rules import KERNELS, float_fire, float_integrate, heaviside, mul

from . import _channels_last as _cl

RECORDABLE = ("spikes", "v", "i_syn", "v_native", "i_native", "outputs")


def _apply_map(m, x, bias):
    """A map on one step's value in NIR's layout (2-d convolutions and pools over
    channels-last values go through :mod:`solvers._channels_last` instead)."""
    if isinstance(m, (Affine, Linear)):
        y = jnp.matmul(x, m.weight.T.astype(x.dtype))
        return y + m.bias if (bias and isinstance(m, Affine)) else y
    return m(x) if bias else m.linear(x)


def _cast(program, dtype):
    return jax.tree.map(lambda a: jnp.asarray(a).astype(dtype) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else a,
                        (program.neurons, program.maps, program.spike_value, program.thresholds))


def _fold(neurons, sv, fold):
    """Split the coefficients into arrays (arguments of the compiled program) and, with
    ``fold``, the uniform concrete ones as Python scalars (static: constants of the compiled
    step, so that terms with a zero coefficient vanish and unit factors are not multiplied).
    Traced coefficients (``jax.grad``/``jax.vmap`` over a Program) always stay arrays."""
    arrays, consts, shapes = {}, [], []
    for n, c in neurons.items():
        arrays[n], cn = {}, []
        for k, a in c.items():
            if fold and not isinstance(a, jax.core.Tracer):
                h = np.asarray(a)
                if h.size and np.all(h == h.flat[0]):  # NaN is never uniform
                    cn.append((k, float(h.flat[0])))
                    continue
            arrays[n][k] = a
        consts.append((n, tuple(cn)))
        shapes.append((n, tuple(jnp.shape(c["dm" if "dm" in c else "theta"]))))
    svc = None
    if fold and not isinstance(sv, jax.core.Tracer):
        h = np.asarray(sv)
        if h.size == 1 and np.isfinite(h).all():
            svc = float(h.reshape(()))
    return arrays, (tuple(consts), tuple(shapes), svc)


def run_program(program: Program, dense: dict, *, record=RECORDABLE, dtype=None, fold=False, unroll=1):
    """Run ``program`` on ``dense`` inputs ``{name: (steps, *shape)}`` (unbatched;
    ``jax.vmap`` this function for a batch).

    Returns ``(spikes, states, outputs)``: ``spikes[node]`` (steps, *shape) spike
    counts per step, ``states[node][var]`` per step after the step (``v`` and
    ``i_syn`` in NIR units, ``v_native``/``i_native`` in the platform's units),
    ``outputs[name]`` the value reaching each Output node per step. ``record``
    selects what is kept (fewer records, less memory). ``fold=True`` compiles the
    uniform coefficients in as constants (faster steps; a new compilation for new
    coefficient values). ``unroll``: steps per loop iteration (``None``: the
    :func:`auto_unroll` rule); the same operations in the same order, so results are
    identical, only the schedule (and compile time) changes.
    """
    arrays, static, record, dtype = _prepare(program, record, dtype, fold, unroll)
    dense = {k: jnp.asarray(v, dtype) for k, v in dense.items()}
    return _run(arrays, dense, static, record)


def auto_unroll(program: Program) -> int:
    """Steps per loop iteration: 4 for programs with 2-d convolutions, else 1.

    Unrolled, XLA's CPU runtime overlaps independent work of consecutive steps (the
    first layer of step t+1 with the deeper layers of step t). Measured on the 2-core
    CPU (``benchmarks/bench_platforms.py``): the NIR paper's CNN at batch 16, 300 steps
    runs 1.25x faster (norse model 100 -> 80 ms) with compilation 0.4 -> 0.7 s, while
    the braille RNN (small dense steps, dominated by per-op overhead) runs 2-3x slower
    unrolled, hence the rule."""
    return 4 if any(_cl.is_conv2d(m) for m in program.maps.values()) else 1


def _prepare(program, record, dtype, fold, unroll):
    """Check ``record``, cast the program to ``dtype`` and fold its uniform coefficients."""
    bad = set(record) - set(RECORDABLE)
    if bad:
        raise ValueError(f"record may contain {RECORDABLE}, got {sorted(bad)}")
    dtype = jnp.result_type(float) if dtype is None else dtype
    neurons, maps, sv, thr = _cast(program, dtype)
    coeffs, folded = _fold(neurons, sv, fold)
    unroll = auto_unroll(program) if unroll is None else int(unroll)
    if unroll < 1:
        raise ValueError(f"unroll must be a positive number of steps (or None), got {unroll}")
    static = program.static() + (("folded", folded), ("unroll", unroll))
    return (coeffs, maps, sv, thr), static, tuple(record), dtype


def run_program_batched(program: Program, dense: dict, *, record=RECORDABLE, dtype=None, fold=True, unroll=None):
    """:func:`run_program` over a batch: inputs ``(steps, batch, *shape)``, results
    ``(steps, batch, *shape)``. One jitted ``vmap`` of the scan whose maps and
    non-uniform coefficients are arguments (not constants folded into the compiled
    program), the uniform coefficients constants where ``fold``. To run one
    program many times, :func:`batched_runner` prepares it once."""
    return batched_runner(program, record=record, dtype=dtype, fold=fold, unroll=unroll)(dense)


def batched_runner(program: Program, *, record=RECORDABLE, dtype=None, fold=True, unroll=None):
    """``run(dense) -> (spikes, states, outputs)``: :func:`run_program_batched` with the
    program cast, folded and flattened once, so that a call costs one ``jax.jit``
    dispatch (the compiled scan is shared by programs of the same structure).
    ``unroll=None`` applies :func:`auto_unroll` (throughput runs)."""
    arrays, static, record, dtype = _prepare(program, record, dtype, fold, unroll)
    leaves, treedef = jax.tree.flatten(arrays)
    is_arr = [isinstance(a, (jax.Array, np.ndarray)) for a in leaves]
    dyn = [a for a, k in zip(leaves, is_arr) if k]
    fixed = tuple((i, a) for i, (a, k) in enumerate(zip(leaves, is_arr)) if not k)
    try:
        hash(fixed)
    except TypeError:  # unhashable non-array leaves: the filtered jit handles them
        def run(dense):
            dense = {k: jnp.asarray(v, dtype) for k, v in dense.items()}
            return _run_batched_jit(arrays, dense, static, record)
        return run

    def run(dense):
        dense = {k: jnp.asarray(v, dtype) for k, v in dense.items()}
        return _batched_core(treedef, fixed, dyn, dense, static, record)

    return run


@functools.partial(jax.jit, static_argnums=(0, 1, 4, 5))
def _batched_core(treedef, fixed, dyn, dense, static, record):
    leaves, it, fx = [], iter(dyn), dict(fixed)
    for i in range(treedef.num_leaves):
        leaves.append(fx[i] if i in fx else next(it))
    arrays = jax.tree.unflatten(treedef, leaves)
    return jax.vmap(lambda d: _scan(arrays, d, dict(static), record), in_axes=1, out_axes=1)(dense)


@eqx.filter_jit
def _run_batched_jit(arrays, dense, static, record):
    return jax.vmap(lambda d: _scan(arrays, d, dict(static), record), in_axes=1, out_axes=1)(dense)


@eqx.filter_jit
def _run_jit(arrays, dense, static, record):
    return _scan(arrays, dense, dict(static), record)


def _run(arrays, dense, static, record):
    return _run_jit(arrays, dense, static, record)


def _scan(arrays, dense, st, record):
    coeffs, maps, sv, thr = arrays
    consts, shapes, sv_const = st["folded"]
    consts = dict(consts)
    neurons = {n: {**dict(consts[n]), **coeffs[n]} for n in dict(shapes)}
    shapes = dict(shapes)
    preds = dict(st["predecessors"])
    spiking = set(st["spiking"])
    back = st["back"]
    delayed_out = set(st["delayed_outputs"])
    delayed_in = set(st["delayed_inputs"])
    kernel = st["kernel"]
    single = set(st["single_input"])
    no_bias = set(st["no_bias"])
    kinds = dict(st["kinds"])
    rules = dict(st["reset_rules"])
    input_shapes = {n: x.shape[1:] for n, x in dense.items()}
    dtype = sv.dtype
    # Delay nodes: (steps per element, or one int when uniform; the longest); Threshold nodes
    delays = {}
    for d, shape, steps in st["delay_steps"]:
        k = np.asarray(steps, dtype=np.int32).reshape(shape)
        delays[d] = (int(k.flat[0]) if k.size and np.all(k == k.flat[0]) else jnp.asarray(k), int(k.max(initial=0)))
    elem_shapes = {**{d: tuple(shape) for d, shape, _ in st["delay_steps"]}, **{n: tuple(a.shape) for n, a in thr.items()}}

    def out_shape(n):
        if n in maps:
            return maps[n].out_shape
        if n in shapes:
            return shapes[n]
        if n in elem_shapes:
            return elem_shapes[n]
        if n in input_shapes:
            return input_shapes[n]
        return dict(st["output_shapes"])[n]

    def in_shape(n):
        if n in st["outputs"]:
            return dict(st["output_shapes"])[n]
        if n in maps:
            return maps[n].in_shape
        if n in elem_shapes:
            return elem_shapes[n]
        return shapes[n]

    # values read across steps: sources of back edges and delayed nodes
    # delayed_in: every in-edge of these neurons reads the previous step (a back edge is not delayed twice)
    delayed_edges = st["delayed_edges"]
    carried = sorted({p for (p, _) in back} | delayed_out | {p for d in delayed_in for p in preds.get(d, ())}
                     | {p for (p, _) in delayed_edges})
    # 2-d values held channels-last inside the loop (solvers/_channels_last.py): their
    # neurons' coefficients and states in (H, W, C), converted back after the scan
    hwc = _cl.plan(maps, shapes, {n: (ps[:1] if n in single else ps) for n, ps in preds.items()})
    for n in hwc & set(neurons):
        neurons[n] = {k: _cl.coefficient(a, shapes[n]) for k, a in neurons[n].items()}

    def held_shape(n):
        return _cl.hwc_shape(out_shape(n)) if n in hwc else out_shape(n)

    state0 = {}
    for n, c in neurons.items():
        z = jnp.zeros(held_shape(n), dtype)
        state0[n] = {"v": c.get("v0", z) + z, "i_syn": c.get("i0", z) + z, "s": z}
    prev0 = {p: jnp.zeros(held_shape(p), dtype) for p in carried}

    # dense maps fed only by external inputs are evaluated for all steps at once (one matmul);
    # convolutions stay in the loop (all-steps feature maps cost more memory traffic than they save)
    hoisted = []
    for n in st["order"]:
        if n in maps and n not in delayed_out and not isinstance(maps[n], Conv) and preds.get(n) and all(
            (p in st["inputs"] or p in hoisted) and (p, n) not in back and p not in delayed_out
            for p in preds.get(n, ())
        ):
            hoisted.append(n)
    hoisted = tuple(h for h in hoisted if not st["single_input"] or h not in st["single_input"])
    if hoisted:
        pre = dict(dense)
        for n in hoisted:
            def f(vals_t, n=n):
                total = None
                for p in preds[n]:
                    v = jnp.reshape(vals_t[p], in_shape(n))
                    total = v if total is None else total + v
                return _apply_map(maps[n], total, bias=n not in no_bias)

            pre[n] = jax.vmap(f)({p: pre[p] for p in preds[n]})
        xs = {**dense, **{n: pre[n] for n in hoisted}}
    else:
        xs = dense
    hoisted_set = set(hoisted)
    # the convolution kernels laid out once, outside the loop. Inputs are not transposed
    # for all steps beforehand: a pass over every step's input through memory costs more
    # than the in-cache per-step layout change (measured on the CNN)
    conv_w = {n: _cl.kernel(m, dtype) for n, m in maps.items() if n in hwc and _cl.is_conv2d(m)}

    def spike_gain(n):
        g = neurons[n]["spike_out"]
        if isinstance(g, float) and sv_const is not None:
            return sv_const * g
        return sv * g

    def neuron_out(n, cnt, state):
        if n in spiking:
            return mul(spike_gain(n), cnt)
        return mul(neurons[n].get("v_unit", 1.0), state["v"])

    # carried by Delay nodes (their last inputs, newest first) and Threshold nodes (last input)
    elem0 = {"dly": {d: jnp.zeros((K, *elem_shapes[d]), dtype) for d, (_, K) in delays.items() if K > 0},
             "thr": {n: jnp.zeros(elem_shapes[n], dtype) for n in thr}}

    def step(carry, ext):
        states, prev, elem = carry
        states = dict(states)
        new_elem = {"dly": dict(elem["dly"]), "thr": dict(elem["thr"])}
        vals = {}
        if st["fire_first"]:
            for n in neurons:
                if n in spiking:
                    states[n], cnt = float_fire(neurons[n], states[n], after_decay=n in st["fire_after_decay"],
                                                multi=st["multi_spike"], rule=rules.get(n))
                    vals[n] = mul(spike_gain(n), cnt)
                else:
                    vals[n] = neuron_out(n, None, states[n])

        def read(p, d):
            if (p, d) in back or (p, d) in delayed_edges or p in delayed_out or d in delayed_in:
                return prev[p]
            return vals[p]

        def summed(n, channels_last=False):
            """The sum of ``n``'s inputs, channels-last where asked (else NIR's layout)."""
            total = None
            ps = preds.get(n, ())
            if n in single:
                ps = ps[:1]
            for p in ps:
                v = read(p, n)
                if not (channels_last and p in hwc and tuple(out_shape(p)) == tuple(in_shape(n))):
                    v = jnp.reshape(_cl.to_chw(v) if p in hwc else v, in_shape(n))
                    v = _cl.to_hwc(v) if channels_last else v
                total = v if total is None else total + v
            if total is None:
                return jnp.zeros(_cl.hwc_shape(in_shape(n)) if channels_last else in_shape(n), dtype)
            return total

        counts = {}
        for n in st["order"]:
            if n in st["inputs"] or n in hoisted_set:
                vals[n] = ext[n]
            elif n in maps:
                m = maps[n]
                if n in conv_w:
                    vals[n] = _cl.conv(m, conv_w[n], summed(n, True), bias=n not in no_bias)
                elif n in hwc:
                    vals[n] = _cl.pool(m, summed(n, True))
                else:
                    vals[n] = _apply_map(m, summed(n), bias=n not in no_bias)
            elif n in neurons:
                x = summed(n, n in hwc)
                c = neurons[n]
                if kernel == "float":
                    pend = states[n]["s"] if (st["fire_first"] and n in st["fire_after_decay"] and n in spiking) else None
                    states[n], cnt = float_integrate(c, states[n], x, fire=(n in spiking) and not st["fire_first"],
                                                     pending_reset=pend, synapse=kinds[n] in ("CubaLIF", "CubaLI"),
                                                     late_reset=st["late_reset"], multi=st["multi_spike"],
                                                     rule=rules.get(n), bounded=st["bounded"])
                    if st["fire_first"] and n in spiking:
                        cnt = states[n]["s"]
                else:
                    states[n], cnt = KERNELS[kernel](c, states[n], x)
                counts[n] = cnt
                if not st["fire_first"]:
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
                vals[n] = mul(sv_const if sv_const is not None else sv, counts[n])
            elif n in st["outputs"]:
                vals[n] = summed(n)
        new_prev = {p: vals[p] for p in carried}
        rec = {}
        if "spikes" in record:
            rec["spikes"] = {n: counts[n] for n in (*spiking, *thr)}
        for var, key, unit in (("v", "v", "v_unit"), ("i_syn", "i_syn", "i_unit"),
                               ("v_native", "v", None), ("i_native", "i_syn", None)):
            if var in record:
                rec[var] = {n: mul(neurons[n][unit], states[n][key]) if unit else states[n][key] for n in neurons}
        if "outputs" in record:
            rec["outputs"] = {n: vals[n] for n in st["outputs"]}
        return (states, new_prev, new_elem), rec

    _, recs = jax.lax.scan(step, (state0, prev0, elem0), xs, unroll=st["unroll"])
    def nir_layout(n, a):  # (steps, H, W, C) -> (steps, C, H, W)
        return _cl.to_chw(a, batch_axes=1) if n in hwc else a

    spikes = {n: nir_layout(n, a) for n, a in recs.get("spikes", {}).items()}
    states = {}
    for n in neurons:
        states[n] = {var: nir_layout(n, recs[var][n]) for var in ("v", "i_syn", "v_native", "i_native") if var in recs}
    outputs = recs.get("outputs", {})
    return spikes, states, outputs
