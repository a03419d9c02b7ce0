"""The platform pipeline's public face: ``get_platform`` -> ``compile_platform`` -> ``run``.

    p = nirjax.get_platform("loihi2", preset="paper")       # a Platform value
    prog = nirjax.compile_platform(graph, p, dt=1e-4)         # a Program (graph compiled for p)
    sol = nirjax.run_platform(prog, {"input": x})             # a Solution
    sol = nirjax.simulate(graph, x, dt=1e-4, platform=p)      # the same, in one call

``simulate(platform=)``, :func:`stepper`, ``sweep`` and ``deviation`` all go through
:func:`compile_platform` and the one run function ``solvers.stepped.run``.
"""

from __future__ import annotations

import weakref

import jax

from .semantics import platforms as _platforms
from .semantics.network import Network
from .semantics.platforms import Platform, Program
from .solvers.stepped import DEFAULT_RECORD, run, run_options

from ._errors import UnsupportedError

RUN_OPTIONS = ("record", "dtype", "unroll")
"""Options of a platform run (not of the platform): what to record, the float type, the unroll."""


def platforms():
    """The registered platform names (``nirjax.platforms()``)."""
    return _platforms.names()


def get_platform(name, *, preset=None, version=None, **options) -> Platform:
    """The platform ``name`` as a :class:`Platform` value.

    - ``preset``: a named configuration (``"paper"``: as the NIR paper ran it; each platform's
      ``PRESETS`` lists its own), or ``version``: the preset of that release (``"0.9.4"``).
    - ``options``: axis values, quirk switches and mapping options (``describe()`` lists them).

    A Platform value is accepted as ``platform=`` by ``simulate``, ``compile_platform``,
    ``stepper``, ``sweep`` and ``deviation``.
    """
    return _platforms.get(name, preset=preset, version=version, **options)


def _load(graph):
    if isinstance(graph, Network):
        return graph
    from ._lowering import load

    return load(graph)


def compile_platform(graph, platform, *, dt, spike_area=1.0, reset=None, initial_state=None, **options) -> Program:
    """Compile ``graph`` (a path, a ``nir.NIRGraph`` or a loaded graph) for ``platform`` (a name or
    a Platform value; ``options`` as for :func:`get_platform`) into a :class:`Program`.

    ``program.neurons[node].coeffs`` holds the step coefficients (``v_unit``: NIR volts per native
    unit); ``program.maps`` the maps as applied. ``initial_state``: None (the platform's
    convention), ``"rest"``, ``"zero"`` or a state pytree (e.g. a run's ``final_state``).
    Raises :class:`UnsupportedError` (a :class:`PlatformError`) naming node and rule when the
    platform cannot run the graph."""
    net = _load(graph)
    p = get_platform(platform, **options)
    return _platforms.program(net, p, dt=dt, spike_area=spike_area, reset=reset, initial_state=initial_state)


def run_platform(program: Program, inputs, *, t0=0.0, record=DEFAULT_RECORD, dtype=None, unroll=None):
    """Run a compiled :class:`Program` on dense inputs (``{name: (steps, *shape)}``, or one array
    for a one-input graph); returns a :class:`Solution` (``final_state`` and ``spike_counts``
    included). ``record``: what to keep per step, by default the outputs and the spikes of the
    nodes feeding them (``solvers.stepped.DEFAULT_RECORD``); ``None`` keeps
    everything (spikes, NIR-unit and native states of every node), ``"spikes"``, ``"states"``,
    ``{node: kinds}`` a part (``solvers.stepped.run``)."""
    if not isinstance(inputs, dict):
        if len(program.wiring.inputs) != 1:
            raise ValueError(f"The graph has inputs {list(program.wiring.inputs)}: pass a dict.")
        inputs = {program.wiring.inputs[0]: inputs}
    return run(program, inputs, t0=t0, record=record, dtype=dtype, unroll=unroll)


def simulate_platform(net, dense, diracs, *, platform, dt, t0, n_steps, spike_area, reset, initial_state=None,
                      **options):
    """``simulate(..., platform=...)``: compile ``net`` for the platform and run it. The graph's
    parameters closed over by a ``jax.vmap``/``jax.jit``-traced caller stay concrete (the program
    is built under ``jax.ensure_compile_time_eval``), so its uniform coefficients fold."""
    if diracs:
        raise UnsupportedError(
            f"Platform models are time-stepped: give inputs {sorted(diracs)} as dense arrays of spike counts "
            "per step (a Spikes train has no step)."
        )
    run_opts = {k: options.pop(k) for k in RUN_OPTIONS if k in options}
    p = get_platform(platform, **options)
    key = _cache_key(net, p, dt, spike_area, reset, initial_state)
    hit = _PROGRAMS.get(key) if key is not None else None
    if hit is not None and hit[0]() is net:
        prog = hit[1]
    else:
        prog = _platforms.program(net, p, dt=dt, spike_area=spike_area, reset=reset, initial_state=initial_state)
        if key is not None:
            if len(_PROGRAMS) > 64:
                _PROGRAMS.clear()
            _PROGRAMS[key] = (weakref.ref(net, lambda _, k=key: _PROGRAMS.pop(k, None)), prog)
    return run(prog, dense, t0=t0, **run_opts)


_PROGRAMS = {}
"""Programs compiled by eager ``simulate(platform=...)`` calls, per graph object (while it lives),
platform value and options: a graph is an immutable value, so a second call with the same graph
object reuses its program (no rebuild, no refold). Traced graphs are never cached."""


def _cache_key(net, p, dt, spike_area, reset, initial_state):
    if not (initial_state is None or isinstance(initial_state, str)) or not isinstance(spike_area, (int, float)):
        return None
    if any(isinstance(a, jax.core.Tracer) for a in jax.tree.leaves(net)):
        return None
    try:
        return (id(net), p, float(dt), float(spike_area), reset, initial_state)
    except TypeError:  # an unhashable option value
        return None


def stepper(graph, platform, *, dt, spike_area=1.0, reset=None, initial_state=None, record=DEFAULT_RECORD, dtype=None,
            unroll=None, **options):
    """A compiled batch runner: ``run = stepper(graph, platform, dt=...)``; ``sol = run(x)`` with
    ``x`` of shape ``(batch, steps, *shape)`` (or a dict of them) gives the batched
    :class:`Solution` (leaves ``(batch, ...)``), exactly ``jax.vmap`` of ``simulate(...,
    platform=...)``. The program is compiled once, here; each call is one jitted, vmapped scan."""
    prog = compile_platform(graph, platform, dt=dt, spike_area=spike_area, reset=reset, initial_state=initial_state,
                            **options)
    first = prog.wiring.inputs[0]
    run_options(prog, record=record, dtype=dtype, unroll=unroll)

    @jax.jit
    def batched(inputs):
        return jax.vmap(lambda x: run(prog, x, record=record, dtype=dtype, unroll=unroll))(inputs)

    def runner(inputs):
        if not isinstance(inputs, dict):
            inputs = {first: inputs}
        return batched(inputs)

    runner.program = prog
    return runner
