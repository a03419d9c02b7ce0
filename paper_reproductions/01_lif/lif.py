"""NIR paper, Fig. 'one LIF neuron on every platform': lif_norse.nir under each
platform model, configured as the paper ran it, against the recorded traces.

Uses the nirjax public API only. Run ``nirjax reproduce lif --out DIR`` or
``python paper_reproductions/01_lif/lif.py DIR``. Writes ``DIR/results.json``
(``{platform: {"spike_steps": [...], "v": [...NIR units per step...]}}``),
``DIR/table.txt`` and ``DIR/lif_comparison.png`` (with matplotlib).

Paper data: neuromorphs/NIR ``paper/`` (BSD-3-Clause, Copyright (c) 2023, NIR Team).
"""

from __future__ import annotations

import json
import pathlib
import sys

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import numpy as np  # noqa: E402

import nirjax  # noqa: E402

DT = 1e-4

# name -> (platform, options, weight factor, input factor, recorded CSV, CSV units per NIR volt, how the paper ran it)
# Every platform runs its named preset "as the NIR paper ran it" (nirjax.get_platform(name, preset="paper"), see
# each platform's docstring): no hand scaling here.
PAPER = {"preset": "paper"}
CONFIGS = {
    "exact": (None, {}, 1.0, 1.0, "lif_exact.csv", 1.0, "ideal model, reset by subtraction at the exact crossing"),
    "norse": ("norse", PAPER, 1.0, 1.0, "lif_norse.csv", 1.0, "from_nir(dt=1e-4)"),
    "snntorch": ("snntorch", PAPER, 1.0, 1.0, "lif_snntorch.csv", None, "import_from_nir (dt fixed 1e-4; threshold rescaled, mem x25)"),
    "lava": ("lava", PAPER, 1.0, 1.0, "lif_lava_cpu_float.csv", 1.0, "float model, weights x r dt/tau, one Dense (+1)"),
    "spyx": ("spyx", PAPER, 1.0, 1.0, "lif_spyx.csv", 1.0, "Spyx 0.1.x (weights x dt/tau, fire from previous v)"),
    "sinabs": ("sinabs", PAPER, 1.0, 1.0, "lif_sinabs.csv", 1.0, "tau divided by dt by hand, input x r dt/tau"),
    "rockpool": ("rockpool", PAPER, 1.0, 1.0, "lif_rockpool.csv", 1.0, "Rockpool's own LIFTorch (weights x r dt/tau, r ignored)"),
    "nengo": ("nengo", PAPER, 1.0, 1.0, "lif_nengo.csv", None, "LIF(tau_rc=tau), gain 1/theta (v x10)"),
    "spinnaker2": ("spinnaker2", PAPER, 1.0, 1.0, None, None, "Brian2 backend (the paper's S2 trace): FORWARD Euler, reset to zero, same step"),
    # predictions (no recorded trace in shared/)
    "loihi2": ("loihi2", PAPER, 1.0, 1.0, None, None, "Lava fixed point, weights x r dt/tau as for Lava float, one Dense"),
    "spinnaker2_chip": ("spinnaker2", {"decay": "euler", "synapse_decay": "euler", "reset": "zero"}, 1.0, 1.0, None, None,
                        "chip: FORWARD Euler, reset to zero, +1 projection"),
    "xylo": ("xylo", PAPER, 1.0, 1.0, None, None, "dash_mem 5, dash_syn 1 (synapse-free LIF approximated)"),
    "speck": ("speck", {}, 1.0, 1.0, None, None, "-"),
    "euler": ("euler", {}, 1.0, 1.0, None, None, "generic forward Euler"),
    "zoh": ("zoh", {}, 1.0, 1.0, None, None, "generic exact stepping"),
}


def data():
    """The paper's graph and pulse input, bundled with nirjax (``nirjax.data``)."""
    g = nirjax.load(nirjax.data.path("lif_norse.nir"))
    x = np.loadtxt(nirjax.data.path("lif_input.csv"))[:, None]
    return g, x


def recording(csv):
    """The paper's recorded trace ``csv`` (bundled gzip-compressed in ``nirjax.data``,
    byte-identical to ``nir-paper/01_lif/``): (1000, 3) input, v, spike flag."""
    return np.loadtxt(nirjax.data.path(csv + ".gz"), delimiter=",")


def run_all(progress=None):
    """Every configuration of CONFIGS: ``(results, table rows)``; ``progress(line)`` is
    called before each run."""
    g, x = data()
    results, rows = {}, []
    for i, (name, (plat, opts, wf, xf, csv, units, how)) in enumerate(CONFIGS.items()):
        if progress is not None:
            progress(f"[{i + 1}/{len(CONFIGS)}] {name}")
        gg = eqx.tree_at(lambda q: q.nodes["0"].weight, g, g.nodes["0"].weight * wf) if wf != 1.0 else g
        try:
            if plat is None:
                sol = nirjax.simulate(gg, x * xf, dt=DT, reset="subtract")
                v_nir = np.asarray(sol.states["1"]["v"][:, 0])
                v_native = v_nir
            else:
                sol = nirjax.simulate(gg, x * xf, dt=DT, platform=plat, record=None, **opts)
                v_nir = np.asarray(sol.states["1"]["v"][:, 0])
                v_native = np.asarray(sol.states["1"]["v_native"][:, 0])
        except nirjax.UnsupportedError as e:
            rows.append((name, "refused: " + str(e).split(":", 1)[-1].strip()[:60], "cannot run", "-", "", ""))
            results[name] = {"unsupported": str(e)}
            continue
        steps = [int(k) for k in np.nonzero(np.asarray(sol.spikes["1"][:, 0]))[0]]
        results[name] = {"spike_steps": steps, "v": v_nir.tolist(), "configuration": how}
        rec, err, ok = "-", "", ""
        if csv:
            d = recording(csv)
            rsteps = [int(k) for k in np.nonzero(d[:, 2])[0]]
            err_v = float(np.max(np.abs(v_native - d[:, 1])))
            rec, err, ok = str(rsteps), f"{err_v:.2e}", "yes" if (rsteps == steps and err_v <= 1e-6) else "NO"
            results[name].update(recorded_spike_steps=rsteps, max_abs_v_error_csv_units=err_v, reproduced=ok == "yes")
        rows.append((name, how, str(steps), rec, err, ok))
    return results, rows


def table(rows):
    w = [max(len(str(r[i])) for r in rows + [_HDR]) for i in range(6)]
    fmt = "  ".join("{:%d}" % k for k in w)
    lines = [fmt.format(*_HDR), fmt.format(*["-" * k for k in w])]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


_HDR = ("platform", "configuration (as the paper ran it)", "spike steps", "recorded", "max|dv| (CSV units)", "match")


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [n for n, r in results.items() if "v" in r]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.1 * len(names) + 1), sharex=True)
    t = np.arange(1, 1001) * DT * 1e3
    ideal = np.asarray(results["exact"]["v"])
    for ax, n in zip(axes, names):
        ax.plot(t, ideal, color="0.7", lw=0.8, label="ideal")
        ax.plot(t, results[n]["v"], lw=0.9, label=n)
        for s in results[n]["spike_steps"]:
            ax.axvline((s + 1) * DT * 1e3, color="r", lw=0.5)
        ax.set_ylabel(n, rotation=0, ha="right", fontsize=8)
        ax.set_yticks([])
    axes[-1].set_xlabel("time (ms); v in NIR units (grey: ideal model); red: spikes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, rows = run_all(progress=lambda line: print(line, file=sys.stderr, flush=True))
    (out / "results.json").write_text(json.dumps(results))
    text = table(rows)
    (out / "table.txt").write_text(text + "\n")
    png = plot(results, out / "lif_comparison.png")
    print(text)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.txt'}" + (f", {png}" if png else " (no matplotlib: no figure)"))
    return results


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "lif_out")
