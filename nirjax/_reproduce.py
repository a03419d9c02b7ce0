"""``nirjax reproduce``: run the NIR paper reproductions in ``paper_reproductions/``."""

from __future__ import annotations

import importlib.util
import pathlib

_SCRIPTS = {"lif": ("01_lif", "lif.py")}


def _load(which):
    if which not in _SCRIPTS:
        raise ValueError(f"Unknown reproduction {which!r}; known: {sorted(_SCRIPTS)}.")
    folder, fname = _SCRIPTS[which]
    path = pathlib.Path(__file__).resolve().parents[1] / "paper_reproductions" / folder / fname
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: `nirjax reproduce` runs from a source checkout (pip install -e .)."
        )
    spec = importlib.util.spec_from_file_location(f"nirjax_repro_{which}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def reproduce(which, out):
    return _load(which).main(out)


def lif_summary():
    """The platform table of the LIF reproduction (for ``make demo``)."""
    mod = _load("lif")
    _, rows = mod.run_all()
    return "The paper's LIF neuron on each platform model:\n" + mod.table(rows)
