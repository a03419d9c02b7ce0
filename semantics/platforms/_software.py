"""Software simulators: generic Euler / ZOH stepping and the NIR importers of
snnTorch, Norse, Sinabs, Rockpool, Spyx, Lava (float) and Nengo.

Each class docstring names the released source it models; PLATFORMS.md gives
the measurements behind every rule.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ..maps import Affine, Flatten, Linear
from ..neurons import IF, LIF, CubaLIF
from ._base import Platform, PlatformError, kind_of

_LEAKY = ("LIF", "CubaLIF")


def _all_equal(x):
    a = np.asarray(x)
    return a.size == 0 or bool(np.all(a == a.ravel()[0]))


@dataclasses.dataclass(frozen=True)
class Euler(Platform):
    """Generic forward Euler at the given dt: ``v' = (1 - a) v + a r x`` (CubaLIF:
    ``I' = (1 - dt/tau_syn) I + dt/tau_syn w_in x``, then ``v`` with the new ``I``);
    fire ``v > theta``, reset to ``v_reset`` in the same step; feed-forward same
    step, back edges +1. A spike is the value ``q/dt`` for one step (charge ``q``).
    Not a product: the textbook discretization, a reference for the others."""

    name: str = "euler"
    version: str = "generic"
    source: str = "forward Euler (textbook)"
    decay: str = "euler"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">"
    spike_value: str = "area"
    reset_options: tuple = ("v_reset", "subtract", "zero")


@dataclasses.dataclass(frozen=True)
class ZOH(Platform):
    """Generic exact zero-order-hold stepping: the ideal model's propagator over
    each step (``v' = d v + (1 - d)(v_leak + r x)``; CubaLIF's 2x2 propagator),
    with spikes tested once per step (``v >= theta``) and the reset at the step's
    end. Its only deviation from the ideal model is the step itself."""

    name: str = "zoh"
    version: str = "generic"
    source: str = "exact propagator per step (DESIGN.md rule 8)"
    spike_value: str = "area"
    reset_options: tuple = ("v_reset", "subtract", "zero")


@dataclasses.dataclass(frozen=True)
class SnnTorch(Platform):
    """snnTorch 1.0.0 (``snntorch/import_nir.py``, ``_neurons/leaky.py``, ``synaptic.py``).

    LIF -> ``Leaky(beta = 1 - dt/tau, threshold = theta tau/(r dt))``:
    ``v = beta v + x; s = v > theta'; v = 0 where s``. CubaLIF -> ``Synaptic``:
    ``I = alpha I + x; v = beta v + I`` (new I), threshold ``theta tau_syn/(w_in dt)``,
    requires ``r == tau_mem/dt``. dt is fixed at 1e-4. v_reset and v_leak ignored
    (v_leak must be 0). Native units: ``v_NIR * tau/(r dt)``.
    ``version="0.9.4"``: RSynaptic's reset lands one step late (the paper's braille runs).
    """

    name: str = "snntorch"
    version: str = "1.0.0"
    source: str = "snntorch 1.0.0 snntorch/import_nir.py, _neurons/leaky.py, _neurons/synaptic.py"
    decay: str = "euler"
    input_scale: str = "threshold"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    dt_convention: str = "fixed_1e-4"
    ignores: frozenset = frozenset({"v_reset"})
    units: str = "snnTorch mem (v_NIR * tau/(r dt); CubaLIF v_NIR * tau_syn/(w_in dt))"
    supported: tuple = ("LIF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def __post_init__(self):
        if self.version == "0.9.4" and self.reset_timing == "same":
            object.__setattr__(self, "reset_timing", "next")

    def quirks(self):
        return {"snntorch-0.9.4 RSynaptic reset one step late": self.reset_timing == "next",
                "snntorch-1.0.0 one threshold per layer (np.unique(r dt/tau)[0])": True}

    def reject_reason(self, kind):
        if kind == "IF":
            return "snnTorch 1.0.0 maps IF to a broken Leaky(beta=0.9) that crashes the next node."
        return f"snnTorch 1.0.0 import_nir raises 'Unknown node type' for {kind}."

    def check_node(self, net, name, node):
        if isinstance(node, (LIF, CubaLIF)) and np.any(np.asarray(node.v_leak) != 0):
            raise PlatformError(f"snnTorch asserts v_leak == 0; node {name!r} has v_leak != 0.")
        if isinstance(node, CubaLIF):
            if not np.allclose(np.asarray(node.r), np.asarray(node.tau_mem) / 1e-4, rtol=1e-4):
                raise PlatformError(
                    f"snnTorch 1.0.0 asserts r == tau_mem/dt (dt = 1e-4) for CubaLIF; node {name!r} breaks it."
                )

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        if isinstance(node, LIF) and self.native("input_scale", "dt_convention"):
            # snnTorch takes np.unique(r*dt/tau)[0] (the smallest) for the whole layer's threshold.
            f = jnp.min(node.r * 1e-4 / node.tau)
            c = {**c, "v_unit": c["v_unit"] * 0 + f, "theta": node.v_threshold / f + 0 * c["theta"]}
        return c


@dataclasses.dataclass(frozen=True)
class Norse(Platform):
    """Norse 1.1.0 (``norse/torch/utils/import_nir.py``, ``functional/lif_box.py``, ``iaf.py``).

    LIF: ``v = v + (dt/tau)((x + v_leak) - v); z = v > theta; v = 0 where z``; r ignored.
    IF: ``v = v + x`` (r ignored). CubaLIF: ``I = I + (dt/tau_syn)((v_leak - I) + w_in x);
    v = v + (dt/tau_mem)((r I + v_leak) - v)`` with the new I; reset to 0
    (``reset="subtract"`` = ``reset_method=reset_subtract``). Executor: nirtorch
    GraphExecutor, DFS pre-order (the late branch of a diamond joins one step
    late), back edges +1. Norse imports NIR ``Flatten(start_dim=0)`` as
    ``torch.nn.Flatten(0)``, which also merges the batch axis, so a batched CNN fails
    in Norse; the model runs each sample as Norse runs a batch of one.
    """

    name: str = "norse"
    version: str = "1.1.0"
    source: str = "norse 1.1.0 norse/torch/utils/import_nir.py, functional/lif_box.py, functional/iaf.py; nirtorch 2.6"
    decay: str = "euler"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    executor_order: str = "nirtorch_dfs"
    ignores: frozenset = frozenset({"v_reset"})
    reset_options: tuple = ("zero", "subtract")
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def reject_reason(self, kind):
        return f"Norse 1.1.0 from_nir has no mapping for {kind}."

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        z = c["v0"] * 0
        if isinstance(node, LIF) and self.native("input_scale", "ignores"):  # r ignored (a warning only)
            c = {**c, "a_x": dt / node.tau + z}
        if isinstance(node, IF) and self.native("input_scale"):  # v = v + x (r used only if not ignored)
            c = {**c, "a_x": (1.0 if "r" in self.ignores else node.r) + z}
        if isinstance(node, CubaLIF):  # initial I = v = v_leak
            c = {**c, "i0": node.v_leak + z}
        return c


@dataclasses.dataclass(frozen=True)
class Sinabs(Platform):
    """Sinabs 3.1.3 (``sinabs/nir.py``, ``layers/functional/lif.py``, ``activation/*``).

    LIF: ``v = alpha v + x; n = trunc(v/theta) where v > 0 (fires at v >= theta);
    v -= n theta`` with ``alpha = exp(-1/tau)``: tau is read in time steps
    (``dt_convention='steps'``; the paper divided tau by dt by hand: pass
    ``dt_convention='argument'``). IF: the same with alpha = 1, then
    ``v = max(v, -theta)``. LI: ``v = alpha v + x``. r ignored; v_leak must be 0.
    Whole-sequence layers: feed-forward same step; no recurrence.
    """

    name: str = "sinabs"
    version: str = "3.1.3"
    source: str = "sinabs 3.1.3 sinabs/nir.py, layers/functional/lif.py, activation/spike_generation.py"
    decay: str = "exact"
    input_scale: str = "unit"
    threshold_test: str = ">="
    spikes_per_step: int = 2**31
    reset: str = "subtract"
    dt_convention: str = "steps"
    ignores: frozenset = frozenset({"r", "v_reset"})
    units: str = "input units (r ignored)"
    supported: tuple = ("LIF", "IF", "LI", "Affine", "Conv", "Pool2d", "Flatten", "Identity")
    first_input_only: bool = True
    """nirtorch-2.0.2 quirk (Sinabs' executor): a node with several in-edges receives only the first."""

    def quirks(self):
        return {"nirtorch-2.0.2 first in-edge only": self.first_input_only,
                "sinabs-3.1.3 tau read in steps": self.dt_convention == "steps"}

    def single_input(self, net):
        return _single_input_nodes(net) if self.first_input_only else ()

    def quirk_switches(self):
        return {"first_input_only": False}

    def reject_reason(self, kind):
        return f"Sinabs 3.1.3 from_nir has no mapping for {kind} (Linear without bias, CubaLIF, I, CubaLI, Threshold, Scale, Delay unsupported)."

    def check(self, net):
        super().check(net)
        from ._base import execution_order

        _, back = execution_order(net)
        if back:
            raise PlatformError(f"Sinabs 3.1.3 runs whole-sequence layers and has no recurrence; edges {sorted(back)} close a cycle.")
        for n in net.neurons:
            node = net.nodes[n]
            if hasattr(node, "v_leak") and np.any(np.asarray(node.v_leak) != 0):
                raise PlatformError(f"Sinabs needs v_leak == 0; node {n!r} has v_leak != 0.")

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        if isinstance(node, IF):
            c = {**c, "v_floor": -c["theta"]}
        return c


@dataclasses.dataclass(frozen=True)
class Rockpool(Platform):
    """Rockpool 3.1.0 (``rockpool/nn/modules/torch/nir.py``, ``lif_torch.py``).

    CubaLIF -> LIFTorch: ``I = (I + x) exp(-dt/tau_syn); v = v exp(-dt/tau_mem) + I + v_leak;
    n = floor(v/theta) where v >= theta (cap 2^16); v -= n theta``; w_in and r ignored;
    dt inferred per layer as ``min(tau_mem/(1 + r))``. Stepped GraphExecutor: back
    edges +1. Plain LIF import crashes (``native_lif=True`` models Rockpool's own
    LIFTorch without synapse at the given dt, as the paper's LIF trace was recorded).
    """

    name: str = "rockpool"
    version: str = "3.1.0"
    source: str = "rockpool 3.1.0 rockpool/nn/modules/torch/nir.py, lif_torch.py"
    decay: str = "exact"
    input_scale: str = "unit"
    coupling: str = "new"
    synapse_order: str = "add_then_decay"
    threshold_test: str = ">="
    spikes_per_step: int = 2**16
    reset: str = "subtract"
    dt_convention: str = "rockpool_inferred"
    ignores: frozenset = frozenset({"r", "w_in", "v_reset"})
    native_lif: bool = False
    units: str = "NIR volts with Rockpool's scaling (r, w_in ignored)"
    supported: tuple = ("CubaLIF", "LIF", "Affine", "Linear", "Identity")

    def quirks(self):
        return {"rockpool-3.1.0 LIF import crashes": not self.native_lif}

    def check_node(self, net, name, node):
        if isinstance(node, LIF) and not self.native_lif:
            raise PlatformError(
                f"Rockpool 3.1.0 cannot import LIF node {name!r} (AttributeError: 'LIF' object has no attribute "
                "'tau_mem'); pass native_lif=True to model Rockpool's own synapse-free LIFTorch instead."
            )

    def step_dt(self, node, dt):
        if isinstance(node, LIF):
            return dt
        return super().step_dt(node, dt)

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        if isinstance(node, CubaLIF):
            c = {**c, "cm": node.v_leak + 0 * c["cm"]}
        return c


@dataclasses.dataclass(frozen=True)
class Spyx(Platform):
    """Spyx 1.0.0 (``spyx/nir.py``, ``spyx/nn.py``); ``version="0.1"`` for the paper's 0.1.x.

    LIF: ``s = v_{t-1} > theta; v = beta v_{t-1} + x - s theta`` (fires from the
    previous v: +1 per spiking layer), ``beta = clip(1 - dt/tau, 0, 1)``.
    CubaLIF: ``s = v > theta; v -= s theta; I = alpha I + x; v = beta v + I``;
    a recurrent CubaLIF drops the W_rec bias. r, w_in, v_leak, v_reset ignored.
    Spyx 0.1.x multiplied the incoming weights by dt/tau (by w_in for CubaLIF).
    Spyx silently drops unknown nodes and follows one branch; nirjax refuses them.
    """

    name: str = "spyx"
    version: str = "1.0.0"
    source: str = "spyx 1.0.0 spyx/nir.py, spyx/nn.py"
    decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    order: str = "fire_first"
    threshold_test: str = ">"
    reset: str = "subtract"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def __post_init__(self):
        if self.version.startswith("0.1") and self.input_scale == "unit":
            object.__setattr__(self, "input_scale", "gain_only")

    follow_first_chain: bool = True
    """spyx-1.0.0 quirk: only the first out-edge chain from the input is built; a join
    receives only that chain (Spyx drops the other branch silently; nirjax models it and
    names it in ``quirks()``; ``False`` runs every branch)."""
    drop_rec_bias: bool = True
    """spyx-1.0.0 quirk: a recurrent CubaLIF (RCuBaLIF) drops the bias of W_rec."""
    flatten_channels_last: bool = True
    """spyx-1.0.0 quirk: its tensors are channels-last (``nnx.Conv``), so ``Flatten`` turns a
    ``(C, H, W)`` value into ``(H, W, C)`` order while the next Affine keeps NIR's
    channels-first weight columns (``spyx/nir.py`` does not permute them)."""

    def quirks(self):
        return {"spyx-1.0.0 drops the W_rec bias": self.drop_rec_bias,
                "spyx-1.0.0 follows only the first out-edge chain": self.follow_first_chain,
                "spyx-1.0.0 flattens (C, H, W) in channels-last order": self.flatten_channels_last,
                "spyx-0.1.x scales incoming weights by dt/tau": self.input_scale == "gain_only"}

    def check_node(self, net, name, node):
        super().check_node(net, name, node)
        if self.flatten_channels_last and isinstance(node, Flatten) and len(node.in_shape) == 3 \
                and len(node.out_shape) != 1:
            raise PlatformError(
                f"Spyx 1.0.0 cannot run node {name!r} (Flatten {node.in_shape} -> {node.out_shape}): its Flatten "
                "merges every axis of a channels-last value; a partial flatten has no Spyx equivalent."
            )

    def maps(self, net, dt):
        m = super().maps(net, dt)
        if not self.flatten_channels_last:
            return m
        return {n: (Flatten(in_shape=f.in_shape, out_shape=f.out_shape, channels_last=True)
                    if isinstance(f, Flatten) and len(f.in_shape) == 3 else f) for n, f in m.items()}

    def single_input(self, net):
        return _single_input_nodes(net) if self.follow_first_chain else ()

    def quirk_switches(self):
        return {"follow_first_chain": False, "drop_rec_bias": False, "flatten_channels_last": False}

    def reject_reason(self, kind):
        return f"Spyx 1.0.0 silently drops {kind} nodes as identity; nirjax refuses instead of approximating."

    def drop_back_bias(self):
        return self.drop_rec_bias

    def fire_after_decay(self, net):
        return tuple(n for n in net.neurons if kind_of(net.nodes[n]) in ("LIF", "IF"))

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        c = {**c, "dm": jnp.clip(c["dm"], 0, 1), "ds": jnp.clip(c["ds"], 0, 1)}
        if isinstance(node, CubaLIF) and self.input_scale == "gain_only":
            c = {**c, "gs": node.w_in + 0 * c["gs"], "a_new": 1.0 + 0 * c["a_new"]}
        elif isinstance(node, CubaLIF):
            c = {**c, "gs": 1.0 + 0 * c["gs"], "a_new": 1.0 + 0 * c["a_new"]}
        return c


@dataclasses.dataclass(frozen=True)
class LavaFloat(Platform):
    """Lava / lava-dl floating point (``lava/proc/lif/models.py`` PyLifModelFloat).

    ``u = u (1 - du) + a_in; v = v (1 - dv) + u + bias; s = v > vth; v = 0 where s``
    with ``dv = dt/tau`` (``dt/tau_mem``), ``du = 1`` for a plain LIF (``dt/tau_syn``
    for CubaLIF); the input is not scaled (r, w_in, v_leak, v_reset ignored: the
    paper pre-multiplied the weights by dt/tau). Every Dense adds +1 step (the
    paper's LIF run behaves like ONE Dense).
    """

    name: str = "lava"
    version: str = "float (lava-nc 0.9 PyLifModelFloat)"
    source: str = "lava-nc lava/proc/lif/models.py PyLifModelFloat, lava/proc/dense/models.py"
    decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    latency: str = "per_weight"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def reject_reason(self, kind):
        return f"the Lava NIR mapping has no process for {kind}."


@dataclasses.dataclass(frozen=True)
class Nengo(Platform):
    """Nengo 4.1.0 (``nengo/neurons.py`` LIF.step, ``nengo/synapses.py`` Lowpass) with the NIR
    paper notebook's ``nir_to_nengo`` mapping (Affine -> Node, edges ``synapse=None``).

    LIF -> ``nengo.LIF(tau_rc=tau, tau_ref=0)``, gain 1/theta: ``v += (J - v)(1 - exp(-dt/tau))``,
    spike ``v > 1``, ``v >= 0``, reset to 0, amplitude 1 (a spike is 1/dt on the wire);
    asserts r == 1 and v_leak == 0. CubaLIF -> ``LIF(tau_rc=tau_mem, amplitude=dt)`` (a spike
    is 1 on the wire), gain ``w_in r/theta``, behind ``Lowpass(tau')`` with
    ``tau' = -dt/ln(1 - dt/tau_syn)``: ``y = (1 - dt/tau_syn) y + (dt/tau_syn) x``, and the
    neuron sees ``J_t = gain y_{t-1}`` (nengo applies the synapse one step late: +1 per
    CubaLIF input edge). IF -> the paper's IF: ``v += J dt`` with gain ``1/(theta dt)``,
    spike ``v > 1``, reset 0, no floor, amplitude dt. Native units v/theta.
    """

    name: str = "nengo"
    version: str = "4.1.0"
    source: str = ("nengo 4.1.0 nengo/neurons.py (LIF.step), nengo/synapses.py Lowpass; NIR paper "
                   "notebook nir_to_nengo (PaperIF)")
    decay: str = "exact"
    input_scale: str = "exact"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    floor: str | None = "zero"
    latency: str = "per_synapse"
    spike_value: str = "per_dt"
    ignores: frozenset = frozenset({"v_reset"})
    units: str = "v / v_threshold"
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def check_node(self, net, name, node):
        if isinstance(node, (LIF, CubaLIF)):
            if np.any(np.asarray(node.r) != 1) and isinstance(node, LIF):
                raise PlatformError(f"The Nengo mapping asserts r == 1; LIF node {name!r} has r != 1.")
            if np.any(np.asarray(node.v_leak) != 0):
                raise PlatformError(f"The Nengo mapping asserts v_leak == 0; node {name!r} has v_leak != 0.")

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        th = node.v_threshold
        z = c["v0"] * 0
        native = self.native("decay", "input_scale", "coupling", "ignores")
        if isinstance(node, CubaLIF) and native:
            ds = 1.0 - dt / node.tau_syn  # Lowpass(tau') with tau' matching Euler
            dm = jnp.exp(-dt / node.tau_mem)
            # with the +1 input latency, I_t = y_{t-1}: v sees the updated current
            c = {**c, "ds": ds + z, "gs": (1 - ds) + z, "a_old": z, "a_x": z, "cm": z, "dm": dm + z,
                 "a_new": (1 - dm) * node.w_in * node.r / th + z, "spike_out": dt + z}
        elif isinstance(node, IF) and native:
            c = {**c, "a_x": 1.0 / th + z, "spike_out": dt + z}
        else:
            c = {**c, "a_new": c["a_new"] / th, "a_old": c["a_old"] / th, "a_x": c["a_x"] / th, "cm": c["cm"] / th}
            if isinstance(node, (IF, CubaLIF)):
                c["spike_out"] = dt + z
        floor = z if self.floor == "zero" else c["v_floor"]
        if isinstance(node, IF) and native:
            floor = z - jnp.inf  # the paper's IF has no floor
        return {**c, "v_unit": th + z, "theta": 1.0 + z, "v_floor": floor,
                "v_reset": c["v_reset"] / th, "v0": c["v0"] / th}

    def single_input(self, net):
        return ()


def _reaches(net, src, dst):
    """Whether ``dst`` is reachable from ``src`` (a cycle through the fan-out)."""
    succ = {}
    for d, ps in net.predecessors:
        for p in ps:
            succ.setdefault(p, []).append(d)
    seen, stack = set(), [src]
    while stack:
        n = stack.pop()
        if n == dst:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(succ.get(n, ()))
    return False


def _single_input_nodes(net):
    """Nodes with several in-edges none of which closes a cycle (the joins a
    first-in-edge-only executor truncates)."""
    out = []
    for n, ps in net.predecessors:
        if len(ps) > 1 and not any(_reaches(net, n, p) for p in ps):
            out.append(n)
    return tuple(out)
