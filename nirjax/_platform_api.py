"""``simulate(..., platform=NAME)``: run a graph under a platform's discretization model."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .semantics import platforms as _platforms
from .solvers import RESULTS, Solution
from .solvers.stepped import RECORDABLE, batched_runner, run_program, run_program_batched

from ._errors import UnsupportedError


def platforms():
    """The registered platform names (``nirjax.platforms()``)."""
    return _platforms.names()


def get_platform(name, **options):
    """The :class:`semantics.platforms.Platform` called ``name`` with ``options`` applied."""
    try:
        return _platforms.get(name, **options)
    except _platforms.PlatformError as e:
        raise UnsupportedError(str(e)) from None


_PLATFORM_KEYS = {"record", "dtype"}


def compile_platform(net, platform, *, dt, spike_area=1.0, reset=None, **options):
    """Compile ``net`` (a loaded graph) for ``platform`` (a name or a Platform):
    returns ``(platform, program)``; ``program.neurons[node]`` holds the step
    coefficients (``v_unit``: NIR volts per native unit)."""
    p = get_platform(platform, **options)
    try:
        return p, p.program(net, dt=dt, spike_area=spike_area, reset=reset)
    except _platforms.PlatformError as e:
        raise UnsupportedError(str(e)) from None


def simulate_platform(net, dense, diracs, *, platform, dt, t0, n_steps, spike_area, reset,
                      record=RECORDABLE, dtype=None, batched=False, **platform_options):
    """Run ``net`` on the platform model. Inputs must be dense arrays (a platform
    sees one value per step); ``batched=True`` takes ``(steps, batch, *shape)``
    inputs and vmaps over the batch axis (results ``(steps, batch, *shape)``)."""
    if diracs:
        raise UnsupportedError(
            f"Platform models are time-stepped: give inputs {sorted(diracs)} as dense arrays of spike counts "
            "per step (a Spikes train has no step)."
        )
    _, prog = compile_platform(net, platform, dt=dt, spike_area=spike_area, reset=reset, **platform_options)
    if batched:
        spikes, states, outputs = run_program_batched(prog, dense, record=record, dtype=dtype)
    else:
        spikes, states, outputs = run_program(prog, dense, record=record, dtype=dtype)
    dt_ = jnp.result_type(float) if dtype is None else dtype
    ts = t0 + dt * jnp.arange(1, n_steps + 1, dtype=dt_)
    counts = {n: jnp.sum(s, axis=0) for n, s in spikes.items()}
    return Solution(
        ts=ts,
        states=states,
        spikes=spikes,
        spike_times={},
        spike_counts=counts,
        result=RESULTS.successful,
        stats={"outputs": outputs},
    )


def stepper(graph, platform, *, dt, spike_area=1.0, reset=None, record=RECORDABLE, dtype=None, unroll=None,
            **options):
    """A compiled batch runner of ``graph`` on ``platform``: ``run = stepper(...)``;
    ``spikes, states, outputs = run({input: x})`` with ``x`` of shape
    ``(steps, batch, *shape)`` (a single array for a one-input graph); results are
    ``(steps, batch, *shape)``. The platform program is built once; each call is one
    jitted ``lax.scan`` vmapped over the batch (compiled on the first call); the program's
    coefficients are cast and folded once, here. ``unroll``: steps per loop iteration
    (None: 4 for graphs with 2-d convolutions, else 1; results do not depend on it)."""
    from ._lowering import load
    from .semantics.network import Network

    net = graph if isinstance(graph, Network) else load(graph)
    _, prog = compile_platform(net, platform, dt=dt, spike_area=spike_area, reset=reset, **options)
    runner = batched_runner(prog, record=record, dtype=dtype, unroll=unroll)
    first = net.inputs[0]

    def run(inputs):
        if not isinstance(inputs, dict):
            inputs = {first: inputs}
        return runner(inputs)

    run.program = prog
    return run
