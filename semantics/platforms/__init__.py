"""What each time-stepped platform means: discretization axes, step rules, registry.

``get(name, **options)`` returns a :class:`Platform` (options override its
axes and quirk switches); ``register(name, factory)`` adds or overrides an
entry; ``names()`` lists them. An unknown name raises listing the known ones.
"""

from __future__ import annotations

from ._base import AXES as AXES, AXIS_DOC as AXIS_DOC, Platform as Platform, PlatformError as PlatformError
from ._base import Program as Program, execution_order as execution_order, kind_of as kind_of
from ._hardware import Loihi2 as Loihi2, SpiNNaker2 as SpiNNaker2, Speck as Speck, Xylo as Xylo
from ._rules import heaviside as heaviside
from ._software import (
    ZOH as ZOH,
    Euler as Euler,
    LavaFloat as LavaFloat,
    Nengo as Nengo,
    Norse as Norse,
    Rockpool as Rockpool,
    Sinabs as Sinabs,
    SnnTorch as SnnTorch,
    Spyx as Spyx,
)

_REGISTRY = {
    "euler": Euler,
    "zoh": ZOH,
    "snntorch": SnnTorch,
    "norse": Norse,
    "sinabs": Sinabs,
    "rockpool": Rockpool,
    "spyx": Spyx,
    "lava": LavaFloat,
    "loihi2": Loihi2,
    "nengo": Nengo,
    "spinnaker2": SpiNNaker2,
    "xylo": Xylo,
    "speck": Speck,
}


def register(name: str, factory, *, override: bool = False):
    """Register a platform factory (a :class:`Platform` subclass or a callable
    ``(**options) -> Platform``) under ``name``."""
    if name in _REGISTRY and not override:
        raise ValueError(f"Platform {name!r} is already registered; pass override=True to replace it.")
    _REGISTRY[name] = factory


def unregister(name: str):
    """Remove a registered platform."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown platform {name!r}; known platforms: {', '.join(_REGISTRY)}.")
    del _REGISTRY[name]


def names():
    return tuple(_REGISTRY)


def get(name, **options) -> Platform:
    """The platform called ``name`` with ``options`` applied (axis values, quirk switches, ``version``)."""
    if isinstance(name, Platform):
        return name.replace(**options) if options else name
    if name not in _REGISTRY:
        raise ValueError(f"Unknown platform {name!r}; known platforms: {', '.join(_REGISTRY)}.")
    factory = _REGISTRY[name]
    import dataclasses

    if isinstance(factory, type) and issubclass(factory, Platform):
        fields = {f.name for f in dataclasses.fields(factory)}
        bad = set(options) - fields
        if bad:
            raise TypeError(f"Platform {name!r} has no option(s) {sorted(bad)}; its options are {sorted(fields - {'name', 'source'})}.")
    return factory(**options)
