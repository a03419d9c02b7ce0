"""``nirjax.deviation``: how far a platform's execution is from the ideal model, and why."""

from __future__ import annotations

import math

import numpy as np

from .semantics import platforms as _platforms
from .semantics.network import Network

from ._errors import UnsupportedError
from ._inputs import Spikes
from ._lowering import load
from ._platform_api import get_platform
from ._report import Attribution, DeviationReport, NeuronTraces, NodeDeviation, DeviationReports
from ._simulate import simulate


def deviation(graph, platform, inputs, *, dt, spike_area=1.0, reset=None, t0=0.0, input_as="dense",
              attribution=True, tau_vr=None, platform_options=None, trace_neurons=3,
              progress=None):
    """Compare ``platform``'s model of ``graph`` with the ideal model on ``inputs``.

    **Arguments:**

    - ``graph``: path, ``nir.NIRGraph`` or loaded graph; ``platform``: a registered name
      (``nirjax.platforms()``) or a Platform.
    - ``inputs``: dense ``(steps, *shape)`` arrays (one per input, or one array).
    - ``dt``, ``spike_area``, ``reset``: as in :func:`nirjax.simulate`, for the ideal model
      (``reset`` is not forced on the platform: its own reset is part of what is measured).
    - ``input_as``: ``"dense"`` (the ideal model reads the samples as a zero-order-hold
      signal) or ``"spikes"`` (a raster of event counts: the ideal model receives Dirac
      impulses of area ``spike_area`` at the step starts).
    - ``attribution``: also switch each axis of the platform to its ideal value, one at
      a time, and report the distance each explains.
    - ``tau_vr``: van Rossum kernel time constant (default ``10 dt``).
    - ``platform_options``: options of the platform (axis values, quirk switches).
    - ``trace_neurons``: keep, per spiking node, the rasters and membrane traces (ideal vs
      platform) of this many most divergent neurons for ``report.plot`` (0: none).
    - ``progress``: a callable taking one line of text, called before each run (the ideal
      model, then each platform), e.g. ``print`` (the CLI's progress output).

    Returns a :class:`DeviationReport`.
    """
    net = graph if isinstance(graph, Network) else load(graph)
    opts = dict(platform_options or {})
    many = platform == "all" or isinstance(platform, (list, tuple))
    names = list(_platforms.names()) if platform == "all" else list(platform) if many else [platform]
    if input_as not in ("dense", "spikes"):
        raise ValueError(f"input_as must be 'dense' or 'spikes', got {input_as!r}.")
    if not isinstance(inputs, dict):
        if len(net.inputs) != 1:
            raise ValueError(f"The graph has inputs {list(net.inputs)}: pass a dict.")
        inputs = {net.inputs[0]: inputs}
    inputs = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    n_steps = next(iter(inputs.values())).shape[0]
    tau_vr = 10 * dt if tau_vr is None else tau_vr
    if input_as == "spikes":
        ideal_in = {k: Spikes.from_raster(v, dt, t0) for k, v in inputs.items()}
    else:
        ideal_in = inputs
    say = progress if progress is not None else (lambda line: None)
    say(f"ideal model: {n_steps} steps")
    ideal = simulate(net, ideal_in, dt=dt, t0=t0, t1=t0 + n_steps * dt, spike_area=spike_area, reset=reset)
    ideal_trains = {n: _ideal_filtered(ideal, n, dt, t0, n_steps, tau_vr) for n in net.spiking}
    ctx = dict(net=net, inputs=inputs, input_as=input_as, dt=dt, t0=t0, n_steps=n_steps, spike_area=spike_area,
               tau_vr=tau_vr, ideal=ideal, ideal_trains=ideal_trains, reset=reset, attribution=attribution,
               trace_neurons=trace_neurons)
    if not many:
        say(f"platform {getattr(platform, 'name', platform)}")
        return _one(get_platform(platform, **opts), ctx)
    out = DeviationReports()
    for i, name in enumerate(names):
        say(f"[{i + 1}/{len(names)}] platform {getattr(name, 'name', name)}")
        try:
            out[name] = _one(get_platform(name, **opts.get(name, {})), ctx)
        except UnsupportedError as e:
            out.skipped[name] = str(e)
    return out


def _one(p, ctx):
    net, inputs, input_as, dt = ctx["net"], ctx["inputs"], ctx["input_as"], ctx["dt"]
    t0, n_steps, spike_area, tau_vr = ctx["t0"], ctx["n_steps"], ctx["spike_area"], ctx["tau_vr"]
    ideal, ideal_trains, reset, attribution = ctx["ideal"], ctx["ideal_trains"], ctx["reset"], ctx["attribution"]

    def run(plat):
        x = inputs
        if input_as == "spikes":  # input events are spikes of the platform: they carry its spike value
            f = {"unit": 1.0, "area": spike_area / dt, "per_dt": 1.0 / dt}[plat.spike_value]
            x = {k: v * f for k, v in inputs.items()}
        try:
            prog = plat.program(net, dt=dt, spike_area=spike_area)
        except _platforms.PlatformError as e:
            raise UnsupportedError(str(e)) from None
        from .solvers.stepped import run_program

        return run_program(prog, x, record=("spikes", "v"))

    spikes, states, _ = run(p)
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
    ideal_reset = "subtract" if reset == "subtract" else "v_reset"
    ideal_axes = p.ideal_axes(reset=ideal_reset)
    if attribution:
        for ax in _platforms.AXES:
            pv, iv = getattr(p, ax), ideal_axes[ax]
            if pv == iv:
                continue
            change = {ax: iv}
            if ax == "input_scale":
                # an exact gain reads a spike as its charge q over the true dt
                change.update(spike_value="area", dt_convention="argument")
            if ax == "spike_value" and pv == "unit":
                attrib.append(Attribution(ax, pv, iv, None, None, "coupled with input_scale (switched together there)"))
                continue
            try:
                sp, _, _ = run(p.replace(**change))
                d = distance(sp)
                attrib.append(Attribution(ax, pv, iv, d, total - d))
            except (UnsupportedError, ValueError) as e:
                attrib.append(Attribution(ax, pv, iv, None, None, f"not separable: {str(e)[:90]}"))
        for field, off in p.quirk_switches().items():
            on = getattr(p, field)
            if on == off:
                continue
            try:
                sp, _, _ = run(p.replace(**{field: off}))
                d = distance(sp)
                attrib.append(Attribution(f"quirk:{field}", on, off, d, total - d))
            except (UnsupportedError, ValueError) as e:
                attrib.append(Attribution(f"quirk:{field}", on, off, None, None, f"not separable: {str(e)[:90]}"))
        try:
            # the floor: the generic exact-propagator stepping (every axis ideal), same graph and inputs
            sp, _, _ = run(_platforms.get("zoh", reset=ideal_reset))
            floor = distance(sp)
            inter = total - floor - sum(a.explained for a in attrib if a.explained is not None)
        except (UnsupportedError, ValueError):
            floor, inter = None, None
    return DeviationReport(
        platform=p.name, version=p.version, dt=dt, spike_area=spike_area, n_steps=n_steps, nodes=nodes,
        total=total, attribution=attrib, floor=floor, interaction=inter, quirks=p.quirks(),
        axes={ax: getattr(p, ax) for ax in _platforms.AXES}, t0=t0,
    )


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
    pr = platform_raster.reshape(platform_raster.shape[0], -1) * math.exp(-dt / tau_vr)
    fp = _recursive(pr, math.exp(-dt / tau_vr))
    return float(np.sum((ideal_f - fp) ** 2) * dt / tau_vr)


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
