"""``nirjax.deviation``: how far a platform's execution is from the ideal model, and why."""

from __future__ import annotations

import inspect
import math

import jax
import numpy as np

from .semantics import platforms as _platforms
from .semantics.platforms import ideal_axes

from ._errors import UnsupportedError
from ._inputs import Spikes
from ._platform_api import _load, get_platform
from ._report import Attribution, DeviationReport, DeviationReports, NeuronTraces, NodeDeviation
from ._simulate import simulate
from .solvers.stepped import run

_OWN = ("graph", "inputs", "dt", "t1", "t0", "spike_area", "reset", "platform", "initial_state", "platform_options")
IDEAL_OPTIONS = tuple(k for k in inspect.signature(simulate).parameters
                      if k not in _OWN and inspect.signature(simulate).parameters[k].kind == inspect.Parameter.KEYWORD_ONLY)
"""The options of the ideal run that ``deviation`` forwards to ``simulate`` (every keyword of
``simulate`` except those ``deviation`` sets itself)."""


def deviation(graph, platform, inputs, *, dt, spike_area=1.0, reset=None, t0=0.0, input_as="dense",
              attribution=True, tau_vr=None, initial_state=None, trace_neurons=3, progress=None, **options):
    """Compare ``platform``'s model of ``graph`` with the ideal model on ``inputs``.

    **Arguments:**

    - ``graph``: path, ``nir.NIRGraph`` or loaded graph.
    - ``platform``: a registered name (``nirjax.platforms()``), a Platform value
      (``nirjax.get_platform(name, preset=..., **options)``), a list of them, or ``"all"``.
    - ``inputs``: dense ``(steps, *shape)`` arrays (one per input, or one array).
    - ``dt``, ``spike_area``, ``reset``: as in :func:`nirjax.simulate`, for the ideal model
      (``reset`` is not forced on the platform: its own reset is part of what is measured; to set a
      platform's ``reset`` axis, pass ``nirjax.get_platform(name, reset=...)``).
    - ``input_as``: ``"dense"`` (the ideal model reads the samples as a zero-order-hold
      signal) or ``"spikes"`` (a raster of event counts: the ideal model receives Dirac
      impulses of area ``spike_area`` at the step starts).
    - ``attribution``: also switch each axis and quirk of the platform to its ideal value, one
      at a time, and report the distance each explains.
    - ``tau_vr``: van Rossum kernel time constant (default ``10 dt``).
    - ``initial_state``: the state BOTH runs start from (``"rest"``, ``"zero"`` or a state
      pytree). Default: the platform's own convention (its ``initial_state`` axis), so that the
      ideal run starts where the platform starts and like is compared with like.
    - ``trace_neurons``: keep, per spiking node, the rasters and membrane traces (ideal vs
      platform) of this many most divergent neurons for ``report.plot`` (0: none).
    - ``progress``: a callable taking one line of text, called before each run.
    - ``**options``: options of the ideal run, exactly as :func:`nirjax.simulate` takes them
      (``method``, ``max_spikes``, ``max_events``, ``max_cascade``, ``max_delayed``, ``rtol``,
      ``atol``, ``max_rk_steps``, ``autodiff``, ``throw``; ``IDEAL_OPTIONS``), and options of ONE
      platform (``get_platform(platform, **options)``). For several platforms, give Platform
      values instead; platform options with a list raise a TypeError.

    Returns a :class:`DeviationReport`, or for a list / ``"all"`` a :class:`DeviationReports`
    (platform -> report, ``skipped``: platform -> why it cannot run the graph).
    """
    net = _load(graph)
    many = (isinstance(platform, str) and platform == "all") or isinstance(platform, (list, tuple))
    ideal_opts = {k: v for k, v in options.items() if k in IDEAL_OPTIONS}
    plat_opts = {k: v for k, v in options.items() if k not in IDEAL_OPTIONS}
    if many and plat_opts:
        raise TypeError(
            f"deviation(..., platform={platform if isinstance(platform, str) else 'a list'!r}) got platform options "
            f"{sorted(plat_opts)}: with several platforms give Platform values (nirjax.get_platform(name, **options))."
        )
    if input_as not in ("dense", "spikes"):
        raise ValueError(f"input_as must be 'dense' or 'spikes', got {input_as!r}.")
    if not isinstance(inputs, dict):
        if len(net.inputs) != 1:
            raise ValueError(f"The graph has inputs {list(net.inputs)}: pass a dict.")
        inputs = {net.inputs[0]: inputs}
    inputs = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    n_steps = next(iter(inputs.values())).shape[0]
    tau_vr = 10 * dt if tau_vr is None else tau_vr
    entries = list(_platforms.names()) if platform == "all" else list(platform) if many else [platform]
    plats = []
    for e in entries:
        try:
            plats.append((e, get_platform(e, **plat_opts)))
        except UnsupportedError as err:  # pragma: no cover - construction refusals are ValueErrors
            plats.append((e, err))
    say = progress if progress is not None else (lambda line: None)
    ctx = dict(net=net, inputs=inputs, input_as=input_as, dt=dt, t0=t0, n_steps=n_steps, spike_area=spike_area,
               tau_vr=tau_vr, reset=reset, attribution=attribution, trace_neurons=trace_neurons,
               ideal_opts=ideal_opts, initial_state=initial_state, ideal_runs={}, say=say)
    if not many:
        p = plats[0][1]
        say(f"platform {p.name}")
        return _one(p, ctx)
    out = DeviationReports()
    keys = _keys([p for _, p in plats])
    for i, ((_, p), key) in enumerate(zip(plats, keys)):
        say(f"[{i + 1}/{len(plats)}] platform {key}")
        try:
            out[key] = _one(p, ctx)
        except UnsupportedError as e:
            out.skipped[key] = str(e)
    return out


def _keys(plats):
    """Report keys: the platform's name, with its version where a name repeats."""
    names = [p.name for p in plats]
    out = []
    for p in plats:
        k = p.name if names.count(p.name) == 1 else f"{p.name} ({p.version})"
        while k in out:
            k += "'"
        out.append(k)
    return out


def _ideal(ctx, init):
    """The ideal run from ``init`` (cached per initial state): (Solution, filtered trains)."""
    key = init if isinstance(init, str) else id(init)
    if key in ctx["ideal_runs"]:
        return ctx["ideal_runs"][key]
    net, dt, t0, n_steps = ctx["net"], ctx["dt"], ctx["t0"], ctx["n_steps"]
    if ctx["input_as"] == "spikes":
        ideal_in = {k: Spikes.from_raster(v, dt, t0) for k, v in ctx["inputs"].items()}
    else:
        ideal_in = ctx["inputs"]
    extra = {}
    if not (init == "rest" or (init == "zero" and _rest_is_zero(net))):
        extra["initial_state"] = init
    ctx["say"](f"ideal model: {n_steps} steps" + ("" if init == "rest" else f" from initial_state={init!r}"))
    ideal = simulate(net, ideal_in, dt=dt, t0=t0, t1=t0 + n_steps * dt, spike_area=ctx["spike_area"],
                     reset=ctx["reset"], **extra, **ctx["ideal_opts"])
    trains = {n: _ideal_filtered(ideal, n, dt, t0, n_steps, ctx["tau_vr"]) for n in net.spiking}
    ctx["ideal_runs"][key] = (ideal, trains)
    return ideal, trains


def _rest_is_zero(net):
    """Whether "rest" and "zero" are the same state for this graph (every v_leak concretely 0)."""
    for n in net.neurons:
        vl = getattr(net.nodes[n], "v_leak", None)
        if vl is None:
            continue
        if isinstance(vl, jax.core.Tracer) or np.any(np.asarray(vl) != 0):
            return False
    return True


def _one(p, ctx):
    net, inputs, input_as, dt = ctx["net"], ctx["inputs"], ctx["input_as"], ctx["dt"]
    t0, n_steps, spike_area, tau_vr = ctx["t0"], ctx["n_steps"], ctx["spike_area"], ctx["tau_vr"]
    reset, attribution = ctx["reset"], ctx["attribution"]
    init = ctx["initial_state"] if ctx["initial_state"] is not None else p.initial_state
    prog_init = ctx["initial_state"]  # None: the platform's own convention (== init)

    def simulate_platform(plat):
        x = inputs
        if input_as == "spikes":  # input events are spikes of the platform: they carry its spike value
            f = {"unit": 1.0, "area": spike_area / dt, "per_dt": 1.0 / dt}[plat.spike_value]
            x = {k: v * f for k, v in inputs.items()}
        prog = _platforms.program(net, plat, dt=dt, spike_area=spike_area,
                                  initial_state=prog_init if prog_init is not None else init, jit=False)
        # one-off runs: built op by op, unfolded (the attribution variants differ in coefficient values
        # and share one compilation), not unrolled (compiles faster; results do not depend on it)
        sol = run(prog, x, t0=t0, record=("spikes", "v"), fold=False, unroll=1)
        return sol.spikes, sol.states

    spikes, states = simulate_platform(p)  # refusals raise before the ideal run
    ideal, ideal_trains = _ideal(ctx, init)
    nodes, total_sq = {}, 0.0
    for n in net.spiking:
        nd = _node_deviation(ideal, spikes[n], states[n]["v"], n, dt, t0, n_steps, tau_vr, ideal_trains[n])
        if ctx["trace_neurons"]:  # what report.plot draws (nirjax/_report.py)
            nd.traces = NeuronTraces.select(
                distance_sq=_vr_sq_each(ideal_trains[n], np.asarray(spikes[n]), dt, tau_vr),
                ideal_times=ideal.spike_times[n], ideal_v=ideal.states[n]["v"], raster_p=spikes[n],
                v_p=states[n]["v"], v_threshold=net.nodes[n].v_threshold, shape=net.shape_of(n), dt=dt, t0=t0,
                k=ctx["trace_neurons"])
        nodes[n] = nd
        total_sq += nd.van_rossum**2
    total = math.sqrt(total_sq)

    def distance(sp):
        s = 0.0
        for n in net.spiking:
            s += _vr_sq(ideal_trains[n], np.asarray(sp[n]), dt, tau_vr)
        return math.sqrt(s)

    attrib, floor, inter = [], None, None
    ideal_ax = ideal_axes(reset="subtract" if reset == "subtract" else "v_reset")
    ideal_ax["initial_state"] = p.initial_state  # both runs start from the same state: never a deviation
    if attribution:
        for ax in _platforms.AXES:
            pv, iv = getattr(p, ax), ideal_ax[ax]
            if pv == iv:
                continue
            change = {ax: iv}
            if ax == "input_scale":
                # an exact gain reads a spike as its charge q over the true dt
                change.update(spike_value="area", dt_convention="argument")
            if ax == "spike_value" and pv == "unit":
                attrib.append(Attribution(ax, pv, iv, None, None, "coupled with input_scale (switched together there)"))
                continue
            attrib.append(_attribute(ax, pv, iv, lambda: distance(simulate_platform(p.replace(**change))[0]), total))
        for field, off in p.quirk_switches().items():
            on = getattr(p, field)
            if on == off:
                continue
            attrib.append(_attribute(f"quirk:{field}", on, off,
                                     lambda: distance(simulate_platform(p.replace(**{field: off}))[0]), total))
        try:
            # the floor: the generic exact-propagator stepping (every axis ideal), same graph and inputs
            floor = distance(simulate_platform(get_platform("zoh", reset=ideal_ax["reset"]))[0])
            inter = total - floor - sum(a.explained for a in attrib if a.explained is not None)
        except (UnsupportedError, ValueError):
            floor, inter = None, None
    return DeviationReport(
        platform=p.name, version=p.version, dt=dt, spike_area=spike_area, n_steps=n_steps, nodes=nodes,
        total=total, attribution=attrib, floor=floor, interaction=inter, quirks=p.quirks(),
        axes={ax: getattr(p, ax) for ax in _platforms.AXES}, t0=t0,
    )


def _attribute(axis, pv, iv, dist, total):
    try:
        d = dist()
        return Attribution(axis, pv, iv, d, total - d)
    except (UnsupportedError, ValueError) as e:
        return Attribution(axis, pv, iv, None, None, f"not separable: {str(e)[:90]}")


def _ideal_filtered(ideal, n, dt, t0, n_steps, tau_vr):
    """The ideal spike train of node ``n`` filtered by the van Rossum kernel, sampled
    at the step ends: (steps, neurons)."""
    times = np.asarray(ideal.spike_times[n]).reshape(-1, np.asarray(ideal.spike_times[n]).shape[-1])
    out = np.zeros((n_steps, times.shape[0]))
    ends = t0 + dt * np.arange(1, n_steps + 1)
    for j in range(times.shape[0]):
        t = times[j][np.isfinite(times[j])]
        if t.size == 0:
            continue
        k = np.clip(np.floor((t - t0) / dt).astype(int), 0, n_steps - 1)
        np.add.at(out[:, j], k, np.exp(-(ends[k] - t) / tau_vr))
    return _recursive(out, math.exp(-dt / tau_vr))


def _recursive(impulses, decay):
    f = np.zeros_like(impulses)
    acc = np.zeros(impulses.shape[1:])
    for k in range(impulses.shape[0]):
        acc = acc * decay + impulses[k]
        f[k] = acc
    return f


def _vr_sq(ideal_f, platform_raster, dt, tau_vr):
    """A platform spike of step k is placed at the step's start (the earliest time the
    step stands for); both trains are sampled at the step ends."""
    return float(np.sum(_vr_sq_each(ideal_f, platform_raster, dt, tau_vr)))


def _vr_sq_each(ideal_f, platform_raster, dt, tau_vr):
    """:func:`_vr_sq` per neuron: (neurons,)."""
    pr = platform_raster.reshape(platform_raster.shape[0], -1) * math.exp(-dt / tau_vr)
    fp = _recursive(pr, math.exp(-dt / tau_vr))
    return np.sum((ideal_f - fp) ** 2, axis=0) * dt / tau_vr


def _node_deviation(ideal, raster_p, v_p, n, dt, t0, n_steps, tau_vr, ideal_f):
    ri = np.asarray(ideal.spikes[n]).reshape(n_steps, -1)
    rp = np.asarray(raster_p).reshape(n_steps, -1)
    diff = np.nonzero(np.any(ri != rp, axis=1))[0]
    first = None if diff.size == 0 else float(t0 + diff[0] * dt)
    times = np.asarray(ideal.spike_times[n]).reshape(ri.shape[1], -1)
    shifts = []
    starts = t0 + dt * np.arange(n_steps)
    for j in range(ri.shape[1]):
        ti = times[j][np.isfinite(times[j])]
        tp = np.repeat(starts, rp[:, j].astype(int))
        m = min(ti.size, tp.size)
        if m:
            shifts.append(np.abs(tp[:m] - ti[:m]))
    sh = np.concatenate(shifts) if shifts else np.zeros(0)
    vi = np.asarray(ideal.states[n]["v"]).reshape(n_steps, -1)
    vp = np.asarray(v_p).reshape(n_steps, -1)
    err = vi - vp
    return NodeDeviation(
        count_ideal=int(ri.sum()), count_platform=int(rp.sum()),
        mean_abs_shift=float(sh.mean()) if sh.size else None,
        max_abs_shift=float(sh.max()) if sh.size else None,
        first_divergence=first,
        v_rmse=float(np.sqrt(np.mean(err**2))), v_max_error=float(np.max(np.abs(err))),
        van_rossum=math.sqrt(_vr_sq(ideal_f, rp, dt, tau_vr)),
    )


__all__ = ["deviation", "IDEAL_OPTIONS"]
