"""Data bundled with nirjax (the NIR paper's LIF graph, input and recorded traces; see
``ATTRIBUTION.md`` beside this file), so that examples, ``nirjax demo`` and
``nirjax reproduce lif`` need no source tree.

    g = nirjax.load(nirjax.data.path("lif_norse.nir"))
"""

from __future__ import annotations

import importlib.resources as _res

__all__ = ["names", "path"]


def _folder():
    return _res.files(__name__)


def names():
    """The bundled data files (sorted)."""
    return sorted(p.name for p in _folder().iterdir() if p.is_file() and not p.name.endswith((".py", ".pyc")))


def path(name: str) -> str:
    """The installed path of the bundled file ``name`` (e.g. ``"lif_norse.nir"``,
    ``"lif_input.csv"``, ``"lif_norse.csv.gz"``), as a string for ``nirjax.load`` or
    ``numpy.loadtxt``."""
    p = _folder() / name
    if not p.is_file():
        raise FileNotFoundError(f"nirjax bundles no file {name!r}; bundled files: {', '.join(names())}.")
    return str(p)
