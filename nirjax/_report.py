"""What :func:`nirjax.deviation` returns: per-node numbers, the attribution, and the
report values that print as a table, export to JSON and plot."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np


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
    """What :func:`deviation` returns. ``print(report)`` shows a table."""

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

    def explained_sum(self):
        return sum(a.explained for a in self.attribution if a.explained is not None)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["axes"] = {k: _jsonable(v) for k, v in self.axes.items()}
        for a in d["attribution"]:
            a["platform_value"] = _jsonable(a["platform_value"])
            a["ideal_value"] = _jsonable(a["ideal_value"])
        return d

    def to_json(self, path=None, **kw):
        s = json.dumps(self.to_dict(), indent=1, **kw)
        if path is not None:
            with open(path, "w") as f:
                f.write(s)
        return s

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

    def plot(self, path, *, show=False):
        """Save a bar chart of the attribution and per-node spike counts (needs matplotlib)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover - optional extra
            raise ImportError("report.plot needs matplotlib: pip install 'nirjax[plot]'") from None
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4))
        names = list(self.nodes)
        xs = np.arange(len(names))
        a0.bar(xs - 0.2, [self.nodes[n].count_ideal for n in names], 0.4, label="ideal")
        a0.bar(xs + 0.2, [self.nodes[n].count_platform for n in names], 0.4, label=self.platform)
        a0.set_xticks(xs, names, rotation=30)
        a0.set_ylabel("spikes")
        a0.legend()
        at = [a for a in self.attribution if a.explained is not None]
        a1.barh([a.axis for a in at], [a.explained for a in at])
        a1.axvline(0, color="k", lw=0.5)
        a1.set_xlabel(f"explained van Rossum distance (total {self.total:.3g})")
        a1.set_title(f"{self.platform}: attribution")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        if show:  # pragma: no cover
            plt.show()
        plt.close(fig)
        return path


def _jsonable(v):
    if isinstance(v, frozenset):
        return sorted(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _short(v):
    if isinstance(v, frozenset):
        return "{" + ",".join(sorted(v)) + "}" if v else "{}"
    return str(v)


class Reports(dict):
    """``deviation(graph, [platforms] | "all", ...)``: platform name -> :class:`DeviationReport`;
    ``skipped``: platform name -> why it cannot run the graph."""

    def __init__(self):
        super().__init__()
        self.skipped = {}

    def __str__(self):
        lines = [f"{'platform':12s} {'total van Rossum':>16s} {'floor':>8s} {'spikes ideal -> platform (per node)'}"]
        for n, r in self.items():
            sp = ", ".join(f"{k}: {d.count_ideal}->{d.count_platform}" for k, d in r.nodes.items())
            fl = "-" if r.floor is None else f"{r.floor:.4g}"
            lines.append(f"{n:12s} {r.total:16.4g} {fl:>8s} {sp}")
        for n, why in self.skipped.items():
            lines.append(f"{n:12s} cannot run: {why}")
        return "\n".join(lines)

    def to_json(self, **kw):
        return json.dumps({"reports": {n: r.to_dict() for n, r in self.items()}, "skipped": self.skipped},
                          indent=1, **kw)


