"""What each time-stepped platform means: discretization axes, presets, step rules, programs.

The pipeline::

    Platform value  --program(net, platform, *, dt, spike_area, reset, initial_state)-->  Program

``get(name, preset=None, version=None, **options)`` returns a :class:`Platform` value (a preset
or version, then ``options`` applied to its axes, quirk switches and mapping options);
``register(name, cls)`` adds or overrides an entry; ``names()`` lists them. An unknown name,
preset or option raises, listing the known ones. The executor (``solvers/stepped.py``) runs a
:class:`Program` with the public step rules of :mod:`semantics.platforms.rules`.
"""

from __future__ import annotations

from . import rules as rules
from ._base import (
    AXES as AXES,
    AXIS_DOC as AXIS_DOC,
    AXIS_VALUES as AXIS_VALUES,
    Check as Check,
    Platform as Platform,
    PlatformError as PlatformError,
    execution_order as execution_order,
    ideal_axes as ideal_axes,
    kind_of as kind_of,
)
from ._hardware import Loihi2 as Loihi2, SpiNNaker2 as SpiNNaker2, Speck as Speck, Xylo as Xylo
from ._program import NeuronProgram as NeuronProgram, Program as Program, Wiring as Wiring, program as program
from ._software import (
    ZOH as ZOH,
    Euler as Euler,
    FlattenHWC as FlattenHWC,
    LavaFloat as LavaFloat,
    Nengo as Nengo,
    Norse as Norse,
    Rockpool as Rockpool,
    Sinabs as Sinabs,
    SnnTorch as SnnTorch,
    Spyx as Spyx,
)
from .rules import NeuronRule as NeuronRule, heaviside as heaviside

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


def register(name: str, cls, *, override: bool = False):
    """Register a :class:`Platform` subclass under ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, Platform)):
        raise TypeError(f"register({name!r}, ...) needs a Platform subclass, got {cls!r}.")
    if name in _REGISTRY and not override:
        raise ValueError(f"Platform {name!r} is already registered; pass override=True to replace it.")
    _REGISTRY[name] = cls


def unregister(name: str):
    """Remove a registered platform."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown platform {name!r}; known platforms: {', '.join(_REGISTRY)}.")
    del _REGISTRY[name]


def names():
    return tuple(_REGISTRY)


def platform_class(name):
    if name not in _REGISTRY:
        raise ValueError(f"Unknown platform {name!r}; known platforms: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def get(name, *, preset=None, version=None, **options) -> Platform:
    """The platform called ``name`` (or the :class:`Platform` value ``name``) in configuration
    ``preset`` (or the preset of release ``version``), with ``options`` applied.

    ``preset="paper"``: as the NIR paper ran it, where the platform has such a preset."""
    if isinstance(name, Platform):
        if preset is not None or version is not None:
            raise TypeError("preset=/version= select a configuration by platform name; a Platform value already is one "
                            f"(use {type(name).__name__}.preset(...) or .replace(...)).")
        return name.replace(**options) if options else name
    if not isinstance(name, str):
        raise TypeError(f"platform must be a name (one of {list(_REGISTRY)}) or a Platform value, got {name!r}.")
    cls = platform_class(name)
    if preset is not None and version is not None:
        raise TypeError("give preset= or version=, not both.")
    if version is not None:
        if version not in cls.PRESETS:
            versions = [p for p in cls.PRESETS if p != "paper"]
            raise ValueError(f"Platform {name!r} models version(s) {versions}, not {version!r}.")
        preset = version
    bad = set(options) - set(cls.options())
    if bad:
        raise TypeError(f"Platform {name!r} has no option(s) {sorted(bad)}; its options are {list(cls.options())}.")
    if preset is not None:
        return cls.preset(preset, **options)
    return cls(**options)
