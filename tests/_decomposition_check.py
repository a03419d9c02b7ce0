"""Run by test_decomposition in a subprocess (XLA_FLAGS set there: fast compiles): every graph of
the test suite through the decomposed exact solver and through the global event loop
(``decompose=False``); prints one JSON line per case with the largest differences."""

import glob
import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)
import nir  # noqa: E402
import numpy as np  # noqa: E402

import nirjax  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("NIRJAX_SHARED", os.path.join(HERE, "..", "..", "shared"))
PAPER = os.path.join(SHARED, "nir-paper")


def one(v):
    return np.array([v], float)


def cases():
    """(name, graph, inputs, simulate keywords)."""
    rng = np.random.default_rng(0)
    out = []
    # the NIR paper's graphs
    from conftest import paper_pulse_input

    out.append(("paper_lif", os.path.join(PAPER, "01_lif", "lif_norse.nir"), {"input": paper_pulse_input()},
                dict(dt=1e-4, reset="subtract")))
    for name in ("braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"):
        x = (rng.random((256, 12)) < 0.2).astype(float)
        out.append((name, os.path.join(PAPER, "03_rnn", name + ".nir"), {"input": x},
                    dict(dt=1e-4, spike_area=1e-4, reset="subtract" if "subtract" in name else None)))
    raster = (rng.random((12, 2, 34, 34)) < 0.1).astype(float)
    out.append(("cnn", os.path.join(PAPER, "02_cnn", "cnn_sinabs.nir"),
                {"input": nirjax.Spikes.from_raster(raster, dt=1e-3, k=12)}, dict(dt=1e-3, t1=0.012, max_spikes=16)))
    # the parity graphs, on their recorded inputs (dense and as spike trains)
    for path in sorted(glob.glob(os.path.join(HERE, "golden", "graphs", "*.nir"))):
        name = os.path.basename(path)[:-4]
        rec = sorted(glob.glob(os.path.join(HERE, "golden", "*", name + ".npz")))
        if not rec:
            continue
        d = np.load(rec[0])
        x = d["input"][:, 0]
        g = nirjax.load(path, warn=False)
        q = g.suggested_spike_area or 1e-3
        inp = g.inputs[0]
        # recurrent exports fire in bursts at their export's spike area: a fifth of it keeps them tame
        area = q / 5 if "rnn" in name else q
        out.append((name, path, {inp: x}, dict(dt=1e-4, spike_area=area, max_spikes=2048)))
        if name in ("cubalif_chain", "if_chain", "lif_chain", "rnn_a", "conv_if_a"):  # spike-train inputs too
            out.append((name + "/spikes", path, {inp: nirjax.Spikes.from_raster(np.round(np.abs(x)), dt=1e-4)},
                        dict(dt=1e-4, t1=len(x) * 1e-4, spike_area=area, reset="subtract", max_spikes=2048)))
    # graphs of the unit tests
    lif = lambda n, tau=0.01: nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n),  # noqa: E731
                                      v_threshold=np.ones(n), v_reset=np.zeros(n))
    delay = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(delay=np.array([0.0123, 0.0004])),
               "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)), "output": nir.Output(np.array([2]))},
        edges=[("input", "d"), ("d", "if"), ("if", "output")])
    out.append(("delay", delay, {"input": nirjax.Spikes.from_lists([[0.001, 0.0021], [0.003]])}, dict(dt=1e-3, t1=0.02)))
    loop = nir.NIRGraph(  # a Delay inside a cycle: neuron -> delay -> neuron
        nodes={"input": nir.Input(np.array([2])), "w": nir.Linear(weight=np.eye(2) * 30.0), "lif": lif(2),
               "wd": nir.Linear(weight=np.array([[0.0, 0.6], [0.6, 0.0]])), "d": nir.Delay(delay=np.array([0.003, 0.005])),
               "back": nir.Linear(weight=np.eye(2) * 0.4), "output": nir.Output(np.array([2]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "wd"), ("wd", "d"), ("d", "back"), ("back", "lif"), ("lif", "output")])
    x = np.zeros((60, 2))
    x[5:9, 0] = 1.0
    out.append(("delay_cycle", loop, {"input": x}, dict(dt=1e-3, spike_area=0.01)))
    thr = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "th": nir.Threshold(threshold=np.array([0.5])),
               "w": nir.Linear(weight=np.array([[0.7]])), "lif": nir.LIF(tau=one(0.01), r=one(0.01), v_leak=one(0.0),
                                                                         v_threshold=one(1.0), v_reset=one(0.0)),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "th"), ("th", "w"), ("w", "lif"), ("lif", "output")])
    out.append(("threshold", thr, {"input": np.array([0, .7, .9, .2, .6, .6, .1, 1, 0, 1.0])[:, None]}, dict(dt=1e-3)))
    cascade = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "w1": nir.Linear(weight=np.array([[2.0]])),
               "if": nir.IF(r=one(1.0), v_threshold=one(1.0), v_reset=one(0.0)), "w2": nir.Linear(weight=np.array([[0.6]])),
               "lif": nir.LIF(tau=one(0.01), r=one(0.01), v_leak=one(0.0), v_threshold=one(1.0), v_reset=one(0.0)),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "w1"), ("w1", "if"), ("if", "w2"), ("w2", "lif"), ("lif", "output")])
    for reset in (None, "subtract"):
        out.append((f"cascade_{reset}", cascade, {"input": nirjax.Spikes.from_lists([[0.0025, 0.004, 0.004]])},
                    dict(dt=1e-3, t1=0.01, reset=reset)))
    selfloop = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "lif": nir.CubaLIF(
            tau_syn=np.full(3, 0.005), tau_mem=np.full(3, 0.01), r=np.ones(3), v_leak=np.full(3, 0.1), w_in=np.ones(3),
            v_threshold=np.ones(3), v_reset=np.zeros(3)),
               "rec": nir.Linear(weight=rng.normal(0.0, 0.4, (3, 3))), "output": nir.Output(np.array([3]))},
        edges=[("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    out.append(("cuba_selfloop", selfloop, {"input": np.repeat(rng.uniform(0.5, 3.0, (10, 3)), 20, axis=0)},
                dict(dt=1e-3, spike_area=2e-3)))
    # random feed-forward and recurrent graphs (as in test_properties)
    kinds = ("LIF", "IF", "CubaLIF")
    for seed in range(6):
        r = np.random.default_rng(100 + seed)
        sizes = [int(r.integers(1, 5)) for _ in range(int(r.integers(1, 4)))]
        n_in = int(r.integers(1, 4))
        nodes, edges, prev, pn = {"input": nir.Input(np.array([n_in]))}, [], "input", n_in
        for i, n in enumerate(sizes):
            u = lambda lo, hi: r.uniform(lo, hi, n)  # noqa: E731
            kind = kinds[int(r.integers(3))]
            if kind == "LIF":
                cell = nir.LIF(tau=u(2e-3, 2e-2), r=u(0.5, 2), v_leak=u(0, 0.2), v_threshold=u(0.5, 1.5), v_reset=-u(0, 0.3))
            elif kind == "IF":
                cell = nir.IF(r=u(20, 100), v_threshold=u(0.5, 1.5), v_reset=-u(0, 0.3))
            else:
                cell = nir.CubaLIF(tau_syn=u(1e-3, 1e-2), tau_mem=u(2e-3, 2e-2), r=u(0.5, 2), v_leak=u(0, 0.2),
                                   v_threshold=u(0.5, 1.5), v_reset=-u(0, 0.3), w_in=u(0.5, 2))
            nodes[f"w{i}"] = nir.Linear(weight=r.uniform(-1, 2.5, (n, pn)))
            nodes[f"n{i}"] = cell
            edges += [(prev, f"w{i}"), (f"w{i}", f"n{i}")]
            prev, pn = f"n{i}", n
        if seed % 2:
            nodes["rec"] = nir.Linear(weight=r.uniform(-0.5, 0.5, (pn, pn)))
            edges += [(prev, "rec"), ("rec", prev)]
        nodes["output"] = nir.Output(np.array([pn]))
        edges.append((prev, "output"))
        g = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
        x = np.repeat(r.uniform(0, 3, (8, n_in)), 5, axis=0)
        out.append((f"random_{seed}", g, {"input": x},
                    dict(dt=1e-3, spike_area=2e-3, reset="subtract" if seed % 3 == 0 else None, max_spikes=256)))
    return out


def compare(a, b):
    res = {"count_diff": 0, "time_diff": 0.0, "state_diff": 0.0, "spikes": 0, "raster_diff": 0,
           "result": [int(a.result._value), int(b.result._value)]}
    if res["result"] != [0, 0]:
        return res
    for n, ca in a.spike_counts.items():
        cb = np.asarray(b.spike_counts[n])
        res["count_diff"] += int(np.abs(np.asarray(ca) - cb).sum())
        res["spikes"] += int(cb.sum())
    for n, ta in a.spike_times.items():
        ta, tb = np.asarray(ta), np.asarray(b.spike_times[n])
        if not np.array_equal(np.isinf(ta), np.isinf(tb)):
            res["time_diff"] = float("inf")
            continue
        fin = np.isfinite(ta)
        res["time_diff"] = max(res["time_diff"], float(np.abs(ta[fin] - tb[fin]).max(initial=0.0)))
    for n, sa in a.spikes.items():
        res["raster_diff"] += int(np.abs(np.asarray(sa) - np.asarray(b.spikes[n])).sum())
    for n, st in a.states.items():
        for v, x in st.items():
            y = np.asarray(b.states[n][v])
            scale = 1.0 + np.abs(y).max(initial=0.0)
            res["state_diff"] = max(res["state_diff"], float(np.abs(np.asarray(x) - y).max(initial=0.0) / scale))
    for n, st in a.final_state.items():
        for k, x in st.items():
            y = np.asarray(b.final_state[n][k])
            x = np.asarray(x)
            same = np.isfinite(x) == np.isfinite(y)
            fin = np.isfinite(x) & np.isfinite(y)
            d = float(np.abs(x[fin] - y[fin]).max(initial=0.0)) if same.all() else float("inf")
            res["state_diff"] = max(res["state_diff"], d / (1.0 + np.abs(y[fin]).max(initial=0.0)))
    return res


def main():
    only = sys.argv[1:]
    for name, graph, inputs, kw in cases():
        if only and name not in only:
            continue
        g = graph if isinstance(graph, nirjax.Graph) else nirjax.load(graph, warn=False)
        a = nirjax.simulate(g, inputs, throw=False, **kw)
        b = nirjax.simulate(g, inputs, decompose=False, throw=False, **kw)
        print(json.dumps({"case": name, **compare(a, b)}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
