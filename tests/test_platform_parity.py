"""Parity of the platform models with the real frameworks' recorded outputs
(tests/golden/, recorded by tests/parity/record_*.py; versions in each manifest).

Spikes must be identical at every step; voltages (native units) agree within
``TOL[fw]`` relative (absolute below 1): the goldens are float32 runs, and the
model runs in float32 too, but summation order and FMA differ. Sinabs' whole-
sequence layers subtract several thresholds from large inputs, so float32
cancellation leaves ~3e-5; these are the measured float32 floors, not model
error (a float64 model run gives the same numbers).
"""

import numpy as np
import pytest

import nirjax

import _parity as P
from conftest import SHARED

TOL = {"snntorch": 1e-6, "norse": 2e-6, "spyx": 3e-6, "rockpool": 7e-6, "sinabs": 5e-5, "nengo": 1e-6,
       "xylosim": 0.0}
# the CNN: conv sums of up to 400 float32 products, added in another order by torch and
# XLA, accumulated over 30 steps (the float64 model is 2.1e-6 from Norse's float32 run)
CASE_TOL = {("norse", "cnn"): 5e-6}
CASES = [pytest.param(fw, c, id=f"{fw}-{c}") for fw in P.PLATFORM for c in P.recorded_cases(fw)]


@pytest.mark.parametrize("fw,case", CASES)
def test_platform_matches_golden(fw, case):
    z, sol, net = P.run_case(fw, case, SHARED, dtype="float32")
    res = P.compare(z, sol, net)
    assert res, "no neuron recorded"
    for node, (mism, verr) in res.items():
        assert mism == 0, f"{fw}/{case}/{node}: {mism} spike mismatches"
        if verr is not None:
            tol = CASE_TOL.get((fw, case), TOL[fw])
            assert verr <= tol, f"{fw}/{case}/{node}: voltage error {verr:.3g} > {tol}"


NEGATIVE = [("norse", "lif_paper"), ("snntorch", "lif_paper"), ("spyx", "lif_paper"), ("sinabs", "lif_paper_config"),
            ("norse", "cubalif_chain"), ("rockpool", "cubalif_chain")]


@pytest.mark.parametrize("fw,case", NEGATIVE, ids=[f"{f}-{c}" for f, c in NEGATIVE])
def test_ideal_model_does_not_match_golden(fw, case):
    """Negative control: the ideal (exact, event-driven) model run on the same input
    must differ from the framework (in spikes or in NIR-unit voltages)."""
    z = np.load(P.GOLDEN / fw / f"{case}.npz")
    net = P.load_graph(P.graph_path(fw, case, SHARED))
    opts = dict(P.CASE_OPTIONS.get((fw, case), {}))
    prog = nirjax.compile_platform(net, P.PLATFORM[fw], dt=1e-4, **opts)
    x = np.asarray(z["input"][:, 0], dtype=np.float64)
    ideal = nirjax.simulate(net, x, dt=1e-4, spike_area=1e-4)
    differs = False
    for key in z.files:
        if not key.startswith("v/"):
            continue
        g = key.split("/", 1)[1]
        n = P.nir_name(net, g)
        ref_nir = z[key][:, 0] * np.asarray(prog.neurons[n].coeffs["v_unit"])
        sp = np.asarray(ideal.spikes[n])
        tol = TOL[fw] * np.maximum(np.abs(ref_nir), 1.0)
        if np.any(sp != z[f"spikes/{g}"][:, 0]) or np.any(np.abs(np.asarray(ideal.states[n]["v"]) - ref_nir) > tol):
            differs = True
    assert differs, f"the ideal model matches {fw}/{case}: the parity test would not discriminate"


def test_spyx_matches_on_the_cnn_only_with_its_channels_last_flatten():
    """Negative control for the spyx-1.0.0 Flatten quirk: with NIR's flatten order the
    convolutional layers still match Spyx, every layer after the Flatten does not."""
    z, sol, net = P.run_case("spyx", "cnn", SHARED, dtype="float32", options={"flatten_channels_last": False})
    res = P.compare(z, sol, net)
    assert all(res[n][0] == 0 for n in ("1", "3", "6"))
    assert res["10"][0] > 0 and res["12"][0] > 0
