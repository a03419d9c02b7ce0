"""nirjax command line. Subcommands:

  demo       the NIR paper's LIF neuron, ideal model and every platform model (bundled data)
  info       what a .nir graph holds: nodes, shapes, parameters, spike-area hint, which platforms run it
  platforms  the platform models and their discretization axes
  simulate   run a graph on an input (ideal model or a platform model), save the Solution (.npz)
  deviation  how far platform models are from the ideal model, and why (table, JSON, figure)
  reproduce  regenerate a NIR paper experiment
  data       the data bundled with nirjax (the NIR paper's LIF graph, input, recordings) and their paths

`nirjax COMMAND --help` explains each argument.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import sys
import time

from .semantics.resets import RESETS

_DT_HELP = "the step length in seconds: one input row per step, states recorded at each step's end"


def _parser():
    p = argparse.ArgumentParser(
        prog="nirjax", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--float32", action="store_true",
                   help="compute in float32 (JAX's default); without it the CLI enables float64, "
                        "so that spike times are exact to float64 rounding")
    p.add_argument("--traceback", action="store_true",
                   help="show the full Python traceback of an error instead of its one-line message")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sub.add_parser("demo", help="simulate the NIR paper's LIF neuron (bundled data) under the ideal model and "
                                "print every platform model's spikes next to the paper's recordings",
                   description="Simulate the NIR paper's LIF neuron (lif_norse.nir, bundled in nirjax.data) "
                               "under the ideal model and on every platform model, configured as the paper ran "
                               "it, and compare with the paper's recorded traces. Needs no source tree.")

    ip = sub.add_parser("info", help="describe a .nir graph: nodes, shapes, parameters, spike-area hint, "
                                     "which platform models can run it and why not",
                        description="Describe a NIR graph: its inputs and outputs, every node with its type, "
                                    "shape and parameters, the edges, the spike-area hint (the dt a graph exported "
                                    "by a time-stepped framework was trained at) and, for every platform model, "
                                    "whether it can run the graph or the reason it refuses.")
    ip.add_argument("graph", metavar="GRAPH", help="path to a .nir file")
    ip.add_argument("--dt", type=float, default=None,
                    help="the step the platform models are checked at (seconds; default: the graph's export dt "
                         "from the spike-area hint, else 1e-4); a platform may refuse time constants its step "
                         "cannot represent")
    ip.add_argument("--json", metavar="FILE", default=None, help="also write the description as JSON to FILE")

    pp = sub.add_parser("platforms", help="list the platform models, or show one model's axes and quirks",
                        description="List the registered platform models; with NAME, show that model's "
                                    "discretization axes, version quirks and source.")
    pp.add_argument("name", metavar="NAME", nargs="?", default=None,
                    help="a platform name (see `nirjax platforms`); omit to list them all")
    pp.add_argument("--preset", default=None, metavar="NAME", help="a named configuration of the platform: 'paper' (as the NIR paper ran it) or a release it "
                         "models (e.g. snntorch 0.9.4, spyx 0.1); `nirjax platforms` lists them")
    pp.add_argument("--option", "-o", metavar="KEY=VALUE", action="append", default=[],
                    help="a platform option (an axis value, a quirk switch), repeatable")

    sp = sub.add_parser("simulate", help="run GRAPH on an input array (ideal model, or --platform) and save the "
                                         "Solution to an .npz file",
                        description="Run GRAPH on the input in FILE under the ideal model (exact spike times) or "
                                    "under a platform model (--platform), and save the Solution as an .npz file: "
                                    "ts, spikes/<node>, states/<node>/<var>, spike_counts/<node>, "
                                    "spike_times/<node> (ideal model), stats/..., result (the empty string when "
                                    "the run succeeded).")
    _graph_input_args(sp)
    sp.add_argument("--platform", "-p", default=None, metavar="P",
                    help="a platform model name (see `nirjax platforms`); omit for the ideal model")
    sp.add_argument("--preset", default=None, metavar="NAME", help="a named configuration of the platform: 'paper' (as the NIR paper ran it) or a release it "
                         "models (e.g. snntorch 0.9.4, spyx 0.1); `nirjax platforms` lists them")
    sp.add_argument("--option", "-o", metavar="KEY=VALUE", action="append", default=[],
                    help="a platform option (an axis value, a quirk switch), repeatable; values are Python "
                         "literals, or strings")
    sp.add_argument("--t1", type=float, default=None,
                    help="end time in seconds (default: t0 + rows of the input x dt)")
    sp.add_argument("--method", choices=["exact", "rk"], default=None,
                    help="ideal model only: 'exact' (closed forms, default) or 'rk' (diffrax Tsit5 with event "
                         "root finding)")
    sp.add_argument("--max-spikes", type=int, default=None,
                    help="ideal model only: spike-time slots per neuron (default max(64, steps)); an overflow "
                         "is an error that says so")
    sp.add_argument("--out", required=True, metavar="FILE", help="the .npz file to write")

    dp = sub.add_parser("deviation", help="compare platform models with the ideal model on an input: table, "
                                          "JSON and figure",
                        description="Run GRAPH under the ideal model and under each platform model, measure how "
                                    "far each platform is (spike counts, spike-time shifts, first divergence, "
                                    "membrane error, van Rossum distance) and attribute the difference to each "
                                    "discretization axis. Writes OUT/report.txt, OUT/report.json and "
                                    "OUT/deviation.png (with matplotlib).")
    _graph_input_args(dp)
    dp.add_argument("--platform", "-p", action="append", required=True, metavar="P",
                    help="a platform model name, or 'all' for every platform (repeat for several)")
    dp.add_argument("--preset", default=None, metavar="NAME", help="a named configuration of the platform: 'paper' (as the NIR paper ran it) or a release it "
                         "models (e.g. snntorch 0.9.4, spyx 0.1); `nirjax platforms` lists them" + "; applies to a single --platform")
    dp.add_argument("--option", "-o", metavar="KEY=VALUE", action="append", default=[],
                    help="a platform option applied to the (single) platform, repeatable")
    dp.add_argument("--input-as", choices=["dense", "spikes"], default="dense",
                    help="'dense': the ideal model reads the rows as a zero-order-hold signal (default); "
                         "'spikes': the rows are spike counts per step, which the ideal model receives as Dirac "
                         "impulses of area --spike-area at the step starts")
    dp.add_argument("--no-attribution", action="store_true",
                    help="skip the attribution (switching each axis to its ideal value, one run per axis)")
    dp.add_argument("--tau-vr", type=float, default=None,
                    help="van Rossum kernel time constant in seconds (default 10 dt)")
    dp.add_argument("--trace-neurons", type=int, default=3,
                    help="how many most divergent neurons per node the figure shows (default 3)")
    dp.add_argument("--out", required=True, metavar="DIR", help="the folder to write the report files into")

    rp = sub.add_parser("reproduce", help="regenerate a NIR paper experiment (lif) or the Yin-Yang benchmark (yinyang)",
                        description="Regenerate a NIR paper experiment from the data bundled with nirjax. "
                                    "'lif': the paper's LIF neuron on every platform model vs the recorded traces; "
                                    "writes OUT/results.json, OUT/table.txt and OUT/lif_comparison.png. "
                                    "'yinyang': train a 5-120-3 CubaLIF network on Yin-Yang on the ideal model with "
                                    "exact gradients (float32), evaluate and fine-tune it on every platform model; "
                                    "writes OUT/model.nir, OUT/results.json, OUT/table.txt, figures, "
                                    "OUT/model_<platform>.nir and OUT/test_inputs.npz.")
    rp.add_argument("which", choices=["lif", "yinyang"],
                    help="which experiment: 'lif' (one LIF neuron on every platform) or 'yinyang' (training)")
    rp.add_argument("--out", default="reproduce_out", metavar="DIR",
                    help="the folder to write results into (default ./reproduce_out)")
    rp.add_argument("--epochs", type=int, default=None, metavar="N",
                    help="yinyang: training epochs (default: the reproduction's own setting)")
    ap = sub.add_parser("data", help="list the bundled data files, or print the path of one",
                        description="The data bundled with nirjax (the NIR paper's LIF graph lif_norse.nir, its "
                                    "pulse input lif_input.csv and the recorded traces lif_*.csv.gz; see "
                                    "ATTRIBUTION.md). With NAME, print that file's path, e.g. "
                                    "`nirjax info $(nirjax data lif_norse.nir)`.")
    ap.add_argument("name", metavar="NAME", nargs="?", default=None, help="a bundled file name; omit to list them")
    return p


def _graph_input_args(p):
    p.add_argument("graph", metavar="GRAPH", help="path to a .nir file")
    p.add_argument("--input", "-i", required=True, metavar="FILE",
                   help="the input: FILE.npy holding one array (steps, *input_shape) for a one-input graph, "
                        "FILE.npz with one such array per input node, named after it, or FILE.csv / FILE.txt "
                        "(one row per step, the input's values flattened; comma- / whitespace-separated)")
    p.add_argument("--dt", type=float, required=True, help=_DT_HELP)
    p.add_argument("--spike-area", type=float, default=1.0,
                   help="the area q of every spike (default 1); a graph exported by a time-stepped framework "
                        "at dt needs q = dt (`nirjax info` shows the hint)")
    p.add_argument("--reset", choices=RESETS, default=None,
                   help="the ideal model's reset: 'v_reset' (v <- v_reset, NIR >= 1.0.6, the default), "
                        "'subtract' (v <- v - v_threshold, what files written by nir <= 1.0.5 meant), 'zero'")
    p.add_argument("--t0", type=float, default=0.0, help="start time in seconds (default 0)")


# -- helpers ---------------------------------------------------------------------------
def _say(msg):
    print(f"nirjax: {msg}", file=sys.stderr, flush=True)


def _options(pairs, platform):
    """``KEY=VALUE`` strings -> dict. A value is a Python literal unless the platform's
    current value of that option is a string (``version=0.1`` stays the string "0.1")."""
    import nirjax

    out = {}
    base = None
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--option {pair!r}: write KEY=VALUE, e.g. --option threshold_test='>='.")
        k, v = pair.split("=", 1)
        k = k.strip().replace("-", "_")
        if base is None and platform is not None:
            base = nirjax.get_platform(platform)
        current = getattr(base, k, None) if base is not None else None
        if isinstance(current, str) or k in ("preset", "version"):
            out[k] = v
            continue
        try:
            out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k] = v
    return out


def _read_inputs(path, net):
    import numpy as np

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No input file {str(path)!r}.")
    if path.suffix == ".npz":
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    if path.suffix == ".npy":
        return _one_input(net, np.load(path))
    if path.suffix in (".csv", ".txt"):
        x = np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, ndmin=2)
        return _one_input(net, x)
    raise ValueError(f"Input file {str(path)!r}: expected .npy (one array), .npz (one array per input) or "
                     ".csv/.txt (one row per step).")


def _one_input(net, x):
    if len(net.inputs) != 1:
        raise ValueError(f"The graph has inputs {list(net.inputs)}: give an .npz file with one array per "
                         "input, named after it (numpy.savez(FILE, **{name: array})).")
    return {net.inputs[0]: x}


def _load(path, spike_area):
    import nirjax

    net = nirjax.load(path, warn=False)
    hint = net.suggested_spike_area
    if hint is not None and spike_area != hint:
        _say(f"hint: this graph looks exported by a time-stepped framework at dt = {hint:g} s (r = tau/dt); "
             f"its trained behaviour is the ideal model with --spike-area {hint:g} (you gave {spike_area:g})")
    return net


def _flat(prefix, tree, out):
    import numpy as np

    if isinstance(tree, dict):
        for k, v in tree.items():
            _flat(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif tree is not None:
        out[prefix] = np.asarray(tree)


# -- commands ------------------------------------------------------------------------
def _cmd_info(args):
    import numpy as np

    import nirjax

    net = nirjax.load(args.graph, warn=False)
    hint = net.suggested_spike_area
    dt = args.dt if args.dt is not None else (hint if hint is not None else 1e-4)
    desc = {"graph": str(args.graph), "inputs": {}, "outputs": {}, "nodes": {}, "edges": [],
            "spike_area_hint": hint, "platforms": {}, "platform_dt": dt}
    for n in net.inputs:
        desc["inputs"][n] = list(net.shape_of(n))
    for n, shp in net.output_shapes:
        desc["outputs"][n] = {"shape": list(shp), "from": list(net.preds(n))}
    for name, node in net.nodes.items():
        params, static = {}, {}
        for f in _fields(node):
            v = getattr(node, f)
            if f in ("shape", "in_shape", "out_shape"):
                continue
            if hasattr(v, "shape") and hasattr(v, "dtype"):
                a = np.asarray(v)
                params[f] = _summary(a)
            else:
                static[f] = v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
        entry = {"type": type(node).__name__, "shape": list(net.shape_of(name)), "params": params,
                 "from": list(net.preds(name))}
        if hasattr(node, "in_shape"):
            entry["in_shape"] = list(node.in_shape)
        if static:
            entry["static"] = static
        desc["nodes"][name] = entry
    for name in list(net.nodes) + [n for n, _ in net.output_shapes]:
        for s in net.preds(name):
            desc["edges"].append([s, name])
    for p in nirjax.platforms():
        try:
            nirjax.compile_platform(net, p, dt=dt, spike_area=hint if hint is not None else 1.0)
            desc["platforms"][p] = None
        except nirjax.UnsupportedError as e:
            desc["platforms"][p] = str(e)

    print(f"graph {args.graph}")
    print("  inputs:  " + ", ".join(f"{n} {tuple(s)}" for n, s in desc["inputs"].items()))
    print("  outputs: " + ", ".join(f"{n} {tuple(d['shape'])} <- {', '.join(d['from'])}"
                                    for n, d in desc["outputs"].items()))
    print(f"  {len(desc['nodes'])} nodes (name, type, output shape <- sources; parameters):")
    w = max([len(n) for n in desc["nodes"]] + [4])
    for name, e in desc["nodes"].items():
        src = ", ".join(e["from"]) or "-"
        print(f"    {name:{w}s}  {e['type']:8s} {str(tuple(e['shape'])):16s} <- {src}")
        for k, v in e["params"].items():
            print(f"    {'':{w}s}      {k:12s} {v['text']}")
        for k, v in e.get("static", {}).items():
            print(f"    {'':{w}s}      {k:12s} {v}")
    if hint is not None:
        print(f"  spike-area hint: exported by a time-stepped framework at dt = {hint:g} s (r = tau/dt); its "
              f"trained behaviour is the ideal model with spike_area = {hint:g} (simulate --spike-area {hint:g})")
    else:
        print("  spike-area hint: none (the graph does not look exported at a fixed dt; spike_area = 1)")
    print(f"  platform models at dt = {dt:g} s:")
    for p, why in desc["platforms"].items():
        print(f"    {p:12s} " + ("runs it" if why is None else f"cannot: {why}"))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(desc, indent=1))
        _say(f"wrote {args.json}")
    return 0


def _fields(node):
    import dataclasses

    return [f.name for f in dataclasses.fields(node)]


def _summary(a):
    import numpy as np

    flat = a.ravel()
    d = {"shape": list(a.shape)}
    if flat.size == 0:
        d["text"] = f"shape {a.shape} (empty)"
        return d
    if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
        d["text"] = f"shape {a.shape}"
        return d
    lo, hi = float(flat.min()), float(flat.max())
    d.update(min=lo, max=hi, mean=float(flat.mean()))
    if lo == hi:
        d["text"] = f"{lo:g}" + ("" if flat.size == 1 else f" (all {flat.size}, shape {a.shape})")
    else:
        d["text"] = f"shape {a.shape}: min {lo:.4g}, mean {float(flat.mean()):.4g}, max {hi:.4g}"
    return d


def _cmd_platforms(args):
    import nirjax

    if args.name is None:
        print("platform models (nirjax.get_platform(NAME, preset=..., **options)):")
        w = max(len(n) for n in nirjax.platforms())
        for n in nirjax.platforms():
            p = nirjax.get_platform(n)
            print(f"  {n:{w}s}  presets: {', '.join(_presets(p)) or '-':28s} {p.version}")
        print("`nirjax platforms NAME [--preset P]` shows a model's axes, quirks and source.")
        return 0
    p = nirjax.get_platform(args.name, **_platform_kw(args, args.name))
    print(p.describe())
    print(f"  presets: {', '.join(_presets(p)) or '-'}")
    return 0


def _presets(p):
    return list(getattr(type(p), "PRESETS", {}))


def _platform_kw(args, platform):
    """``--preset`` and ``--option``s as keywords of ``nirjax.get_platform``."""
    kw = _options(args.option, platform)
    if args.preset is not None:
        kw["preset"] = args.preset
    return kw


def _cmd_simulate(args):
    import numpy as np

    import nirjax

    net = _load(args.graph, args.spike_area)
    inputs = _read_inputs(args.input, net)
    kw = dict(dt=args.dt, t0=args.t0, t1=args.t1, spike_area=args.spike_area, reset=args.reset)
    if args.platform is not None:
        for flag, v in (("--method", args.method), ("--max-spikes", args.max_spikes)):
            if v is not None:
                raise ValueError(f"{flag} applies to the ideal model only, not to --platform {args.platform}.")
        kw.update(platform=args.platform, record=None, **_platform_kw(args, args.platform))  # the file: everything
        what = f"platform model {args.platform!r}" + (f" (preset {args.preset!r})" if args.preset else "")
    else:
        if args.option or args.preset:
            raise ValueError("--option and --preset apply to platform models: add --platform P.")
        if args.method is not None:
            kw["method"] = args.method
        if args.max_spikes is not None:
            kw["max_spikes"] = args.max_spikes
        what = "ideal model"
    steps = {k: np.shape(v)[0] for k, v in inputs.items()}
    _say(f"simulating {args.graph} on the {what}: inputs {steps} steps at dt = {args.dt:g} s ...")
    t = time.perf_counter()
    sol = nirjax.simulate(net, inputs, **kw)
    out = {"ts": np.asarray(sol.ts)}
    for part in ("spikes", "states", "spike_times", "spike_counts", "stats"):
        _flat(part, getattr(sol, part), out)
    ok = bool(sol.result == nirjax.RESULTS.successful)
    out["result"] = np.asarray("" if ok else nirjax.RESULTS[sol.result])
    path = args.out if str(args.out).endswith(".npz") else str(args.out) + ".npz"
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    counts = ", ".join(f"{n}: {int(np.sum(c))}" for n, c in sol.spike_counts.items())
    _say(f"done in {time.perf_counter() - t:.2f} s; spikes per node: {counts or 'none'}")
    print(path)
    return 0


def _cmd_deviation(args):
    import nirjax

    net = _load(args.graph, args.spike_area)
    inputs = _read_inputs(args.input, net)
    plats = args.platform
    if plats == ["all"]:
        platform = "all"
    elif "all" in plats:
        raise ValueError("--platform all runs every platform model: do not combine it with names.")
    else:
        platform = plats[0] if len(plats) == 1 else plats
    if (args.option or args.preset) and (not isinstance(platform, str) or platform == "all"):
        raise ValueError("--option and --preset apply to a single --platform; give one platform name.")
    opts = _platform_kw(args, platform)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rep = nirjax.deviation(
        net, platform, inputs, dt=args.dt, t0=args.t0, spike_area=args.spike_area, reset=args.reset,
        input_as=args.input_as, attribution=not args.no_attribution, tau_vr=args.tau_vr, **opts,
        trace_neurons=args.trace_neurons,
        progress=lambda line: _say(f"{line}  ({time.perf_counter() - t:.1f} s)"))
    text = str(rep)
    print(text)
    (out / "report.txt").write_text(text + "\n")
    rep.to_json(out / "report.json")
    written = [out / "report.txt", out / "report.json"]
    try:
        rep.plot(out / "deviation.png")
        written.append(out / "deviation.png")
    except ImportError as e:
        _say(f"no figure: {e}")
    _say(f"done in {time.perf_counter() - t:.1f} s; wrote " + ", ".join(map(str, written)))
    return 0


def _cmd_demo(args):
    from ._demo import run_demo

    return run_demo()


def _cmd_reproduce(args):
    from ._reproduce import reproduce

    _say(f"reproducing {args.which!r} into {args.out} ...")
    reproduce(args.which, args.out, epochs=getattr(args, "epochs", None))
    return 0


def _cmd_data(args):
    import nirjax

    if args.name is not None:
        print(nirjax.data.path(args.name))
        return 0
    for n in nirjax.data.names():
        print(f"{n:28s} {nirjax.data.path(n)}")
    return 0


_COMMANDS = {"data": _cmd_data, "demo": _cmd_demo, "info": _cmd_info, "platforms": _cmd_platforms, "simulate": _cmd_simulate,
             "deviation": _cmd_deviation, "reproduce": _cmd_reproduce}


def main(argv=None):
    """Run the command line ``nirjax ARGS`` (``argv``: the arguments, default ``sys.argv[1:]``);
    returns the exit status (0 success, 1 an error explained in one line, 2 bad usage)."""
    args = _parser().parse_args(argv)
    import jax

    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    from ._errors import GraphError, UnsupportedError

    try:
        return _COMMANDS[args.cmd](args)
    except (GraphError, UnsupportedError, FileNotFoundError, ValueError, TypeError) as e:
        if args.traceback:
            raise
        print(f"nirjax {args.cmd}: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        import equinox as eqx

        # a run that failed a value check: nirjax's SimulationError (an EquinoxRuntimeError) or
        # an eqx.error_if raised inside a jitted run
        if args.traceback or not (isinstance(e, eqx.EquinoxRuntimeError) or type(e).__name__ == "XlaRuntimeError"):
            raise
        print(f"nirjax {args.cmd}: error: {_runtime_message(e)}", file=sys.stderr)
        return 1


def _runtime_message(e):
    """The check's own message inside an ``eqx.error_if`` failure (not JAX's stack notes)."""
    import re

    text = str(e)
    found = [m for m in re.findall(r"EquinoxRuntimeError: (.+)", text) if not m.startswith("Above is the stack")]
    if found:
        return found[-1].strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


__all__ = ["main"]
