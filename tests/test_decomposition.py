"""The decomposed exact solver against the global event loop, and the plan it follows."""

import json
import os
import pathlib
import subprocess
import sys

import nir
import numpy as np

import nirjax
from nirjax.solvers import plan

# Every graph of the test suite runs in tests/_decomposition_check.py; by default a subset with
# one case of each kind (the full list compiles ~90 programs: NIRJAX_FULL_CHECK=1).
SUBSET = ["paper_lif", "braille_noDelay_noBias_subtract", "cnn", "cubalif_chain", "diamond", "rnn_c",
          "lif_chain/spikes", "delay", "delay_cycle", "threshold", "cascade_subtract", "cuba_selfloop", "random_1",
          "random_3"]


def test_decomposed_equals_global_loop(paper):
    """Same spike counts, spike times to float rounding, same per-step rasters, states and
    final states to rounding, on the paper's graphs, the parity graphs (dense and spike
    inputs), the unit tests' graphs (Delay outside and inside a cycle, Threshold, same-instant
    cascades under both resets, a recurrent CubaLIF) and random feed-forward / recurrent nets."""
    env = {**os.environ, "XLA_FLAGS": "--xla_backend_optimization_level=0", "NIRJAX_SHARED": str(paper.parent)}
    script = pathlib.Path(__file__).with_name("_decomposition_check.py")
    args = [] if os.environ.get("NIRJAX_FULL_CHECK") else SUBSET
    res = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=3000)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(rows) >= len(SUBSET)
    spikes = 0
    for r in rows:
        assert r["result"] == [0, 0], r
        assert r["count_diff"] == 0 and r["raster_diff"] == 0, r
        assert r["time_diff"] < 1e-12, r
        assert r["state_diff"] < 1e-9, r
        spikes += r["spikes"]
    assert spikes > 5000


def _graph(nodes, edges):
    return nirjax.load(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), warn=False)


def lif(n):
    return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def test_plan_components(paper):
    """Strongly connected components of the neuron/Delay graph, upstream first: a node with a
    self-connection or a cycle of nodes is joint, a feed-forward node parallel, a Delay joint."""
    g = nirjax.load(paper / "03_rnn" / "braille_noDelay_bias_zero.nir", warn=False)
    comps = plan(g, ("input",), ())
    assert [(c.nodes, c.mode) for c in comps] == [(("lif1.lif",), "joint"), (("lif2",), "parallel")]
    assert comps[1].impulse_sources == ("lif1.lif",) and comps[0].dense_inputs == ("input",)
    g = _graph({"input": nir.Input(np.array([2])), "a": lif(2), "wab": nir.Linear(weight=np.eye(2)), "b": lif(2),
                "wba": nir.Linear(weight=np.eye(2)), "c": lif(2), "wc": nir.Linear(weight=np.eye(2)),
                "d": nir.Delay(delay=np.full(2, 1e-3)), "e": lif(2), "output": nir.Output(np.array([2]))},
               [("input", "a"), ("a", "wab"), ("wab", "b"), ("b", "wba"), ("wba", "a"), ("b", "wc"), ("wc", "c"),
                ("c", "d"), ("d", "e"), ("e", "output")])
    comps = plan(g, (), ("input",))
    assert [(c.nodes, c.mode) for c in comps] == [(("a", "b"), "joint"), (("c",), "parallel"), (("d",), "joint"),
                                                   (("e",), "parallel")]
    assert comps[0].impulse_sources == ("input",) and comps[3].impulse_sources == ("d",)
    assert [c.mode for c in plan(g, (), ("input",), decompose=False)] == ["joint"]
