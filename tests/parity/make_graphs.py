"""Write the seeded random parity graphs into tests/golden/graphs/*.nir.

Run in the "old" env (nir 1.0.4): files written by nir 1.0.4 have no v_reset
field and are read by nir 1.0.8 with v_reset = 0 filled in, while nir 1.0.4
cannot read the v_reset field that nir >= 1.0.6 writes. So the old writer is
the one that serves both.  `--check` simulates each graph with plain forward
Euler in numpy (r applied, and r ignored) to show spike activity.

Parameter conventions (dt = 1e-4 implied, stored nowhere, like the paper graphs):
* LIF: tau in [0.5, 1] ms, r = tau/dt (snnTorch's export convention, so
  snnTorch's w_scale r*dt/tau is 1), v_leak = 0, v_threshold = 1 per layer.
* CubaLIF: r = tau_mem/dt, w_in = tau_syn/dt (braille convention; snnTorch asserts
  r == tau_mem/dt), v_leak = 0, v_threshold = 1 per layer.
* lif_chain_r1 and diamond: LIF with r = 1 (Norse ignores r, so only r = 1 graphs
  give Norse activity), weights scaled up so forward Euler spikes.
* IF: r = 1 (snnTorch asserts r == 1), v_threshold = 1.

New graphs (issue 7 item 5, NEW_CASES in common.py):
* rnn_a/b/c: Affine(bias) -> CubaLIF `lif1.lif` <-> Affine `lif1.w_rec` (full matrix, non-zero
  bias) -> Affine -> CubaLIF -> output, as NIR/snnTorch export an RNN; sizes 3-6-2, 4-8-3,
  2-4-2; node names `lin1`/`lin2` for the Affine layers (names under which snnTorch 1.0.0's
  importer does not crash: see names_rnn_*). rnn_lif: the same with LIF (r = tau/dt).
* vleak_lif (LIF, r = 1, v_leak in [-0.5, 0.9]), vleak_cuba (CubaLIF chain, v_leak in
  [-0.06, 0.06]), vleak_rnn (rnn_a's shape, v_leak in [-0.06, 0.06]).
* names_rnn_*: rnn_a under other node names (braille's `fc1`..., an Input named `in`
  with Output `out`, an Input named `a_input`, dotted/digit names `layer.0.fc`,
  `layer.1.rec.lif`, `2`, `3.lif`); names_chain_*: lif_chain_r1 renamed (`in`/`out`;
  `0.fc`, `0.lif`, `1.fc`, `1.lif`; `l.1`/`l_1`/`l.2`/`l_2`, names that collide once
  '.' is replaced by '_' as nirtorch does). Same parameters and inputs as the originals.
* rnn2: two stacked recurrent CubaLIF layers (3 -> 5 rec -> 4 rec), `lif1.lif <-> lif1.w_rec`,
  `lif2.lif <-> lif2.w_rec`; names_rnn2_layers: the same with ModuleList-style names `layers.0.lif`,
  `layers.0.w_rec`, `layers.1.lif`, `layers.1.w_rec` (both blocks share the prefix before the first '.').
* conv_if_a: (2, 8, 8) -> Conv2d(2->4, 3x3, pad 1) -> IF(theta 2) -> SumPool2d(2) ->
  Flatten -> Affine(64->5) -> IF(theta 3); conv_if_b: (2, 8, 8) -> Conv2d(2->3, 3x3, pad 1)
  -> IF(theta 2) -> Conv2d(3->2, 3x3, stride 2, pad 1) -> IF(theta 3). Integer weights,
  biases and thresholds, binary input: every sum is an exact float32 integer and often
  equals the threshold (`>` vs `>=`, multi-spike counts).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import nir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DT, GRAPH_CASES, GRAPHS, random_input  # noqa: E402

F = np.float32


def affine(rng, n_out, n_in, lo=-0.3, hi=1.0, bias=0.05):
    w = rng.uniform(lo, hi, (n_out, n_in)).astype(F)
    b = rng.uniform(-bias, bias, (n_out,)).astype(F)
    return nir.Affine(weight=w, bias=b)


def lif(rng, n, r_one=False, v_leak=None):
    tau = rng.uniform(5e-4, 1e-3, n).astype(F)
    r = np.ones(n, F) if r_one else (tau / F(DT)).astype(F)
    vl = np.zeros(n, F) if v_leak is None else rng.uniform(*v_leak, n).astype(F)
    return nir.LIF(tau=tau, r=r, v_leak=vl, v_threshold=np.ones(n, F))


def cubalif(rng, n, v_leak=None):
    tau_mem = rng.uniform(1e-3, 2e-3, n).astype(F)
    tau_syn = rng.uniform(2e-4, 5e-4, n).astype(F)
    vl = np.zeros(n, F) if v_leak is None else rng.uniform(*v_leak, n).astype(F)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=(tau_mem / F(DT)).astype(F),
                       v_leak=vl, v_threshold=np.ones(n, F),
                       w_in=(tau_syn / F(DT)).astype(F))


def if_(rng, n):
    return nir.IF(r=np.ones(n, F), v_threshold=np.ones(n, F))


def io(n_in, n_out):
    return {"input": nir.Input(input_type={"input": np.array([n_in])}),
            "output": nir.Output(output_type={"output": np.array([n_out])})}


def chain(neuron, seed, scale1=1.0, scale2=1.0):
    rng = np.random.default_rng(seed)
    fc1 = affine(rng, 4, 3)
    fc1.weight *= F(scale1)
    n1 = neuron(rng, 4)
    fc2 = affine(rng, 2, 4)
    fc2.weight *= F(scale2)
    n2 = neuron(rng, 2)
    nodes = {"fc1": fc1, "lif1": n1, "fc2": fc2, "lif2": n2, **io(3, 2)}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def lif_r1(rng, n):
    return lif(rng, n, r_one=True)


def diamond(seed, scale_in=5.0, scale=10.0):
    """input -> fc1 -> lif1 -> {fc_a -> lif_a, fc_b -> lif_b} -> (both) -> fc_join -> lif_out.

    The join is one Affine node with two in-edges: NIR sums the in-edges of a node,
    so fc_join receives lif_a + lif_b (both of shape 3).
    """
    rng = np.random.default_rng(seed)
    nodes = {
        "fc1": affine(rng, 4, 3), "lif1": lif_r1(rng, 4),
        "fc_a": affine(rng, 3, 4), "lif_a": lif_r1(rng, 3),
        "fc_b": affine(rng, 3, 4), "lif_b": lif_r1(rng, 3),
        "fc_join": affine(rng, 2, 3), "lif_out": lif_r1(rng, 2),
        **io(3, 2),
    }
    nodes["fc1"].weight *= F(scale_in)
    for k in ("fc_a", "fc_b", "fc_join"):
        nodes[k].weight *= F(scale)
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc_a"), ("lif1", "fc_b"),
             ("fc_a", "lif_a"), ("fc_b", "lif_b"), ("lif_a", "fc_join"),
             ("lif_b", "fc_join"), ("fc_join", "lif_out"), ("lif_out", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def recurrent(seed):
    """Braille-like: input -> fc1 -> lif1.lif <-> lif1.w_rec, lif1.lif -> fc2 -> lif2 -> output."""
    rng = np.random.default_rng(seed)
    w_rec = affine(rng, 5, 5, lo=-0.4, hi=0.4, bias=0.02)
    np.fill_diagonal(w_rec.weight, 0.0)
    nodes = {"fc1": affine(rng, 5, 3, lo=-0.2, hi=0.6), "lif1.lif": cubalif(rng, 5),
             "lif1.w_rec": w_rec, "fc2": affine(rng, 2, 5, lo=-0.2, hi=0.6),
             "lif2": cubalif(rng, 2), **io(3, 2)}
    edges = [("input", "fc1"), ("fc1", "lif1.lif"), ("lif1.lif", "lif1.w_rec"),
             ("lif1.w_rec", "lif1.lif"), ("lif1.lif", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


# roles of a recurrent graph: input, Affine in, neuron, w_rec, Affine out, neuron out, output
RNN_NAMES = {
    "late": ("input", "lin1", "lif1.lif", "lif1.w_rec", "lin2", "lif2", "output"),
    "braille": ("input", "fc1", "lif1.lif", "lif1.w_rec", "fc2", "lif2", "output"),
    "in": ("in", "fc1", "lif1.lif", "lif1.w_rec", "fc2", "lif2", "out"),
    "a_input": ("a_input", "fc1", "lif1.lif", "lif1.w_rec", "fc2", "lif2", "output"),
    "dotted": ("input", "layer.0.fc", "layer.1.rec.lif", "layer.1.rec.w_rec", "2", "3.lif", "output"),
}
# roles of a chain: input, fc1, lif1, fc2, lif2, output (the names of chain())
CHAIN_ROLES = ("input", "fc1", "lif1", "fc2", "lif2", "output")
CHAIN_NAMES = {
    "in": ("in", "fc1", "lif1", "fc2", "lif2", "out"),
    "digits": ("input", "0.fc", "0.lif", "1.fc", "1.lif", "output"),
    "collide": ("input", "l.1", "l_1", "l.2", "l_2", "output"),
}


def rnn(seed, n_in, n_hid, n_out, neuron="cubalif", v_leak=None, names="late", in_scale=1.0, out_scale=1.0):
    """input -> Affine -> neuron <-> Affine w_rec (bias != 0) -> Affine -> neuron -> output."""
    rng = np.random.default_rng(seed)
    inp, fc1, lif1, wrec, fc2, lif2, out = RNN_NAMES[names]
    w_in = affine(rng, n_hid, n_in, lo=-0.2, hi=0.5, bias=0.015)
    w_rec = affine(rng, n_hid, n_hid, lo=-0.3, hi=0.3, bias=0.015)
    w_out = affine(rng, n_out, n_hid, lo=-0.3, hi=0.4, bias=0.015)
    w_in.weight *= F(in_scale)
    w_out.weight *= F(out_scale)
    if neuron == "cubalif":
        n1, n2 = cubalif(rng, n_hid, v_leak), cubalif(rng, n_out, v_leak)
    else:
        n1, n2 = lif(rng, n_hid, v_leak=v_leak), lif(rng, n_out, v_leak=v_leak)
    nodes = {inp: nir.Input(input_type={"input": np.array([n_in])}), fc1: w_in, lif1: n1, wrec: w_rec,
             fc2: w_out, lif2: n2, out: nir.Output(output_type={"output": np.array([n_out])})}
    edges = [(inp, fc1), (fc1, lif1), (lif1, wrec), (wrec, lif1), (lif1, fc2), (fc2, lif2), (lif2, out)]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def rnn2(seed, names=("input", "lin1", "lif1.lif", "lif1.w_rec", "lin2", "lif2.lif", "lif2.w_rec", "output")):
    """Two stacked recurrent CubaLIF layers: input -> Affine -> n1 <-> w_rec1 -> Affine -> n2 <-> w_rec2 -> output."""
    rng = np.random.default_rng(seed)
    inp, fc1, l1, w1, fc2, l2, w2, out = names
    nodes = {inp: nir.Input(input_type={"input": np.array([3])}),
             fc1: affine(rng, 5, 3, lo=-0.2, hi=0.5, bias=0.015), l1: cubalif(rng, 5),
             w1: affine(rng, 5, 5, lo=-0.3, hi=0.3, bias=0.015),
             fc2: affine(rng, 4, 5, lo=-0.3, hi=0.2, bias=0.01), l2: cubalif(rng, 4),
             w2: affine(rng, 4, 4, lo=-0.3, hi=0.3, bias=0.015),
             out: nir.Output(output_type={"output": np.array([4])})}
    edges = [(inp, fc1), (fc1, l1), (l1, w1), (w1, l1), (l1, fc2), (fc2, l2), (l2, w2), (w2, l2), (l2, out)]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def rename(g, old, new):
    """The same graph (same node objects, same edge order) under other node names."""
    m = dict(zip(old, new))
    return nir.NIRGraph(nodes={m.get(k, k): v for k, v in g.nodes.items()},
                        edges=[(m.get(a, a), m.get(b, b)) for a, b in g.edges])


def conv_if(seed, variant):
    """Integer conv + IF graphs (see the module docstring)."""
    rng = np.random.default_rng(seed)

    def conv(c_out, c_in, hw, stride=1, lo=-1, hi=2):
        w = rng.integers(lo, hi + 1, (c_out, c_in, 3, 3)).astype(F)
        b = rng.integers(-1, 1, c_out).astype(F)
        return nir.Conv2d(input_shape=np.array(hw), weight=w, stride=np.array([stride, stride]),
                          padding=np.array([1, 1]), dilation=np.array([1, 1]), groups=1, bias=b)

    def if_layer(shape, theta):
        return nir.IF(r=np.ones(shape, F), v_threshold=np.full(shape, theta, F))

    inp = nir.Input(input_type={"input": np.array([2, 8, 8])})
    if variant == "a":
        fc = nir.Affine(weight=rng.integers(-1, 2, (5, 64)).astype(F), bias=np.zeros(5, F))
        nodes = {"input": inp, "conv1": conv(4, 2, (8, 8)), "if1": if_layer((4, 8, 8), 2.0),
                 "pool1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                        padding=np.array([0, 0])),
                 "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
                 "fc2": fc, "if2": if_layer((5,), 3.0),
                 "output": nir.Output(output_type={"output": np.array([5])})}
        edges = [("input", "conv1"), ("conv1", "if1"), ("if1", "pool1"), ("pool1", "flat"),
                 ("flat", "fc2"), ("fc2", "if2"), ("if2", "output")]
    else:
        nodes = {"input": inp, "conv1": conv(3, 2, (8, 8)), "if1": if_layer((3, 8, 8), 2.0),
                 "conv2": conv(2, 3, (8, 8), stride=2), "if2": if_layer((2, 4, 4), 3.0),
                 "output": nir.Output(output_type={"output": np.array([2, 4, 4])})}
        edges = [("input", "conv1"), ("conv1", "if1"), ("if1", "conv2"), ("conv2", "if2"),
                 ("if2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def build(case):
    if case.startswith("names_rnn_"):
        return rename(build("rnn_a"), RNN_NAMES["late"], RNN_NAMES[case[len("names_rnn_"):]])
    if case == "names_rnn2_layers":  # ModuleList-style names: both blocks share the prefix "layers"
        return rename(build("rnn2"), ("lif1.lif", "lif1.w_rec", "lif2.lif", "lif2.w_rec"),
                      ("layers.0.lif", "layers.0.w_rec", "layers.1.lif", "layers.1.w_rec"))
    if case.startswith("names_chain_"):
        return rename(build("lif_chain_r1"), CHAIN_ROLES, CHAIN_NAMES[case[len("names_chain_"):]])
    new = {"rnn_a": lambda: rnn(21, 3, 6, 2), "rnn_b": lambda: rnn(22, 4, 8, 3),
           "rnn_c": lambda: rnn(23, 2, 4, 2), "rnn_lif": lambda: rnn(24, 3, 5, 2, neuron="lif", in_scale=3.0, out_scale=3.0),
           "vleak_lif": lambda: chain(lambda r, n: lif(r, n, r_one=True, v_leak=(-0.5, 0.9)), 25, 5.0, 12.0),
           "vleak_cuba": lambda: chain(lambda r, n: cubalif(r, n, v_leak=(-0.06, 0.06)), 26, 0.4, 0.4),
           "vleak_rnn": lambda: rnn(27, 3, 6, 2, v_leak=(-0.06, 0.06), out_scale=2.0),
           "conv_if_a": lambda: conv_if(28, "a"), "conv_if_b": lambda: conv_if(29, "b"),
           "rnn2": lambda: rnn2(30)}
    if case in new:
        return new[case]()
    seed = {"lif_chain": 7, "cubalif_chain": 8, "if_chain": 9, "diamond": 10,
            "recurrent": 11, "lif_chain_r1": 12}[case]
    if case == "lif_chain":
        return chain(lif, seed, 1.0, 1.6)
    if case == "lif_chain_r1":
        return chain(lif_r1, seed, 5.0, 12.0)
    if case == "cubalif_chain":
        return chain(cubalif, seed, 0.4, 0.4)
    if case == "if_chain":
        return chain(if_, seed, 0.7, 0.7)
    if case == "diamond":
        return diamond(seed)
    if case == "recurrent":
        return recurrent(seed)
    raise KeyError(case)


# ---------------------------------------------------------------- tuning check
def _conv2d(x, n):
    """(B, C, H, W) NIR Conv2d (cross-correlation, symmetric zero padding), numpy."""
    w = np.asarray(n.weight, np.float64)
    (ph, pw), (sh, sw) = np.broadcast_to(n.padding, 2), np.broadcast_to(n.stride, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[-2:]
    H = (xp.shape[2] - kh) // sh + 1
    W = (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], H, W))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * H:sh, j:j + sw * W:sw]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out + np.asarray(n.bias).reshape(1, -1, 1, 1)


def _sumpool(x, n):
    k = int(np.asarray(n.kernel_size).reshape(-1)[0])
    B, C, H, W = x.shape
    return x.reshape(B, C, H // k, k, W // k, k).sum((3, 5))


def simulate(g, x, use_r=True):
    """Plain forward Euler, same-step edges, back edges +1, reset to 0, v > theta
    (a tuning aid only: it shows that every layer of a graph is active)."""
    order, seen = [], set()
    preds = {k: [s for s, d in g.edges if d == k] for k in g.nodes}

    def visit(k, stack=()):
        if k in seen or k in stack:
            return
        for p in preds[k]:
            visit(p, stack + (k,))
        seen.add(k)
        order.append(k)
    for k in g.nodes:
        visit(k)
    T, B = x.shape[:2]
    def zeros(n):  # previous-step outputs (read by back edges); conv shapes are not needed
        shape = next(iter((n.output_type or {None: None}).values()))
        return 0.0 if shape is None else np.zeros((B, *[int(v) for v in shape]))
    out = {k: zeros(n) for k, n in g.nodes.items()}
    state = {}
    counts = {k: 0 for k, n in g.nodes.items() if isinstance(n, (nir.LIF, nir.CubaLIF, nir.IF))}
    for t in range(T):
        new = {}
        for k in order:
            n = g.nodes[k]
            if isinstance(n, nir.Input):
                new[k] = x[t]
                continue
            inp = sum(new[p] if p in new else out[p] for p in preds[k])
            if isinstance(n, nir.Output):
                new[k] = inp
            elif isinstance(n, nir.Affine):
                new[k] = inp @ n.weight.T + n.bias
            elif isinstance(n, nir.Conv2d):
                new[k] = _conv2d(inp, n)
            elif isinstance(n, nir.SumPool2d):
                new[k] = _sumpool(inp, n)
            elif isinstance(n, nir.Flatten):
                new[k] = inp.reshape(inp.shape[0], -1)
            elif isinstance(n, nir.LIF):
                v = state.get(k, n.v_leak)
                r = n.r if use_r else 1.0
                v = v + DT / n.tau * (n.v_leak - v + r * inp)
                s = (v > n.v_threshold).astype(F)
                state[k] = np.where(s > 0, 0.0, v)
                new[k] = s
            elif isinstance(n, nir.IF):
                v = state.get(k, 0.0) + n.r * inp
                s = (v > n.v_threshold).astype(F)
                state[k] = np.where(s > 0, 0.0, v)
                new[k] = s
            elif isinstance(n, nir.CubaLIF):
                i, v = state.get(k, (0.0, n.v_leak))
                w_in, r = (n.w_in, n.r) if use_r else (1.0, 1.0)
                i = i + DT / n.tau_syn * (-i + w_in * inp)
                v = v + DT / n.tau_mem * (n.v_leak - v + r * i)
                s = (v > n.v_threshold).astype(F)
                state[k] = (i, np.where(s > 0, 0.0, v))
                new[k] = s
            if k in counts:
                counts[k] += int(new[k].sum())
        out = new
    return counts


def same_graph(a, b) -> list:
    """Differences between two NIR graphs (names, types, edges, every parameter array)."""
    diffs = []
    if set(a.nodes) != set(b.nodes):
        return [f"node names {sorted(a.nodes)} != {sorted(b.nodes)}"]
    if sorted(map(tuple, a.edges)) != sorted(map(tuple, b.edges)):
        diffs.append("edges differ")
    for k in a.nodes:
        na, nb = a.nodes[k], b.nodes[k]
        if type(na) is not type(nb):
            diffs.append(f"{k}: {type(na).__name__} != {type(nb).__name__}")
            continue
        for f, va in vars(na).items():
            if f in ("input_type", "output_type", "metadata") or isinstance(va, dict):
                continue
            vb = getattr(nb, f, None)
            if not np.array_equal(np.asarray(va), np.asarray(vb)):
                diffs.append(f"{k}.{f} differs")
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="print Euler spike counts")
    ap.add_argument("--verify", action="store_true",
                    help="rebuild every graph and compare it with the committed file (writes nothing)")
    args = ap.parse_args()
    GRAPHS.mkdir(parents=True, exist_ok=True)
    bad = 0
    for case in GRAPH_CASES:
        g = build(case)
        path = GRAPHS / f"{case}.nir"
        if args.verify:
            diffs = same_graph(g, nir.read(str(path))) if path.exists() else ["missing"]
            bad += bool(diffs)
            print(f"{path.name}: {'OK' if not diffs else 'DIFFERS: ' + '; '.join(diffs)}")
            continue
        if path.exists() and not same_graph(g, nir.read(str(path))):
            msg = f"{path.name}: unchanged (HDF5 files are not byte-reproducible: not rewritten)"
        else:
            nir.write(str(path), g)
            g2 = nir.read(str(path))
            assert not same_graph(g, g2), same_graph(g, g2)
            msg = f"wrote {path.name} (nir {nir.__version__})"
        if args.check:
            x = random_input(case)
            msg += f"\n   euler r applied: {simulate(g, x, True)}"
            msg += f"\n   euler r ignored: {simulate(g, x, False)}"
        print(msg)
    if bad:
        sys.exit(f"{bad} graph file(s) differ from make_graphs.py")


if __name__ == "__main__":
    main()
