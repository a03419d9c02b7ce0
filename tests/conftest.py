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


def _memory_maps():
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    """Free JAX's compiled executables when they pile up. Every executable XLA:CPU compiles keeps
    its code in memory mappings (~90 per simulate call here) until ``jax.clear_caches()``; a long
    single-process session reaches Linux's ``vm.max_map_count`` (65530) and XLA's compiler then
    segfaults (seen in CI after ~360 tests). Clearing when 20000 mappings are reached keeps the
    compiled programs that tests share most of the time."""
    yield
    if _memory_maps() > 20000:
        import gc

        jax.clear_caches()
        gc.collect()
