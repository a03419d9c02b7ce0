"""Writing graphs back to .nir: a round trip keeps the meaning (and trained parameters)."""

import equinox as eqx
import jax
import nir
import numpy as np
import pytest
from conftest import paper_pulse_input

import nirjax


@pytest.mark.parametrize("rel", ["01_lif/lif_norse.nir", "01_lif/lif_rockpool.nir", "02_cnn/cnn_sinabs.nir",
                                 "03_rnn/braille_noDelay_noBias_subtract.nir"])
def test_round_trip(paper, tmp_path, rel):
    g = nirjax.load(paper / rel, warn=False)
    path = tmp_path / "out.nir"
    nirjax.save(g, path)
    nir.read(path)  # the written file passes nir's own type check
    g2 = nirjax.load(path, warn=False)
    assert set(g2.nodes) == set(g.nodes)
    assert g2.predecessors == g.predecessors and g2.map_order == g.map_order
    for n in g.nodes:
        la = [np.asarray(x) for x in jax.tree.leaves(g.nodes[n])]
        lb = [np.asarray(x) for x in jax.tree.leaves(g2.nodes[n])]
        assert len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb)), n
        assert g.nodes[n].in_shape == g2.nodes[n].in_shape and g.nodes[n].out_shape == g2.nodes[n].out_shape


def test_trained_parameters_are_written(paper, tmp_path):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    g = eqx.tree_at(lambda g: g.nodes["1"].tau, g, g.nodes["1"].tau * 0.5)
    nirjax.save(g, tmp_path / "t.nir")
    g2 = nirjax.load(tmp_path / "t.nir")
    x = paper_pulse_input()
    a = nirjax.simulate(g, {"input": x}, dt=1e-4)
    b = nirjax.simulate(g2, {"input": x}, dt=1e-4)
    np.testing.assert_array_equal(np.asarray(a.spike_times["1"]), np.asarray(b.spike_times["1"]))
    assert float(g2.nodes["1"].tau[0]) == float(g.nodes["1"].tau[0])


def test_nested_ports_are_bypassed(tmp_path):
    one = lambda v: np.array([v], float)  # noqa: E731
    inner = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1])),
               "lif": nir.LIF(tau=one(0.01), r=one(1.0), v_leak=one(0.0), v_threshold=one(1.0), v_reset=one(0.0)),
               "out": nir.Output(np.array([1]))},
        edges=[("in", "lif"), ("lif", "out")],
    )
    outer = nir.NIRGraph(nodes={"input": nir.Input(np.array([1])), "sub": inner, "output": nir.Output(np.array([1]))},
                         edges=[("input", "sub"), ("sub", "output")])
    g = nirjax.load(outer)
    out = nirjax.to_nir(g)
    assert set(out.nodes) == {"input", "sub.lif", "output"}
    assert sorted(out.edges) == [("input", "sub.lif"), ("sub.lif", "output")]
