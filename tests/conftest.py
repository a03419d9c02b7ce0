"""Test settings: exactness is tested in float64, as a user would enable it."""

import os
import pathlib

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("NIRJAX_SHARED", ROOT.parent / "shared"))
PAPER = SHARED / "nir-paper"


def tree_allclose(a, b, rtol=1e-12, atol=1e-12):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    if ta != tb:
        return False
    return all(np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol, equal_nan=True) for x, y in zip(la, lb))


@pytest.fixture(scope="session")
def paper():
    if not PAPER.exists():
        pytest.fail(f"the shared NIR paper data is missing at {PAPER} (CI places ../shared beside the project)")
    return PAPER


def paper_pulse_input(steps=1000):
    """The NIR paper's LIF input: value 1 for one step at these steps (nir-paper/README.md)."""
    on = [60, 220, 270, 310, 320, 350, 370, 400, 410, 430] + list(range(440, 531, 10)) + list(range(670, 781, 10)) + [840, 850]
    x = np.zeros((steps, 1))
    x[on, 0] = 1.0
    return x


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Free JAX's compiled executables after each test module. A long single-process session
    otherwise keeps every executable mapped; on Linux their code mappings pile up towards
    ``vm.max_map_count`` (65530) and XLA's compiler then segfaults in a later test (seen in CI
    at ~360 tests)."""
    yield
    jax.clear_caches()
