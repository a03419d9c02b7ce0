"""Loading: files through the nir package, nested graphs, parameters as a pytree, and
one test per kind of bad input (each error names what is wrong)."""

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest
from conftest import paper_pulse_input

import nirjax


def one(v):
    return np.array([v], dtype=float)


def lif(theta=1.0, tau=0.01):
    return nir.LIF(tau=one(tau), r=one(1.0), v_leak=one(0.0), v_threshold=one(theta), v_reset=one(0.0))


def chain(*mid, n=1):
    nodes = {"input": nir.Input(np.array([n])), "output": nir.Output(np.array([n]))}
    names = []
    for i, m in enumerate(mid):
        nodes[f"n{i}"] = m
        names.append(f"n{i}")
    path = ["input"] + names + ["output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(path[:-1], path[1:])))


def test_load_paper_file_and_graph_object(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    assert set(g.nodes) == {"0", "1"} and g.inputs == ("input",) and g.outputs == ("output",)
    g2 = nirjax.load(nir.read(paper / "01_lif" / "lif_norse.nir"))
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), g, g2))


def test_legacy_rockpool_file_loads_with_note(paper):
    with pytest.raises(ValueError):
        nir.read(paper / "01_lif" / "lif_rockpool.nir")  # nir's own type check rejects it
    g = nirjax.load(paper / "01_lif" / "lif_rockpool.nir")
    assert any("(1, 1, 1)" in n for n in g.notes)
    sol = nirjax.simulate(g, {"input": paper_pulse_input()}, dt=1e-4)
    assert sol.spike_counts["1_LIFNeuronTorch"].shape == (1,)


def test_params_are_a_pytree(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    g2 = eqx.tree_at(lambda g: g.nodes["1"].tau, g, g.nodes["1"].tau * 2)
    assert float(g2.nodes["1"].tau[0]) == 2 * float(g.nodes["1"].tau[0])
    taus = jnp.linspace(1e-3, 5e-3, 4)
    batched = jax.vmap(lambda t: eqx.tree_at(lambda g: g.nodes["1"].tau, g, t[None]))(taus)
    assert batched.nodes["1"].tau.shape == (4, 1)
    leaves = jax.tree.leaves(g)
    assert all(isinstance(x, jax.Array) for x in leaves)


def test_nested_subgraph_is_inlined():
    inner = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1])), "lif": lif(), "w": nir.Linear(weight=np.array([[0.3]])),
               "out": nir.Output(np.array([1]))},
        edges=[("in", "lif"), ("lif", "w"), ("w", "lif"), ("lif", "out")],
    )
    outer = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "sub": inner, "output": nir.Output(np.array([1]))},
        edges=[("input", "sub"), ("sub", "output")],
    )
    flat = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "lif": lif(), "w": nir.Linear(weight=np.array([[0.3]])),
               "output": nir.Output(np.array([1]))},
        edges=[("input", "lif"), ("lif", "w"), ("w", "lif"), ("lif", "output")],
    )
    g = nirjax.load(outer)
    assert "sub.lif" in g.nodes and "sub.w" in g.nodes
    x = np.full((300, 1), 5.0)
    a = nirjax.simulate(g, {"input": x}, dt=1e-4, spike_area=1e-3)
    b = nirjax.simulate(nirjax.load(flat), {"input": x}, dt=1e-4, spike_area=1e-3)
    np.testing.assert_array_equal(np.asarray(a.spike_times["sub.lif"]), np.asarray(b.spike_times["lif"]))
    assert int(a.spike_counts["sub.lif"][0]) > 3


def test_spike_area_hint_for_exported_graphs(paper):
    with pytest.warns(nirjax.SpikeAreaHint, match=r"spike_area=0\.0001"):
        g = nirjax.load(paper / "03_rnn" / "braille_noDelay_bias_zero.nir")
    assert g.suggested_spike_area == pytest.approx(1e-4)
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")  # r = 1: no hint (filterwarnings=error)
    assert g.suggested_spike_area is None


# -- bad input ---------------------------------------------------------------------------
def test_unknown_node_type(tmp_path, paper):
    p = tmp_path / "unknown.nir"
    with h5py.File(paper / "01_lif" / "lif_norse.nir") as src, h5py.File(p, "w") as dst:
        src.copy("node", dst)
        dst["version"] = src["version"][()]
        del dst["node/nodes/1/type"]
        dst["node/nodes/1/type"] = b"Izhikevich"
    with pytest.raises(nirjax.UnknownNodeError, match="'1'.*'Izhikevich'.*Known NIR types"):
        nirjax.load(p)


def test_dangling_edge_in_the_papers_subgraph_file(paper):
    with pytest.raises(nirjax.DanglingEdgeError, match=r"subgraph 'lif1'.*'lif'.*Did you mean 'lif1'"):
        nirjax.load(paper / "03_rnn" / "braille_noDelay_bias_zero_subgraph.nir")


def test_dangling_edge_in_graph_object():
    g = chain(lif())
    g.edges.append(("n0", "nowhere"))
    with pytest.raises(nirjax.DanglingEdgeError, match="'nowhere'"):
        nirjax.load(g)


def test_shape_mismatch():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "w": nir.Linear(weight=np.ones((2, 3))),
               "lif": nir.LIF(tau=np.ones(4), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
               "output": nir.Output(np.array([4]))},
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
        type_check=False,
    )
    with pytest.raises(nirjax.ShapeMismatchError, match=r"'w' -> 'lif'.*\(2,\).*\(4,\)"):
        nirjax.load(g)


@pytest.mark.parametrize("tau", [0.0, -1e-3])
def test_non_positive_time_constant(tau):
    with pytest.raises(nirjax.ParameterError, match=rf"'n0'.*'tau' = {tau}.*> 0"):
        nirjax.load(chain(lif(tau=tau)))


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_time_constant_and_weight(bad):
    with pytest.raises(nirjax.ParameterError, match="'n0'.*'tau'.*non-finite"):
        nirjax.load(chain(lif(tau=bad)))
    with pytest.raises(nirjax.ParameterError, match="'n0'.*'weight'.*non-finite"):
        nirjax.load(chain(nir.Linear(weight=np.array([[bad]])), lif()))


def test_algebraic_loop():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "a": nir.Linear(weight=np.array([[0.5]])),
               "b": nir.Affine(weight=np.array([[0.5]]), bias=one(0.1)), "lif": lif(), "output": nir.Output(np.array([1]))},
        edges=[("input", "a"), ("a", "b"), ("b", "a"), ("b", "lif"), ("lif", "output")],
    )
    with pytest.raises(nirjax.AlgebraicLoopError, match="'?a'? -> 'b'|a -> b -> a|b -> a -> b"):
        nirjax.load(g)


def test_missing_input_and_output():
    g = chain(lif())
    del g.nodes["input"]
    g.edges.remove(("input", "n0"))
    with pytest.raises(nirjax.MissingPortError, match="no Input"):
        nirjax.load(g)
    g = chain(lif())
    del g.nodes["output"]
    g.edges.remove(("n0", "output"))
    with pytest.raises(nirjax.MissingPortError, match="no Output"):
        nirjax.load(g)


def test_corrupt_and_non_hdf5_files(tmp_path, paper):
    text = tmp_path / "notes.nir"
    text.write_text("this is not HDF5")
    with pytest.raises(nirjax.NIRFileError, match="not a readable HDF5 file"):
        nirjax.load(text)
    cut = tmp_path / "cut.nir"
    cut.write_bytes((paper / "01_lif" / "lif_norse.nir").read_bytes()[:3000])
    with pytest.raises(nirjax.NIRFileError, match="cut.nir"):
        nirjax.load(cut)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(nirjax.NIRFileError, match="not a NIR graph"):
        nirjax.load(other)
    with pytest.raises(nirjax.NIRFileError, match="No such file"):
        nirjax.load(tmp_path / "missing.nir")


def test_bad_simulate_arguments(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    x = paper_pulse_input()
    with pytest.raises(ValueError, match="1000 steps.*needs 500"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, t1=0.05)
    with pytest.raises(nirjax.MissingPortError, match="Unknown input.*'inp'"):
        nirjax.simulate(g, {"inp": x}, dt=1e-4)
    with pytest.raises(ValueError, match=r"shape \(steps, \*\(1,\)\)"):
        nirjax.simulate(g, {"input": np.zeros((10, 3))}, dt=1e-4)
    with pytest.raises(ValueError, match=r"must lie in \[t0, t1\)"):
        nirjax.simulate(g, {"input": nirjax.Spikes.from_lists([[0.2]])}, dt=1e-4, t1=0.1)
    with pytest.raises(ValueError, match="reset must be"):
        nirjax.simulate(g, {"input": x}, dt=1e-4, reset="zero-ish")
