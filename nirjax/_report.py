"""What :func:`nirjax.deviation` returns: per-node numbers, the attribution, the traces a
reader needs to see the difference, and the report values that print as a table, export
to JSON and plot (one platform: :class:`DeviationReport`; several: :class:`DeviationReports`)."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np


@dataclasses.dataclass
class NeuronTraces:
    """Ideal vs platform over time for the ``k`` most divergent neurons of one node:
    what :meth:`DeviationReport.plot` draws. Neurons are ranked by their own van Rossum
    distance (the node's kernel), then by their largest membrane error, then by their
    number of ideal spikes (so that with identical rasters a firing neuron is shown)."""

    t0: float
    dt: float
    neurons: list
    """Index tuple of each chosen neuron in the node's shape, most divergent first."""
    distance: list
    """van Rossum distance of each chosen neuron."""
    ideal_spike_times: list
    """Per chosen neuron: the ideal model's exact spike times (s)."""
    platform_spike_times: list
    """Per chosen neuron: the platform's spikes at the start of their step, ``t0 + k dt``
    (a step with ``n`` spikes repeats its time ``n`` times)."""
    ideal_v: np.ndarray
    """(steps, k): the ideal membrane potential at the step ends (NIR units)."""
    platform_v: np.ndarray
    """(steps, k): the platform's membrane potential after each step (NIR units)."""
    v_threshold: list
    """Per chosen neuron: its threshold (NIR units)."""

    @classmethod
    def select(cls, *, distance_sq, ideal_times, ideal_v, raster_p, v_p, v_threshold, shape, dt, t0, k=3):
        """Pick the ``k`` most divergent neurons of a node. Arrays are per node, the neuron
        axes flattened or not: ``distance_sq`` (n,) squared van Rossum distance per neuron,
        ``ideal_times`` (n, K) (+inf = unused slot), ``ideal_v``/``v_p``/``raster_p``
        (steps, n), ``v_threshold`` broadcastable to ``shape``."""
        steps = int(np.shape(raster_p)[0])
        n = int(np.prod(shape, dtype=int))
        d2 = np.asarray(distance_sq, dtype=float).reshape(n)
        times = np.asarray(ideal_times, dtype=float).reshape(n, -1)
        vi = np.asarray(ideal_v, dtype=float).reshape(steps, n)
        vp = np.asarray(v_p, dtype=float).reshape(steps, n)
        rp = np.asarray(raster_p).reshape(steps, n)
        theta = np.broadcast_to(np.asarray(v_threshold, dtype=float), tuple(shape)).reshape(n)
        verr = np.max(np.abs(vi - vp), axis=0) if steps else np.zeros(n)
        nspk = np.sum(np.isfinite(times), axis=1)
        order = np.lexsort((np.arange(n), -nspk, -verr, -d2))[: max(0, min(int(k), n))]
        starts = t0 + dt * np.arange(steps)
        return cls(
            t0=float(t0), dt=float(dt),
            neurons=[tuple(int(i) for i in np.unravel_index(j, tuple(shape))) for j in order],
            distance=[float(math.sqrt(max(d2[j], 0.0))) for j in order],
            ideal_spike_times=[times[j][np.isfinite(times[j])].tolist() for j in order],
            platform_spike_times=[np.repeat(starts, np.round(rp[:, j]).astype(int)).tolist() for j in order],
            ideal_v=vi[:, order], platform_v=vp[:, order],
            v_threshold=[float(theta[j]) for j in order],
        )


@dataclasses.dataclass
class NodeDeviation:
    """Deviation of one spiking node (all its neurons together)."""

    count_ideal: int
    count_platform: int
    mean_abs_shift: float | None
    """Mean |t_platform - t_ideal| over the k-th spikes of each neuron (seconds); the
    platform's spike time is the start of its step (``t0 + k dt``)."""
    max_abs_shift: float | None
    first_divergence: float | None
    """Start time of the first step whose spike counts differ (None: identical rasters)."""
    v_rmse: float
    v_max_error: float
    """Membrane error in NIR units (ideal state at the step ends vs the platform's after-step state)."""
    van_rossum: float
    """van Rossum distance (kernel ``exp(-t/tau_vr)``, norm ``sqrt(int (f_i - f_p)^2 dt / tau_vr)``),
    summed in quadrature over the node's neurons."""
    traces: NeuronTraces | None = None
    """The most divergent neurons over time (``deviation(..., trace_neurons=k)``; None: not kept)."""


@dataclasses.dataclass
class Attribution:
    axis: str
    platform_value: object
    ideal_value: object
    distance: float | None
    """Total van Rossum distance with only this axis switched to its ideal value."""
    explained: float | None
    """``total - distance``: the part of the deviation this axis explains (None: not separable)."""
    note: str = ""


@dataclasses.dataclass
class DeviationReport:
    """What :func:`deviation` returns for one platform. ``print(report)`` shows a table,
    ``report.to_json(path)`` writes every number (and the traces), ``report.plot(path)``
    draws rasters and membrane traces (ideal vs platform) of the most divergent neurons
    and the attribution bars."""

    platform: str
    version: str
    dt: float
    spike_area: float
    n_steps: int
    nodes: dict
    total: float
    attribution: list
    floor: float | None
    """Distance left with every separable axis at its ideal value (time stepping itself)."""
    interaction: float | None
    """``total - floor - sum(explained)``: what single-axis switches do not account for."""
    quirks: dict
    axes: dict
    t0: float = 0.0

    def explained_sum(self):
        return sum(a.explained for a in self.attribution if a.explained is not None)

    def main_cause(self):
        """The attributed axis that explains the most (None when nothing is attributed)."""
        at = [a for a in self.attribution if a.explained is not None]
        return max(at, key=lambda a: a.explained) if at else None

    def to_dict(self):
        """Every field as JSON-ready values (arrays as lists, sets sorted, non-finite
        floats as the strings ``"inf"``/``"-inf"``/``"nan"``)."""
        return _jsonable(self)

    def to_json(self, path=None, **kw):
        """The report as a JSON string; with ``path``, also written to that file."""
        return _dump(self.to_dict(), path, kw)

    def __str__(self):
        lines = [f"deviation: {self.platform} ({self.version}) vs ideal model, dt = {self.dt:g} s, "
                 f"spike area q = {self.spike_area:g}, {self.n_steps} steps"]
        hdr = f"  {'node':14s} {'spikes ideal':>12s} {'platform':>9s} {'mean|shift|':>12s} {'first div.':>11s} " \
              f"{'v rmse':>10s} {'v max err':>10s} {'van Rossum':>10s}"
        lines.append(hdr)
        for n, d in self.nodes.items():
            sh = "-" if d.mean_abs_shift is None else f"{d.mean_abs_shift:.3g}s"
            fd = "none" if d.first_divergence is None else f"{d.first_divergence:.4g}s"
            lines.append(f"  {n:14s} {d.count_ideal:12d} {d.count_platform:9d} {sh:>12s} {fd:>11s} "
                         f"{d.v_rmse:10.3g} {d.v_max_error:10.3g} {d.van_rossum:10.4g}")
        lines.append(f"  total van Rossum distance: {self.total:.6g}")
        if self.attribution:
            lines.append("  attribution (each axis switched to ideal alone):")
            lines.append(f"    {'axis':16s} {'platform':>24s} {'ideal':>14s} {'distance':>10s} {'explained':>10s}")
            for a in self.attribution:
                dist = "-" if a.distance is None else f"{a.distance:.4g}"
                ex = "n/a" if a.explained is None else f"{a.explained:.4g}"
                lines.append(f"    {a.axis:16s} {_short(a.platform_value):>24s} {_short(a.ideal_value):>14s} "
                             f"{dist:>10s} {ex:>10s}" + (f"  ({a.note})" if a.note else ""))
            if self.floor is not None:
                lines.append(f"    {'all axes ideal (time stepping alone)':50s} {self.floor:10.4g}")
                lines.append(f"    {'interaction (total - floor - explained)':50s} {self.interaction:10.4g}")
        on = [q for q, v in self.quirks.items() if v]
        if on:
            lines.append("  version quirks modelled: " + "; ".join(on))
        return "\n".join(lines)

    def plot(self, path, *, nodes=4, show=False):
        """Save the deviation figure to ``path`` (any format matplotlib writes; needs
        matplotlib: ``pip install 'nirjax[plot]'``): for each of the ``nodes`` most divergent
        spiking nodes, the spike rasters (ideal exact times vs the platform's steps) and
        membrane traces (ideal vs platform, threshold dashed) of its most divergent
        neurons, then the spike counts per node and the attribution bars. Returns ``path``."""
        plt = _pyplot()
        ranked = sorted(self.nodes, key=lambda n: -self.nodes[n].van_rossum)
        shown = [n for n in ranked if self.nodes[n].traces is not None and self.nodes[n].traces.neurons][:nodes]
        heights = [max(1.6, 0.9 * len(self.nodes[n].traces.neurons)) for n in shown] + [2.8]
        fig = plt.figure(figsize=(12, sum(heights) + 0.6), layout="constrained")
        fig.suptitle(f"{self.platform} ({self.version}) vs the ideal model: total van Rossum distance "
                     f"{self.total:.4g}, dt = {self.dt:g} s, {self.n_steps} steps")
        subs = np.atleast_1d(fig.subfigures(len(heights), 1, height_ratios=heights))
        for sf, n in zip(subs, shown):
            _draw_node(sf, n, self.nodes[n], self.n_steps, self.platform)
        a0, a1 = subs[-1].subplots(1, 2, width_ratios=[1, 1.4])
        names = list(self.nodes)
        xs = np.arange(len(names))
        a0.bar(xs - 0.2, [self.nodes[n].count_ideal for n in names], 0.4, label="ideal", color="0.3")
        a0.bar(xs + 0.2, [self.nodes[n].count_platform for n in names], 0.4, label=self.platform, color="C1")
        a0.set_xticks(xs, names, rotation=30, ha="right", fontsize=8)
        a0.set_ylabel("spikes")
        a0.set_title("spike counts per node", fontsize=9)
        a0.legend(fontsize=8)
        _draw_attribution(a1, self)
        fig.savefig(path, dpi=110)
        if show:  # pragma: no cover
            plt.show()
        plt.close(fig)
        return path


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - optional extra
        raise ImportError("report.plot needs matplotlib: pip install 'nirjax[plot]'") from None
    return plt


def _draw_node(sf, name, nd, n_steps, platform, *, neurons=None):
    """One node: its raster panel (left) and one membrane panel per chosen neuron (right)."""
    tr = nd.traces
    k = len(tr.neurons) if neurons is None else min(neurons, len(tr.neurons))
    ms = 1e3
    t_end = (tr.t0 + n_steps * tr.dt) * ms
    ts = (tr.t0 + tr.dt * np.arange(1, n_steps + 1)) * ms
    gs = sf.add_gridspec(k, 2, width_ratios=[1, 1.6])
    ar = sf.add_subplot(gs[:, 0])
    for j in range(k):
        ar.plot(np.asarray(tr.ideal_spike_times[j]) * ms, np.full(len(tr.ideal_spike_times[j]), j + 0.18),
                "|", color="0.2", ms=9, label="ideal (exact times)" if j == 0 else None)
        ar.plot(np.asarray(tr.platform_spike_times[j]) * ms, np.full(len(tr.platform_spike_times[j]), j - 0.18),
                "|", color="C1", ms=9, label=f"{platform} (step start)" if j == 0 else None)
    ar.set_yticks(range(k), [f"{_idx(i)}\nvR {d:.3g}" for i, d in zip(tr.neurons[:k], tr.distance[:k])], fontsize=7)
    ar.set_ylim(k - 0.5, -0.5)
    ar.set_xlim(tr.t0 * ms, t_end)
    ar.set_xlabel("time (ms)", fontsize=8)
    sf.suptitle(f"node {name!r}: {nd.count_ideal} -> {nd.count_platform} spikes, van Rossum {nd.van_rossum:.3g}",
                fontsize=9, x=0.01, ha="left")
    ar.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    for j in range(k):
        av = sf.add_subplot(gs[j, 1])
        av.plot(ts, tr.ideal_v[:, j], color="0.2", lw=0.9, label="ideal")
        av.plot(ts, tr.platform_v[:, j], color="C1", lw=0.9, label=platform)
        av.axhline(tr.v_threshold[j], color="C3", lw=0.6, ls="--", label="threshold")
        av.set_xlim(tr.t0 * ms, t_end)
        av.tick_params(labelsize=7)
        av.set_ylabel(f"v {_idx(tr.neurons[j])}", fontsize=7)
        if j == 0:
            av.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False)
        if j < k - 1:
            av.tick_params(labelbottom=False)
        else:
            av.set_xlabel("time (ms); membrane potential in NIR units", fontsize=8)


def _finite(v):
    return v is not None and math.isfinite(v)


def _draw_attribution(ax, rep):
    at = [a for a in rep.attribution if _finite(a.explained)]
    labels = [a.axis for a in at]
    vals = [a.explained for a in at]
    if _finite(rep.floor) and _finite(rep.interaction):
        labels.append("time stepping (floor)")
        vals.append(rep.floor)
        labels.append("interaction")
        vals.append(rep.interaction)
    if labels:
        ax.barh(labels, vals, color=["C0"] * len(at) + ["0.6", "0.8"][: len(labels) - len(at)])
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
    else:
        ax.text(0.5, 0.5, "no attribution (deviation(..., attribution=False)\nor every axis at its ideal value)",
                ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel(f"van Rossum distance explained (total {rep.total:.3g})", fontsize=8)
    ax.set_title("attribution: each axis switched to ideal alone", fontsize=9)


def _idx(i):
    return "[" + ",".join(str(v) for v in i) + "]"


def _jsonable(v):
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (frozenset, set)):
        return sorted(_jsonable(x) for x in v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray) or hasattr(v, "__array__") and not isinstance(v, (str, bytes)):
        return _jsonable(np.asarray(v).tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    return v


def _dump(obj, path, kw):
    s = json.dumps(obj, allow_nan=False, **kw) if kw else _compact(obj, 0)
    if path is not None:
        with open(os.fspath(path), "w") as f:
            f.write(s)
    return s


def _compact(v, depth):
    """JSON, indented by one space per level, with lists of numbers on one line (traces
    stay readable and small)."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_compact(x, depth + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list) and v and not all(isinstance(x, (int, float, str, bool)) or x is None for x in v):
        return "[\n" + ",\n".join(inner + _compact(x, depth + 1) for x in v) + "\n" + pad + "]"
    return json.dumps(v, allow_nan=False)


def _short(v):
    if isinstance(v, frozenset):
        return "{" + ",".join(sorted(v)) + "}" if v else "{}"
    return str(v)


class DeviationReports(dict):
    """``deviation(graph, [platforms] | "all", ...)``: platform name -> :class:`DeviationReport`;
    ``skipped``: platform name -> why it cannot run the graph. ``print(reports)`` shows one
    row per platform, ``to_json(path)`` writes every report, ``plot(path)`` draws them side by side."""

    def __init__(self):
        super().__init__()
        self.skipped = {}

    def __str__(self):
        lines = [f"{'platform':12s} {'total van Rossum':>16s} {'floor':>8s} {'main cause':>22s}  "
                 "spikes ideal -> platform (per node)"]
        for n, r in self.items():
            sp = ", ".join(f"{k}: {d.count_ideal}->{d.count_platform}" for k, d in r.nodes.items())
            fl = "-" if r.floor is None else f"{r.floor:.4g}"
            m = r.main_cause()
            cause = "-" if m is None or m.explained <= 0 else f"{m.axis} ({m.explained:.3g})"
            lines.append(f"{n:12s} {r.total:16.4g} {fl:>8s} {cause:>22s}  {sp}")
        for n, why in self.skipped.items():
            lines.append(f"{n:12s} cannot run: {why}")
        return "\n".join(lines)

    def to_dict(self):
        return {"reports": {n: r.to_dict() for n, r in self.items()}, "skipped": dict(self.skipped)}

    def to_json(self, path=None, **kw):
        """Every report (and why each skipped platform cannot run the graph) as a JSON
        string; with ``path``, also written to that file."""
        return _dump(self.to_dict(), path, kw)

    def plot(self, path, *, show=False):
        """Save one figure comparing the platforms (needs matplotlib): the total distance
        per platform (with the time-stepping floor), the attribution of each (axis x
        platform, explained distance), then one row per platform with the rasters and
        membrane trace (ideal vs platform) of its most divergent neuron. Returns ``path``."""
        plt = _pyplot()
        names = list(self)
        rows = [n for n in names if _worst(self[n]) is not None]
        heights = [3.2] + [1.5] * len(rows)
        fig = plt.figure(figsize=(12, sum(heights) + 0.8), layout="constrained")
        skipped = f"; cannot run: {', '.join(self.skipped)}" if self.skipped else ""
        fig.suptitle(f"deviation from the ideal model on {len(names)} platform models{skipped}", fontsize=10)
        subs = np.atleast_1d(fig.subfigures(len(heights), 1, height_ratios=heights))
        a0, a1 = subs[0].subplots(1, 2, width_ratios=[1, 1.5])
        ys = np.arange(len(names))
        a0.barh(ys, [self[n].total if _finite(self[n].total) else 0.0 for n in names], color="C1", label="total")
        fl = [(y, self[n].floor) for y, n in zip(ys, names) if _finite(self[n].floor)]
        if fl:
            a0.plot([v for _, v in fl], [y for y, _ in fl], "k|", ms=12, mew=2, label="floor (time stepping)")
        a0.set_yticks(ys, names, fontsize=8)
        a0.invert_yaxis()
        a0.set_xlabel("van Rossum distance", fontsize=8)
        a0.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
        axes = []
        for n in names:
            for a in self[n].attribution:
                if _finite(a.explained) and a.axis not in axes:
                    axes.append(a.axis)
        if axes and names:
            m = np.full((len(names), len(axes)), np.nan)
            for i, n in enumerate(names):
                for a in self[n].attribution:
                    if _finite(a.explained):
                        m[i, axes.index(a.axis)] = a.explained
            lim = max(float(np.nanmax(np.abs(m))), 1e-12)
            im = a1.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
            a1.set_xticks(range(len(axes)), axes, rotation=40, ha="right", fontsize=7)
            a1.set_yticks(range(len(names)), names, fontsize=8)
            for (i, j), v in np.ndenumerate(m):
                if np.isfinite(v):
                    a1.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=6)
            subs[0].colorbar(im, ax=a1, shrink=0.8).set_label("explained", fontsize=8)
        else:
            a1.text(0.5, 0.5, "no attribution", ha="center", va="center", transform=a1.transAxes)
        a1.set_title("attribution (distance explained by switching one axis to ideal; blank: same as ideal)",
                     fontsize=9)
        for sf, n in zip(subs[1:], rows):
            node = _worst(self[n])
            _draw_node(sf, node, self[n].nodes[node], self[n].n_steps, n, neurons=1)
        fig.savefig(path, dpi=100)
        if show:  # pragma: no cover
            plt.show()
        plt.close(fig)
        return path


def _worst(rep):
    """The node with the largest distance that has traces (None: no traces kept)."""
    cands = [n for n, d in rep.nodes.items() if d.traces is not None and d.traces.neurons]
    return max(cands, key=lambda n: rep.nodes[n].van_rossum) if cands else None
