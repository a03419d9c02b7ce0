"""Record the SynSense Xylo bit-accurate simulator (xylosim 0.1.3, Xylo Audio 2 core
`xylosim.v2.XyloLayer`, "old" env) on the parity cases.

Why not rockpool's wrapper: `import rockpool.devices.xylo` (and therefore any
`rockpool.devices.xylo.syns61201.xylo_sim` import) fails without samna, because
the package __init__ imports `syns65302.afe_samna_pdm`, which imports samna
unconditionally; samna is never installed here. rockpool's `XyloSim.from_specification`
is a thin wrapper that turns weight matrices into `XyloSynapse` lists and builds a
`xylosim.v2.XyloLayer`; this recorder does the same conversion itself (same
argument layout) and uses rockpool's real quantizer
`rockpool.transform.quantize_methods.global_quantize` (importable without samna).

NIR -> Xylo mapping (rockpool-style, written here; Xylo: input -> hidden
(reservoir, with w_rec) -> readout):
* Neuron nodes feeding `Output` whose inputs all come from hidden neurons are
  readout neurons; every other neuron node is hidden (multi-layer graphs:
  hidden->hidden layers go through w_rec, +1 step per hop on Xylo). If no node
  qualifies (lif_paper: input -> Affine -> LIF -> output) the LIF is a hidden
  neuron, the readout is one dummy neuron with zero weights and key `output` is
  the hidden node's spike raster.
* Per destination neuron, in float before quantization:
  LIF: w = W * r*dt/tau (Euler input gain), threshold = v_threshold,
       dash_mem = log2(tau/dt), dash_syn = 1 (Xylo has no synapse-free neuron;
       dash_syn = 0 would erase the input), bias = b * r*dt/tau (added to v per step).
  CubaLIF: w = W * w_in*dt/tau_syn (into i_syn), threshold = v_threshold /
       (r*dt/tau_mem) (Xylo adds i_syn to v with gain 1), dash_mem =
       log2(tau_mem/dt), dash_syn = log2(tau_syn/dt), bias = b * w_in (the
       steady-state synaptic current of a constant Affine bias, added to v).
  Affine biases of several in-edges (e.g. fc1 + w_rec) are summed; a join Affine
  reached through several of its in-edges adds its bias once.
* Quantization: `global_quantize(...)` with its defaults (fuzzy_scaling=False):
  hidden group scale s = 127 / max(|w_in|, |w_rec|, |bias|), readout scale
  s_out = 127 / max(|w_out|, |bias_out|); w, thresholds, biases = np.round(x*s)
  (half to even); dashes = np.round(log2(tau/dt)). Quirk of rockpool 3.1.0 kept
  as is: bias_out is scaled with the hidden scale s, not s_out.
  Weight shifts 0; no aliases; second synapse unused.
* v_reset / reset mode: Xylo always subtracts the threshold (up to 31 spikes
  per step, `v >= threshold`); the NIR reset-to-zero is not representable.

Recorded (integer units, stored float32 exactly): spikes/<node> (counts),
v/<node> (Vmem), i_syn/<node> (Isyn, synapse 1), for hidden nodes from
rec_v_mem / rec_i_syn / rec_recurrent_spikes and for readout nodes from
rec_v_mem_out / rec_i_syn_out / evolve's return value. params/<name> holds every
integer the XyloLayer was built with (weights_in (Nin, Nhid), weights_rec
(Nhid, Nhid), weights_out (Nhid, Nout), threshold, threshold_out, dash_mem,
dash_mem_out, dash_syn, dash_syn_out, bias, bias_out), so a model can be
checked bit-exactly; the hidden/readout index range of each NIR node is in
the manifest (`hidden_index`, `readout_index`).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BRAILLE_CASES, DT, GRAPH_CASES, Recorder, case_input, graph_path  # noqa: E402

import nir  # noqa: E402
import xylosim  # noqa: E402,F401
from xylosim.v2 import XyloLayer, XyloSynapse  # noqa: E402
from rockpool.transform.quantize_methods import global_quantize  # noqa: E402

warnings.filterwarnings("ignore")
LIMITS = {"inputs": 16, "hidden": 1000, "readout": 8}
NEURON = (nir.LIF, nir.CubaLIF)


def _f(a):
    return np.asarray(a, dtype=np.float64).reshape(-1)


def map_graph(g, dt=DT, lif_gain="euler"):
    """Float Xylo specification of a NIR graph (before quantization).

    lif_gain: LIF input gain per step, "euler" r*dt/tau (default) or "zoh" r*(1 - exp(-dt/tau)).
    """
    nodes, edges = g.nodes, g.edges
    preds = {n: [a for a, b in edges if b == n] for n in nodes}
    succs = {n: [b for a, b in edges if a == n] for n in nodes}
    for n, obj in nodes.items():
        if not isinstance(obj, (nir.Input, nir.Output, nir.Affine, nir.Linear) + NEURON):
            raise NotImplementedError(f"no Xylo mapping for {type(obj).__name__} (node {n}); "
                                      "Xylo neurons always leak (no IF), only LIF/CubaLIF + Linear/Affine")
    inp = [n for n, o in nodes.items() if isinstance(o, nir.Input)]
    outn = [n for n, o in nodes.items() if isinstance(o, nir.Output)]
    assert len(inp) == 1 and len(outn) == 1
    inp, outn = inp[0], outn[0]
    neurons = [n for n, o in nodes.items() if isinstance(o, NEURON)]

    def sources(n):  # neuron/input nodes feeding neuron n through one Affine/Linear
        out = []
        for p in preds[n]:
            if not isinstance(nodes[p], (nir.Affine, nir.Linear)):
                raise NotImplementedError(f"edge {p}->{n} without an Affine/Linear in between")
            out += [(q, p) for q in preds[p]]
        return out

    readout = [n for n in preds[outn] if n in neurons
               and all(q in neurons and q != n and outn not in succs[q] for q, _ in sources(n))]
    hidden = [n for n in neurons if n not in readout]
    if not hidden:
        raise NotImplementedError("no hidden layer")
    size = {n: _f(getattr(nodes[n], "v_threshold")).size for n in neurons}
    off, hid_index, out_index = 0, {}, {}
    for n in hidden:
        hid_index[n] = (off, off + size[n]); off += size[n]
    n_hid, off = off, 0
    for n in readout:
        out_index[n] = (off, off + size[n]); off += size[n]
    n_out = max(off, 1)
    n_in = int(np.prod(nodes[inp].output_type["output"]))
    for k, v in (("inputs", n_in), ("hidden", n_hid), ("readout", n_out)):
        if v > LIMITS[k]:
            raise ValueError(f"{k} = {v} exceeds Xylo Audio 2 limit {LIMITS[k]}")

    spec = {"weights_in": np.zeros((n_in, n_hid)), "weights_rec": np.zeros((n_hid, n_hid)),
            "weights_out": np.zeros((n_hid, n_out)), "threshold": np.zeros(n_hid),
            "threshold_out": np.zeros(n_out), "dash_mem": np.zeros(n_hid), "dash_mem_out": np.zeros(n_out),
            "dash_syn": np.zeros(n_hid), "dash_syn_2": np.zeros(n_hid), "dash_syn_out": np.zeros(n_out),
            "bias": np.zeros(n_hid), "bias_out": np.zeros(n_out)}
    sfx = {}
    for n in neurons:
        o = nodes[n]
        if isinstance(o, nir.LIF):
            tau, r, th = _f(o.tau), _f(o.r), _f(o.v_threshold)
            k = r * dt / tau if lif_gain == "euler" else r * -np.expm1(-dt / tau)
            thr, dm, ds, bgain = th, np.log2(tau / dt), np.ones_like(tau), k
            tcs = [tau]
        else:
            tm, ts, r, w_in, th = _f(o.tau_mem), _f(o.tau_syn), _f(o.r), _f(o.w_in), _f(o.v_threshold)
            k = w_in * dt / ts
            thr, dm, ds, bgain = th / (r * dt / tm), np.log2(tm / dt), np.log2(ts / dt), w_in
            tcs = [tm, ts]
        if any(np.any(t <= dt) for t in tcs):
            raise ValueError(f"node {n}: time constant <= dt cannot be a Xylo dash")
        if np.any(_f(o.v_leak) != 0):
            raise ValueError(f"node {n}: v_leak != 0 has no Xylo equivalent")
        is_out = n in readout
        sl = slice(*(out_index if is_out else hid_index)[n])
        sfx[n] = "_out" if is_out else ""
        spec["threshold" + sfx[n]][sl] = thr
        spec["dash_mem" + sfx[n]][sl] = dm
        spec["dash_syn" + sfx[n]][sl] = ds
        biased = set()  # an Affine with several in-edges (a join) adds its bias once
        for src, aff in sources(n):
            W = np.asarray(nodes[aff].weight, dtype=np.float64)
            b = _f(getattr(nodes[aff], "bias", np.zeros(W.shape[0])))
            Wk = (W * k[:, None]).T  # (pre, post)
            if src == inp:
                spec["weights_in"][:, sl] += Wk
            elif is_out:
                spec["weights_out"][slice(*hid_index[src]), sl] += Wk
            else:
                spec["weights_rec"][slice(*hid_index[src]), sl] += Wk
            if aff not in biased:
                spec["bias" + sfx[n]][sl] += b * bgain
                biased.add(aff)
    if not readout:
        spec["dash_mem_out"][:] = 1
        spec["dash_syn_out"][:] = 1
        spec["threshold_out"][:] = 1
    info = {"hidden_index": hid_index, "readout_index": out_index,
            "nir_output_from": readout or [n for n in preds[outn] if n in neurons],
            "sizes": {"inputs": n_in, "hidden": n_hid, "readout": n_out}}
    return spec, info


def quantize(spec):
    q = global_quantize(**spec)
    ints = {k: np.asarray(v).astype(int) for k, v in q.items()}
    if "bias" not in ints:
        ints["bias"] = np.zeros(spec["threshold"].size, int)
        ints["bias_out"] = np.zeros(spec["threshold_out"].size, int)
    w3 = ints["weights_in"]
    ints["weights_in"] = w3[..., 0] if w3.ndim == 3 else w3
    w3 = ints["weights_rec"]
    ints["weights_rec"] = w3[..., 0] if w3.ndim == 3 else w3
    # scales exactly as global_quantize computes them (for the manifest)
    max_w = max(np.abs(spec["weights_in"]).max(), np.abs(spec["weights_rec"]).max(), np.abs(spec["bias"]).max())
    max_o = max(np.abs(spec["weights_out"]).max(), np.abs(spec["bias_out"]).max())
    scales = {"hidden": 127 / max_w if max_w else 1.0, "readout": 127 / max_o if max_o else 1.0}
    return ints, scales


def build_layer(p):
    def syn(W):
        return [[XyloSynapse(int(post), 0, int(w[post])) for post in np.flatnonzero(w)] for w in W]
    has_bias = bool(np.any(p["bias"] != 0) or np.any(p["bias_out"] != 0))
    # the XyloLayer keeps pointers to the XyloSynapse objects: they must outlive it
    # (rockpool keeps them on the module as _xylo_sim_params; freeing them segfaults)
    keep = {k: syn(p[k]) for k in ("weights_in", "weights_rec", "weights_out")}
    layer = XyloLayer(
        synapses_in=keep["weights_in"], synapses_rec=keep["weights_rec"],
        synapses_out=keep["weights_out"], aliases=[[] for _ in p["threshold"]],
        threshold=p["threshold"].tolist(), threshold_out=p["threshold_out"].tolist(),
        has_bias=has_bias, bias=p["bias"].tolist(), bias_out=p["bias_out"].tolist(),
        weight_shift_inp=0, weight_shift_rec=0, weight_shift_out=0,
        dash_mem=p["dash_mem"].tolist(), dash_mem_out=p["dash_mem_out"].tolist(),
        dash_syns=[[int(d), 0] for d in p["dash_syn"]], dash_syns_out=[[int(d)] for d in p["dash_syn_out"]],
        name="nirjax_parity")
    return layer, keep


def platforms_rule(x, p, T):
    """PLATFORMS.md's Xylo rule for a hidden layer fed by the input only (no w_rec)."""
    n = p["threshold"].size
    i = np.zeros(n, int); v = np.zeros(n, int)
    S, V, I = [], [], []

    def decay(z, d):
        s = z >> d
        return np.where((s == 0) & (z != 0), np.sign(z), s)
    for t in range(T):
        i = i + x[t] @ p["weights_in"]
        i = i - decay(i, p["dash_syn"])
        v = v - decay(v, p["dash_mem"]) + i + p["bias"]
        cnt = np.zeros(n, int)
        while True:
            m = (v >= p["threshold"]) & (cnt < 31)
            if not m.any():
                break
            cnt += m; v = v - m * p["threshold"]
        S.append(cnt); V.append(v.copy()); I.append(i.copy())
    return np.array(S), np.array(V), np.array(I)


def run_case(case):
    base = "lif_paper" if case == "lif_paper_zoh" else case
    g = nir.read(str(graph_path(base)))
    spec, minfo = map_graph(g, lif_gain="zoh" if case == "lif_paper_zoh" else "euler")
    p, scales = quantize(spec)
    x = case_input(base)
    T, B = x.shape[:2]
    xi = x.reshape(T, B, -1).astype(int)
    assert np.array_equal(xi, x.reshape(T, B, -1)), "xylo input must be integer event counts"
    layer, _keep = build_layer(p)
    per = []
    for b in range(B):
        layer.reset_all()
        out = np.asarray(layer.evolve(xi[:, b].tolist()))
        rec = {"spk": np.asarray(layer.rec_recurrent_spikes).reshape(T, -1),
               "v": np.asarray(layer.rec_v_mem).T.reshape(T, -1),
               "i": np.asarray(layer.rec_i_syn).T.reshape(T, -1),
               "spk_out": out.reshape(T, -1),
               "v_out": np.asarray(layer.rec_v_mem_out).T.reshape(T, -1),
               "i_out": np.asarray(layer.rec_i_syn_out).T.reshape(T, -1)}
        per.append(rec)
    st = {k: np.stack([r[k] for r in per], axis=1) for k in per[0]}  # (T, B, N)
    arrays = {"input": x}
    for n, (a, c) in minfo["hidden_index"].items():
        arrays[f"spikes/{n}"] = st["spk"][:, :, a:c]
        arrays[f"v/{n}"] = st["v"][:, :, a:c]
        arrays[f"i_syn/{n}"] = st["i"][:, :, a:c]
    for n, (a, c) in minfo["readout_index"].items():
        arrays[f"spikes/{n}"] = st["spk_out"][:, :, a:c]
        arrays[f"v/{n}"] = st["v_out"][:, :, a:c]
        arrays[f"i_syn/{n}"] = st["i_out"][:, :, a:c]
    if minfo["readout_index"]:
        arrays["output"] = st["spk_out"]
    else:
        arrays["output"] = np.concatenate([arrays[f"spikes/{n}"] for n in minfo["nir_output_from"]], axis=-1)
    for k in ("weights_in", "weights_rec", "weights_out", "threshold", "threshold_out", "dash_mem",
              "dash_mem_out", "dash_syn", "dash_syn_out", "bias", "bias_out"):
        arrays[f"params/{k}"] = p[k]
    info = {"dt": DT,
            "options": "map_graph (rockpool-style NIR->Xylo mapping) + rockpool global_quantize "
                       "(fuzzy_scaling=False) -> xylosim.v2.XyloLayer; one sample per evolve, reset_all between",
            "quant_scale": scales,
            "float_spec_max": {k: float(np.abs(v).max()) for k, v in spec.items()},
            "v_units": "Xylo integer Vmem / Isyn (16-bit); NIR v ~ Vmem / quant_scale['hidden'] "
                       "(CubaLIF: times r*dt/tau_mem)",
            "spikes_units": "spike counts per step (<= 31)",
            "node_names": "NIR node names",
            **minfo}
    if not minfo["readout_index"]:
        info["output_note"] = ("no NIR neuron node can be a Xylo readout neuron (it is fed from the input); "
                               "it is a hidden neuron; readout = 1 dummy neuron with zero weights; "
                               "'output' = the hidden node's spikes")
    if np.all(p["weights_rec"] == 0) and not minfo["readout_index"]:
        S, V, I = platforms_rule(xi[:, 0], p, T)
        n0 = minfo["nir_output_from"][0]
        info["platforms_rule_check"] = {
            "rule": "PLATFORMS.md Xylo step (decay = x>>dash or +-1; v >= thr, subtract, <= 31)",
            "spikes_equal": bool(np.array_equal(S, st["spk"][:, 0])),
            "max_abs_v_diff": int(np.abs(V - st["v"][:, 0]).max()),
            "max_abs_i_syn_diff": int(np.abs(I - st["i"][:, 0]).max()),
        }
    if base == "lif_paper":
        steps = np.flatnonzero(arrays["spikes/1"][:, 0, 0]).tolist()
        info["paper_check"] = {"spike_steps": steps,
                               "platforms_prediction": [450, 491, 531, 710, 751],
                               "agrees": steps == [450, 491, 531, 710, 751]}
        print(f"[xylosim] {case}:", info["paper_check"], info.get("platforms_rule_check"))
    return arrays, info


def main():
    rec = Recorder("xylosim", ["xylosim", "rockpool", "nir", "numpy"],
                   notes={"execution": "xylosim.v2.XyloLayer (Xylo Audio 2 / SYNS61201 core, C++ bit-accurate), "
                                       "integer state; stored as float32 (exact for 16-bit values)",
                          "rockpool_wrapper": "rockpool.devices.xylo cannot be imported without samna "
                                              "(syns65302/afe_samna_pdm.py imports samna); the XyloLayer is built "
                                              "here exactly as XyloSim.from_specification does",
                          "params": "params/<name>: integer XyloLayer configuration (see record_xylosim.py)",
                          "latency": "input -> hidden same step; hidden -> hidden (w_rec, also between hidden "
                                     "layers) +1 step; hidden -> readout +1 step (readout i_syn checked "
                                     "bit-exact against previous-step hidden spikes on cubalif_chain, "
                                     "diamond, recurrent)"})
    for case in ["lif_paper", "lif_paper_zoh"] + GRAPH_CASES + list(BRAILLE_CASES):
        # map_graph's refusals (no Xylo rule for a node or parameter) are the mapping's, not xylosim's
        rec.run(case, lambda c=case: run_case(c), unsupported=(NotImplementedError, ValueError))
    rec.manifest["cases"]["lif_paper_zoh"]["graph"] = rec.manifest["cases"]["lif_paper"]["graph"]
    rec.manifest["cases"]["lif_paper_zoh"]["variant"] = (
        "lif_paper with the LIF input gain r*(1-exp(-dt/tau)) = 0.03921 instead of Euler r*dt/tau = 0.04 "
        "(threshold 324 instead of 317): the gain under which PLATFORMS.md's prediction holds")
    rec.explain("if_chain", "Xylo neurons always leak (dash_mem >= 0 bit-shift decay every step); "
                            "NIR IF has no leak, so no faithful mapping exists")
    rec.write()


if __name__ == "__main__":
    main()
