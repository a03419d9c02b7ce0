"""``nirjax reproduce``: run the NIR paper reproductions in ``paper_reproductions/``."""

from __future__ import annotations

import importlib.resources
import importlib.util

_SCRIPTS = {"lif": ("01_lif", "lif.py"), "yinyang": ("02_yinyang", "yinyang.py")}


def _load(which):
    """Import a reproduction script from the installed ``nirjax.reproductions`` package
    (the ``paper_reproductions/`` folder of the source tree): no source checkout needed."""
    if which not in _SCRIPTS:
        raise ValueError(f"Unknown reproduction {which!r}; known: {sorted(_SCRIPTS)}.")
    folder, fname = _SCRIPTS[which]
    res = importlib.resources.files("nirjax.reproductions") / folder / fname
    with importlib.resources.as_file(res) as path:
        spec = importlib.util.spec_from_file_location(f"nirjax_repro_{which}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return mod


def reproduce(which, out, **options):
    """Run reproduction ``which``; ``options`` (e.g. ``epochs``) go to its ``main`` when given."""
    return _load(which).main(out, **{k: v for k, v in options.items() if v is not None})


def lif_summary():
    """The platform table of the LIF reproduction (for ``make demo``)."""
    mod = _load("lif")
    _, rows = mod.run_all()
    return "The paper's LIF neuron on each platform model:\n" + mod.table(rows)
