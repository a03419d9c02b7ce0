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
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import nir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DT, GRAPHS, RANDOM_CASES, random_input  # noqa: E402

F = np.float32


def affine(rng, n_out, n_in, lo=-0.3, hi=1.0, bias=0.05):
    w = rng.uniform(lo, hi, (n_out, n_in)).astype(F)
    b = rng.uniform(-bias, bias, (n_out,)).astype(F)
    return nir.Affine(weight=w, bias=b)


def lif(rng, n, r_one=False):
    tau = rng.uniform(5e-4, 1e-3, n).astype(F)
    r = np.ones(n, F) if r_one else (tau / F(DT)).astype(F)
    return nir.LIF(tau=tau, r=r, v_leak=np.zeros(n, F),
                   v_threshold=np.ones(n, F))


def cubalif(rng, n):
    tau_mem = rng.uniform(1e-3, 2e-3, n).astype(F)
    tau_syn = rng.uniform(2e-4, 5e-4, n).astype(F)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=(tau_mem / F(DT)).astype(F),
                       v_leak=np.zeros(n, F), v_threshold=np.ones(n, F),
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


def build(case):
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
def simulate(g, x, use_r=True):
    """Plain forward Euler, same-step edges, back edges +1, reset to 0, v > theta."""
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
    out = {k: np.zeros((B, *([int(v) for v in next(iter(n.output_type.values()))])), F)
           for k, n in g.nodes.items()}
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
            elif isinstance(n, nir.LIF):
                v = state.get(k, 0.0)
                r = n.r if use_r else 1.0
                v = v + DT / n.tau * (-v + r * inp)
                s = (v > n.v_threshold).astype(F)
                state[k] = np.where(s > 0, 0.0, v)
                new[k] = s
            elif isinstance(n, nir.IF):
                v = state.get(k, 0.0) + n.r * inp
                s = (v > n.v_threshold).astype(F)
                state[k] = np.where(s > 0, 0.0, v)
                new[k] = s
            elif isinstance(n, nir.CubaLIF):
                i, v = state.get(k, (0.0, 0.0))
                w_in, r = (n.w_in, n.r) if use_r else (1.0, 1.0)
                i = i + DT / n.tau_syn * (-i + w_in * inp)
                v = v + DT / n.tau_mem * (-v + r * i)
                s = (v > n.v_threshold).astype(F)
                state[k] = (i, np.where(s > 0, 0.0, v))
                new[k] = s
            if k in counts:
                counts[k] += int(new[k].sum())
        out = new
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="print Euler spike counts")
    args = ap.parse_args()
    GRAPHS.mkdir(parents=True, exist_ok=True)
    for case in RANDOM_CASES:
        g = build(case)
        path = GRAPHS / f"{case}.nir"
        nir.write(str(path), g)
        g2 = nir.read(str(path))
        assert set(g2.nodes) == set(g.nodes)
        msg = f"wrote {path.name} (nir {nir.__version__})"
        if args.check:
            x = random_input(case)
            msg += f"\n   euler r applied: {simulate(g, x, True)}"
            msg += f"\n   euler r ignored: {simulate(g, x, False)}"
        print(msg)


if __name__ == "__main__":
    main()
