"""Parameter sweeps: vmap over parameter sets, and the same split over devices."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import nirjax


def test_sweep_matches_closed_form(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    taus = np.linspace(1e-3, 4e-3, 6)
    x = np.full((300, 1), 0.5)  # v_inf = 0.5 > theta 0.1: first spike at tau ln(0.5/0.4)
    sol = nirjax.sweep(g, {"1.tau": taus}, {"input": x}, dt=1e-4)
    theta = float(g.nodes["1"].v_threshold[0])  # 0.1 as stored in float32
    np.testing.assert_allclose(np.asarray(sol.spike_times["1"][:, 0, 0]), taus * math.log(0.5 / (0.5 - theta)), rtol=1e-12)


def test_sweep_rejects_bad_keys(paper):
    g = nirjax.load(paper / "01_lif" / "lif_norse.nir")
    with pytest.raises(KeyError, match="no node '2'"):
        nirjax.sweep(g, {"2.tau": np.ones(2)}, {"input": np.zeros((5, 1))}, dt=1e-4)
    with pytest.raises(KeyError, match="no array parameter 'tau_mem'"):
        nirjax.sweep(g, {"1.tau_mem": np.ones(2)}, {"input": np.zeros((5, 1))}, dt=1e-4)


SCRIPT = r"""
import json, jax, numpy as np
jax.config.update("jax_enable_x64", True)
import nirjax
g = nirjax.load(__import__("sys").argv[1])
taus = np.linspace(1e-3, 4e-3, 8)
x = np.full((300, 1), 0.5)
a = nirjax.sweep(g, {"1.tau": taus}, {"input": x}, dt=1e-4, devices="all")
b = nirjax.sweep(g, {"1.tau": taus}, {"input": x}, dt=1e-4)
print(json.dumps({"devices": len(jax.devices()), "out_devices": len(a.spike_times["1"].sharding.device_set),
                  "equal": bool(np.array_equal(np.asarray(a.spike_times["1"]), np.asarray(b.spike_times["1"])))}))
"""


def test_sweep_sharded_over_devices(paper):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(paper / "01_lif" / "lif_norse.nir")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"devices": 8, "out_devices": 8, "equal": True}
