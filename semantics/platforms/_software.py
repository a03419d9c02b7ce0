"""Software simulators: generic Euler / ZOH stepping and the NIR importers of snnTorch, Norse,
Sinabs, Rockpool, Spyx, Lava (float) and Nengo.

Each class docstring names the released source it models; ``shared/PLATFORMS.md`` gives the
measurements behind every rule. Each class is a final :class:`Platform`; its field defaults are
its latest modelled version, ``PRESETS`` the other versions and "as the NIR paper ran it"
(``preset="paper"``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp

from ..errors import PlatformError
from ..maps import Affine, Flatten, Linear, Map
from ..neurons import IF, LIF, CubaLIF
from ._base import Check, Platform, execution_order, kind_of, nirtorch_name_collision, recurrent_layers


def _allclose(a, b, rtol=1e-5, atol=1e-8):
    """``numpy.allclose`` (its default tolerances), as a traceable predicate."""
    return jnp.all(jnp.abs(a - b) <= atol + rtol * jnp.abs(b))


def _not_unique(a):
    a = jnp.ravel(a)
    return jnp.any(a != a[0])


@dataclasses.dataclass(frozen=True)
class Euler(Platform):
    """Generic forward Euler at the given dt: ``v' = (1 - a) v + a r x`` (CubaLIF:
    ``I' = (1 - dt/tau_syn) I + dt/tau_syn w_in x``, then ``v`` with the new ``I``);
    fire ``v > theta``, reset to ``v_reset`` in the same step; feed-forward same
    step, back edges +1. A spike is the value ``q/dt`` for one step (charge ``q``).
    Not a product: the textbook discretization, a reference for the others."""

    name: ClassVar[str] = "euler"
    source: ClassVar[str] = "forward Euler (textbook)"
    reset_options: ClassVar[tuple] = ("v_reset", "subtract", "zero")

    version: str = "generic"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">"
    spike_value: str = "area"


@dataclasses.dataclass(frozen=True)
class ZOH(Platform):
    """Generic exact zero-order-hold stepping: the ideal model's propagator over each step
    (``v' = d v + (1 - d)(v_leak + r x)``; CubaLIF's 2x2 propagator), with spikes tested once
    per step (``v >= theta``) and the reset at the step's end. Its only deviation from the
    ideal model is the step itself."""

    name: ClassVar[str] = "zoh"
    source: ClassVar[str] = "exact propagator per step (DESIGN.md rule 8)"
    reset_options: ClassVar[tuple] = ("v_reset", "subtract", "zero")

    version: str = "generic"
    spike_value: str = "area"


@dataclasses.dataclass(frozen=True)
class SnnTorch(Platform):
    """snnTorch 1.0.0 (``snntorch/import_nir.py``, ``_neurons/leaky.py``, ``synaptic.py``).

    LIF -> ``Leaky(beta = 1 - dt/tau, threshold = theta tau/(r dt))``:
    ``v = beta v + x; s = v > theta'; v = 0 where s``. CubaLIF -> ``Synaptic``:
    ``I = alpha I + x; v = beta v + I`` (new I), threshold ``theta tau_syn/(w_in dt)``,
    requires ``r == tau_mem/dt``. dt is fixed at 1e-4. v_reset ignored; v_leak must be 0
    (an assertion). Native units: ``v_NIR * tau/(r dt)``. Starts at v = I = 0.
    Quirk ``one_threshold_per_layer``: a LIF layer's threshold is scaled by the first value of
    ``np.unique(r dt/tau)`` (the smallest) for every neuron. Version presets: ``"0.9.4"`` (the
    paper's braille runs): RSynaptic's reset lands one step late (``reset_timing='next_recurrent'``:
    ``_neurons/rsynaptic.py`` ``forward`` applies the immediate reset to the local ``mem``, not
    ``self.mem``, so only the next step's ``mem_reset`` resets; Leaky, Synaptic and RLeaky reset in
    the same step).
    """

    name: ClassVar[str] = "snntorch"
    source: ClassVar[str] = "snntorch 1.0.0 snntorch/import_nir.py, _neurons/leaky.py, _neurons/synaptic.py"
    units: ClassVar[str] = "snnTorch mem (v_NIR * tau/(r dt); CubaLIF v_NIR * tau_syn/(w_in dt))"
    supported: ClassVar[tuple] = ("LIF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    QUIRKS: ClassVar[dict] = {
        "one_threshold_per_layer": ("snntorch one threshold per LIF layer (np.unique(r dt/tau)[0])", False),
        "nirtorch_fx_import": ("snntorch-1.0.0 import_from_nir (nirtorch 2.6): a recurrent block computes "
                               "W_rec (x + s_prev) + b_rec", False),
    }
    PRESETS: ClassVar[dict] = {
        "1.0.0": {},
        "0.9.4": {"version": "0.9.4", "reset_timing": "next_recurrent", "nirtorch_fx_import": False},
        "paper": {"version": "0.9.4 (as the NIR paper ran it)", "reset_timing": "next_recurrent",
                  "nirtorch_fx_import": False},
    }

    version: str = "1.0.0"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "threshold"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    dt_convention: str = "fixed_1e-4"
    ignores: frozenset = frozenset({"v_reset"})
    initial_state: str = "zero"
    one_threshold_per_layer: bool = True
    nirtorch_fx_import: bool = True
    """snnTorch 1.0.0 ``import_from_nir``: ``_create_rnn_subgraph`` replaces a neuron <-> Affine/Linear
    pair by a subgraph with the edges input -> w_rec, w_rec -> lif, lif -> w_rec, and nirtorch 2.6's
    ``nir_interpreter`` runs them literally, so the layer computes ``h = W_rec (x + s_prev) + b_rec``
    (then ``I = alpha I + h``), not ``x + W_rec s_prev + b_rec``. The same interpreter crashes
    (``AttributeError: 'GraphModule' object has no attribute 'items'``) when it reaches the block
    before the block's source is built (see :meth:`check`). Recorded in ``tests/golden/snntorch``
    (rnn_a, rnn_b, rnn_c, rnn_lif, names_rnn_*; found by the parity recorders)."""

    def quirks(self):
        q = super().quirks()
        q["snntorch-0.9.4 RSynaptic reset one step late"] = self.reset_timing == "next_recurrent"
        return q

    def check(self, net):
        super().check(net)
        clash = nirtorch_name_collision(net)
        if clash:
            raise PlatformError(
                f"snnTorch (nirtorch) keys modules by name.replace('.', '_'): nodes {clash[0]!r} and {clash[1]!r} "
                "collide, and the import fails (RuntimeError: The size of tensor a must match the size of tensor b). "
                "Rename one of them."
            )
        clash = _block_prefix_clash(net)
        if clash:
            raise PlatformError(
                f"snnTorch import_from_nir names each recurrent block after its neuron's prefix before the first '.': "
                f"{clash[0]!r} and {clash[1]!r} both become {clash[0].split('.')[0]!r}, the second block replaces the "
                "first, and running the model fails (RuntimeError: mat1 and mat2 shapes cannot be multiplied). Give "
                "the recurrent layers distinct prefixes."
            )
        if self.nirtorch_fx_import and _snntorch_crashes(net):
            raise PlatformError(
                "snnTorch 1.0.0 import_from_nir cannot import this graph: AttributeError: 'GraphModule' object has no "
                "attribute 'items' (nirtorch 2.6 _construct_fx_graph visits the nodes in the file's alphabetical "
                "order from the Input, re-queues a node whose source is not built yet, and re-visiting the recurrent "
                f"block {sorted(recurrent_layers(net))} re-runs its construction; here a node feeding the block sorts "
                "before the Input's name). Rename the nodes (e.g. the Input 'input' and the layers after it)."
            )

    def edges(self, net):
        preds = super().edges(net)
        if not self.nirtorch_fx_import:
            return preds
        for n, m in recurrent_layers(net).items():  # the block's input runs through W_rec with the spikes
            outside = tuple(p for p in preds[n] if p != m)
            preds[n] = (m,)
            preds[m] = outside + (n,)
        return preds

    def reject_reason(self, kind):
        if kind == "IF":
            return "snnTorch 1.0.0 maps IF to a broken Leaky(beta=0.9) that crashes the next node."
        return f"snnTorch 1.0.0 import_nir raises 'Unknown node type' for {kind}."

    def value_checks(self, net, dt):
        out = []
        for n in net.neurons:
            node = net.nodes[n]
            if isinstance(node, (LIF, CubaLIF)):
                out.append(Check(n, jnp.logical_not(_allclose(node.v_leak, 0.0)),
                                 f"snnTorch import_nir asserts v_leak == 0 ('v_leak not supported'); node {n!r} has "
                                 "v_leak != 0."))
            if isinstance(node, CubaLIF):
                out.append(Check(n, jnp.logical_not(_allclose(node.r, node.tau_mem / 1e-4)),
                                 f"snnTorch import_nir asserts r == tau_mem/dt with dt = 1e-4 for CubaLIF ('r not "
                                 f"supported in CubaLIF'); node {n!r} breaks it."))
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)
        if isinstance(node, LIF) and self.one_threshold_per_layer and self.input_scale == "threshold":
            # snnTorch takes np.unique(r*dt/tau)[0] (the smallest) for the whole layer's threshold.
            f = jnp.min(node.r * self.step_dt(node, dt) / node.tau)
            c = {**c, "v_unit": c["v_unit"] * 0 + f, "theta": node.v_threshold / f + 0 * c["theta"]}
        return c


@dataclasses.dataclass(frozen=True)
class Norse(Platform):
    """Norse 1.1.0 (``norse/torch/utils/import_nir.py``, ``functional/lif_box.py``, ``iaf.py``,
    ``leaky_integrator_box.py``).

    LIF: ``v = v + (dt/tau)((x + v_leak) - v); z = v > theta; v = 0 where z``; r ignored
    (``ignores`` ``LIF.r``). IF (``IAFCell``): ``v = v + x``, r ignored (quirk ``iaf_without_dt``: no
    dt either). CubaLIF: a ``LIBoxCell`` synapse then a ``LIFBoxCell``:
    ``I = I + (dt/tau_syn)((v_leak - I) + w_in x); v = v + (dt/tau_mem)((r I + v_leak) - v)`` with
    the new I; reset to 0 (``reset="subtract"`` = ``reset_method=reset_subtract``). Every state
    starts at ``v_leak`` (``initial_state='rest'``; quirk ``synapse_v_leak``: the synapse box also
    starts at and leaks toward ``v_leak``). Executor: nirtorch GraphExecutor, DFS pre-order (the
    late branch of a diamond joins one step late), back edges +1. Norse imports NIR
    ``Flatten(start_dim=0)`` as ``torch.nn.Flatten(0)``, which also merges the batch axis, so a
    batched CNN fails in Norse; the model runs each sample as Norse runs a batch of one.
    """

    name: ClassVar[str] = "norse"
    source: ClassVar[str] = ("norse 1.1.0 norse/torch/utils/import_nir.py, functional/lif_box.py, functional/iaf.py, "
                             "functional/leaky_integrator_box.py; nirtorch 2.6")
    reset_options: ClassVar[tuple] = ("zero", "subtract")
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    QUIRKS: ClassVar[dict] = {
        "iaf_without_dt": ("norse-1.1.0 IAFCell integrates v = v + x (no dt)", False),
        "synapse_v_leak": ("norse-1.1.0 CubaLIF synapse (LIBoxCell) starts at and leaks toward v_leak", False),
    }
    PRESETS: ClassVar[dict] = {"1.1.0": {}, "paper": {"version": "1.1.0 (as the NIR paper ran it: from_nir(dt=1e-4))"}}

    version: str = "1.1.0"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    executor_order: str = "nirtorch_dfs"
    ignores: frozenset = frozenset({"LIF.r", "IF.r", "v_reset"})
    initial_state: str = "rest"
    iaf_without_dt: bool = True
    synapse_v_leak: bool = True

    def reject_reason(self, kind):
        return f"Norse 1.1.0 from_nir has no mapping for {kind}."

    def check(self, net):
        super().check(net)
        _refuse_name_collision(self, net)

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)
        z = c["v_unit"] * 0
        if isinstance(node, IF) and self.iaf_without_dt and self.input_scale in ("euler", "exact"):
            c = {**c, "a_x": (1.0 if self.ignored(node, "r") else node.r) + z}
        if isinstance(node, CubaLIF) and self.synapse_v_leak:  # the synapse is an LI box with v_leak
            v_leak = z if self.ignored(node, "v_leak") else node.v_leak + z
            a_s = 1.0 - c["ds"]
            c = {**c, "cs": a_s * v_leak / c["i_unit"] + z, "i_rest": v_leak / c["i_unit"] + z}
        return c


@dataclasses.dataclass(frozen=True)
class Sinabs(Platform):
    """Sinabs 3.1.3 (``sinabs/nir.py``, ``layers/functional/lif.py``, ``activation/*``).

    LIF: ``v = alpha v + x; n = trunc(v/theta) where v > 0 (fires at v >= theta);
    v -= n theta`` with ``alpha = exp(-1/tau)``: tau is read in time steps
    (``dt_convention='steps'``; the paper divided tau by dt by hand: ``preset="paper"``).
    IF: the same with alpha = 1, then ``v = max(v, -theta)`` (``floor='minus_theta_if'``).
    LI: ``v = alpha v + x``. r ignored; v_leak must be 0. Starts at v = 0.
    Whole-sequence layers: feed-forward same step; no recurrence.
    """

    name: ClassVar[str] = "sinabs"
    source: ClassVar[str] = "sinabs 3.1.3 sinabs/nir.py, layers/functional/lif.py, activation/spike_generation.py"
    units: ClassVar[str] = "input units (r ignored)"
    supported: ClassVar[tuple] = ("LIF", "IF", "LI", "Affine", "Conv", "Pool2d", "Flatten", "Identity")
    QUIRKS: ClassVar[dict] = {
        "first_input_only": ("nirtorch-2.0.2 first in-edge only", False),
        "drop_back_edges": ("sinabs-3.1.3 whole-sequence layers drop the back edges of cycles", False),
    }
    PRESETS: ClassVar[dict] = {
        "3.1.3": {},
        "paper": {"version": "3.1.3 (as the NIR paper ran it: tau / dt and the input x r dt/tau by hand)",
                  "dt_convention": "argument", "weight_gain": "dt_over_tau"},
    }

    version: str = "3.1.3"
    decay: str = "exact"
    synapse_decay: str = "exact"
    input_scale: str = "unit"
    threshold_test: str = ">="
    spikes_per_step: int = 2**31
    reset: str = "subtract"
    floor: str | None = "minus_theta_if"
    dt_convention: str = "steps"
    ignores: frozenset = frozenset({"r", "v_reset"})
    initial_state: str = "zero"
    first_input_only: bool = True
    """nirtorch-2.0.2 quirk (Sinabs' executor): a node with several in-edges receives only the first."""
    drop_back_edges: bool = True
    """Sinabs quirk: layers run whole sequences in one call, so the source of a back edge never has a
    cached output and the edge contributes nothing: a recurrent LIF layer runs without its recurrence
    (``lif = LIF(W_in x + b_in)``), silently (recorded: tests/golden/sinabs/rnn_lif)."""

    def quirks(self):
        q = super().quirks()
        q["sinabs-3.1.3 tau read in steps"] = self.dt_convention == "steps"
        return q

    def single_input(self, net):
        return _single_input_nodes(net) if self.first_input_only else ()

    def reject_reason(self, kind):
        return (f"Sinabs 3.1.3 from_nir has no mapping for {kind} (Linear without bias, CubaLIF, I, CubaLI, Threshold, "
                "Scale, Delay unsupported).")

    def check(self, net):
        super().check(net)
        _refuse_name_collision(self, net)

    def edges(self, net):
        preds = super().edges(net)
        if self.drop_back_edges:
            _, back = execution_order(net)
            preds = {d: tuple(p for p in ps if (p, d) not in back) for d, ps in preds.items()}
        return preds

    def value_checks(self, net, dt):
        return [Check(n, jnp.any(net.nodes[n].v_leak != 0), f"Sinabs needs v_leak == 0; node {n!r} has v_leak != 0.")
                for n in net.neurons if hasattr(net.nodes[n], "v_leak")]


@dataclasses.dataclass(frozen=True)
class Rockpool(Platform):
    """Rockpool 3.1.0 (``rockpool/nn/modules/torch/nir.py``, ``lif_torch.py``).

    CubaLIF -> LIFTorch: ``I = (I + x) exp(-dt/tau_syn); v = v exp(-dt/tau_mem) + I + v_leak;
    n = floor(v/theta) where v >= theta (cap 2^16); v -= n theta``; w_in and r ignored;
    dt inferred per layer as ``min(tau_mem/(1 + r))``. LIFTorch starts at ``vmem = isyn = 0``
    (``initial_state='zero'``; ``lif_torch.py`` ``LIFBaseTorch.__init__``). Stepped
    GraphExecutor: back edges +1. Plain LIF import crashes (``native_lif=True`` models
    Rockpool's own LIFTorch without synapse at the given dt, as the paper's LIF trace was
    recorded; ``preset="paper"`` also multiplies the weights by r dt/tau as the paper did).
    """

    name: ClassVar[str] = "rockpool"
    source: ClassVar[str] = "rockpool 3.1.0 rockpool/nn/modules/torch/nir.py, lif_torch.py"
    units: ClassVar[str] = "NIR volts with Rockpool's scaling (r, w_in ignored)"
    supported: ClassVar[tuple] = ("CubaLIF", "LIF", "Affine", "Linear", "Identity")
    OPTIONS: ClassVar[dict] = {"native_lif": (False, True)}
    PRESETS: ClassVar[dict] = {
        "3.1.0": {},
        "paper": {"version": "3.1.0 (as the NIR paper ran it: its own LIFTorch, weights x r dt/tau)",
                  "native_lif": True, "weight_gain": "dt_over_tau"},
    }

    version: str = "3.1.0"
    decay: str = "exact"
    synapse_decay: str = "exact"
    input_scale: str = "unit"
    coupling: str = "new"
    synapse_order: str = "add_then_decay"
    threshold_test: str = ">="
    spikes_per_step: int = 2**16
    reset: str = "subtract"
    dt_convention: str = "rockpool_inferred"
    ignores: frozenset = frozenset({"r", "w_in", "v_reset"})
    initial_state: str = "zero"
    native_lif: bool = False

    def quirks(self):
        q = super().quirks()
        q["rockpool-3.1.0 LIF import crashes"] = not self.native_lif
        return q

    def check(self, net):
        super().check(net)
        _refuse_name_collision(self, net)
        for n in net.neurons:
            if isinstance(net.nodes[n], LIF) and not self.native_lif:
                raise PlatformError(
                    f"Rockpool 3.1.0 cannot import LIF node {n!r} (AttributeError: 'LIF' object has no attribute "
                    "'tau_mem'); pass native_lif=True to model Rockpool's own synapse-free LIFTorch instead."
                )

    def step_dt(self, node, dt):
        if isinstance(node, LIF):
            return dt
        return super().step_dt(node, dt)


@dataclasses.dataclass(frozen=True)
class Spyx(Platform):
    """Spyx 1.0.0 (``spyx/nir.py``, ``spyx/nn.py``); ``preset="0.1"`` for the paper's 0.1.x.

    LIF: ``s = v_{t-1} > theta; v = beta v_{t-1} + x - s theta`` (fires from the
    previous v: +1 per spiking layer), ``beta = clip(1 - dt/tau, 0, 1)``.
    CubaLIF: ``s = v > theta; v -= s theta; I = alpha I + x; v = beta v + I``;
    a recurrent CubaLIF drops the W_rec bias. r, w_in, v_leak, v_reset ignored. Starts at 0.
    Spyx 0.1.x multiplied the incoming weights by dt/tau (by w_in for CubaLIF):
    ``input_scale='gain_only'``. Spyx silently drops unknown nodes and follows one branch;
    nirjax refuses them.
    """

    name: ClassVar[str] = "spyx"
    source: ClassVar[str] = "spyx 1.0.0 spyx/nir.py, spyx/nn.py"
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    QUIRKS: ClassVar[dict] = {
        "follow_first_chain": ("spyx-1.0.0 follows only the first out-edge chain", False),
        "drop_rec_bias": ("spyx-1.0.0 drops the W_rec bias", False),
        "flatten_channels_last": ("spyx-1.0.0 flattens (C, H, W) in channels-last order", False),
    }
    PRESETS: ClassVar[dict] = {
        "1.0.0": {},
        "0.1": {"version": "0.1", "input_scale": "gain_only", "ignores": frozenset({"r", "v_leak", "v_reset"})},
        "paper": {"version": "0.1.x (as the NIR paper ran it)", "input_scale": "gain_only",
                  "ignores": frozenset({"r", "v_leak", "v_reset"})},
    }

    version: str = "1.0.0"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    order: str = "fire_first"
    threshold_test: str = ">"
    reset: str = "subtract"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    initial_state: str = "zero"
    follow_first_chain: bool = True
    """spyx-1.0.0 quirk: only the first out-edge chain from the input is built; a join receives
    only that chain (Spyx drops the other branch silently; nirjax models it)."""
    drop_rec_bias: bool = True
    """spyx-1.0.0 quirk: a recurrent CubaLIF (RCuBaLIF) drops the bias of W_rec."""
    flatten_channels_last: bool = True
    """spyx-1.0.0 quirk: its tensors are channels-last (``nnx.Conv``), so ``Flatten`` turns a
    ``(C, H, W)`` value into ``(H, W, C)`` order while the next Affine keeps NIR's channels-first
    weight columns (``spyx/nir.py`` does not permute them)."""

    def quirks(self):
        q = super().quirks()
        q["spyx-0.1.x scales incoming weights by dt/tau"] = self.input_scale == "gain_only"
        return q

    def check(self, net):
        super().check(net)
        clash = _block_prefix_clash(net)
        if clash:
            raise PlatformError(
                f"Spyx 1.0.0 from_nir merges each recurrent block into one node named after its neuron's prefix "
                f"before the first '.': {clash[0]!r} and {clash[1]!r} both become {clash[0].split('.')[0]!r}, and its "
                "edge walk then loops forever (recorded: from_nir never returns) or skips layers. Give the recurrent "
                "layers distinct prefixes."
            )
        if "input" not in net.inputs:
            raise PlatformError(
                f"Spyx 1.0.0 from_nir walks the edge list from the node literally named 'input' (spyx/nir.py "
                f"_build_model._order_edge_list); this graph's input is {list(net.inputs)}, so Spyx builds an empty "
                "model that returns its input unchanged, silently. Rename the Input node 'input'."
            )
        for name, node in net.nodes.items():
            if self.flatten_channels_last and isinstance(node, Flatten) and len(node.in_shape) == 3 \
                    and len(node.out_shape) != 1:
                raise PlatformError(
                    f"Spyx 1.0.0 cannot run node {name!r} (Flatten {node.in_shape} -> {node.out_shape}): its Flatten "
                    "merges every axis of a channels-last value; a partial flatten has no Spyx equivalent."
                )

    def maps(self, net, dt, mapping):
        out = super().maps(net, dt, mapping)
        if self.drop_rec_bias:  # the maps on back edges (W_rec) lose their bias
            _, back = execution_order(net)
            for p, _ in back:
                if p in out and isinstance(out[p], Affine):
                    out[p] = Linear(weight=out[p].weight, in_shape=out[p].in_shape, out_shape=out[p].out_shape)
        if self.flatten_channels_last:
            out = {n: (FlattenHWC(in_shape=f.in_shape, out_shape=f.out_shape)
                       if isinstance(f, Flatten) and len(f.in_shape) == 3 else f) for n, f in out.items()}
        return out

    def single_input(self, net):
        return _single_input_nodes(net) if self.follow_first_chain else ()

    def reject_reason(self, kind):
        return f"Spyx 1.0.0 silently drops {kind} nodes as identity; nirjax refuses instead of approximating."

    def fire_first_reset_after_decay(self, node):
        return kind_of(node) in ("LIF", "IF")

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)  # Spyx clips beta and alpha to [0, 1]
        return {**c, "dm": jnp.clip(c["dm"], 0, 1), **({"ds": jnp.clip(c["ds"], 0, 1)} if "ds" in c else {})}


class FlattenHWC(Map):
    """Flatten a whole ``(C, H, W)`` value in ``(H, W, C)`` order (a channels-last framework's
    Flatten: Spyx 1.0.0)."""

    in_shape: tuple
    out_shape: tuple

    def __init__(self, in_shape, out_shape):
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)

    def linear(self, x):
        return jnp.reshape(jnp.transpose(x, (1, 2, 0)), self.out_shape)


@dataclasses.dataclass(frozen=True)
class LavaFloat(Platform):
    """Lava / lava-dl floating point (``lava/proc/lif/models.py`` PyLifModelFloat).

    ``u = u (1 - du) + a_in; v = v (1 - dv) + u + bias; s = v > vth; v = 0 where s``
    with ``dv = dt/tau`` (``dt/tau_mem``), ``du = 1`` for a plain LIF (``dt/tau_syn``
    for CubaLIF); the input is not scaled (r, w_in, v_leak, v_reset ignored). Every Dense adds
    +1 step (the paper's LIF run behaves like ONE Dense). Starts at u = v = 0.
    ``preset="paper"``: the weights pre-multiplied by r dt/tau, as the paper did.
    """

    name: ClassVar[str] = "lava"
    source: ClassVar[str] = "lava-nc lava/proc/lif/models.py PyLifModelFloat, lava/proc/dense/models.py"
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    PRESETS: ClassVar[dict] = {
        "float": {},
        "paper": {"version": "float (as the NIR paper ran it: weights x r dt/tau, one Dense)",
                  "weight_gain": "dt_over_tau"},
    }

    version: str = "float (lava-nc 0.9 PyLifModelFloat)"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    latency: str = "per_weight"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    initial_state: str = "zero"

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
    ``tau' = -dt/ln(1 - dt/tau_syn)``: ``y = (1 - dt/tau_syn) y + (dt/tau_syn) x``
    (``synapse_decay='euler'``), and the neuron sees ``J_t = gain y_{t-1}`` (nengo applies the
    synapse one step late: +1 per CubaLIF input edge). IF -> the paper's IF: ``v += J dt`` with
    gain ``1/(theta dt)``, spike ``v > 1``, reset 0, no floor, amplitude dt (quirk ``paper_if``).
    Native units v/theta. Starts at v = 0.
    """

    name: ClassVar[str] = "nengo"
    source: ClassVar[str] = ("nengo 4.1.0 nengo/neurons.py (LIF.step), nengo/synapses.py Lowpass; NIR paper "
                             "notebook nir_to_nengo (PaperIF)")
    units: ClassVar[str] = "v / v_threshold"
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    QUIRKS: ClassVar[dict] = {
        "lowpass_w_in_at_neuron": ("nengo CubaLIF: w_in r applied by the neuron's gain after the Lowpass", False),
        "paper_if": ("NIR paper notebook IF: v += x/theta, no floor, amplitude dt", False),
    }
    PRESETS: ClassVar[dict] = {"4.1.0": {}, "paper": {"version": "4.1.0 (as the NIR paper ran it)"}}

    version: str = "4.1.0"
    decay: str = "exact"
    synapse_decay: str = "euler"
    input_scale: str = "exact"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    floor: str | None = "zero"
    latency: str = "per_synapse"
    spike_value: str = "per_dt"
    ignores: frozenset = frozenset({"v_reset"})
    initial_state: str = "zero"
    lowpass_w_in_at_neuron: bool = True
    paper_if: bool = True

    def value_checks(self, net, dt):
        out = []
        for n in net.neurons:
            node = net.nodes[n]
            if isinstance(node, LIF):
                out.append(Check(n, jnp.any(node.r != 1), f"The Nengo mapping asserts r == 1; LIF node {n!r} has r != 1."))
            if isinstance(node, (LIF, CubaLIF)):
                out.append(Check(n, jnp.any(node.v_leak != 0),
                                 f"The Nengo mapping asserts v_leak == 0; node {n!r} has v_leak != 0."))
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)
        th = node.v_threshold
        z = c["v_unit"] * 0
        if isinstance(node, CubaLIF) and self.lowpass_w_in_at_neuron and self.coupling == "new":
            # y = ds y + (1 - ds) x; v = dm v + (1 - dm) (w_in r / theta) y  (w_in r in the neuron's gain)
            dm = c["dm"]
            c = {**c, "gs": (1 - c["ds"]) + z, "a_new": (1 - dm) * node.w_in * node.r / th + z, "cm": z}
            c.pop("a_x", None)
        elif isinstance(node, IF) and self.paper_if:
            c = {**c, "a_x": 1.0 / th + z}
        else:
            c = {**c, **{k: c[k] / th for k in ("a_new", "a_old", "a_x", "cm") if k in c}}
        if self.spike_value == "per_dt" and isinstance(node, (IF, CubaLIF)):
            c["spike_out"] = dt + z  # amplitude dt: a spike is 1 on the wire
        out = {**c, "v_unit": th + z, "theta": 1.0 + z, "v_reset": c["v_reset"] / th, "v_rest": c["v_rest"] / th}
        if "v_floor" in out and self.floor != "zero":
            out["v_floor"] = out["v_floor"] / th
        if isinstance(node, IF) and self.paper_if:
            out.pop("v_floor", None)  # the paper's IF has no floor
        return out


def _refuse_name_collision(platform, net):
    clash = nirtorch_name_collision(net)
    if clash:
        raise PlatformError(
            f"{platform.name} {platform.version}: its nirtorch executor keys modules by name.replace('.', '_'); nodes "
            f"{clash[0]!r} and {clash[1]!r} collide and the import fails (RuntimeError: The size of tensor a must "
            "match the size of tensor b). Rename one of them."
        )


def _block_prefix_clash(net):
    """Two recurrent blocks (neuron <-> Affine/Linear pairs) whose neurons share the name prefix before
    the first '.', which snnTorch's and Spyx's ``_replace_rnn_subgraph_with_nirgraph`` use as the block's
    name (tests/parity/verify_rules.py ``rnn_rewire``), or None."""
    seen = {}
    for n in sorted(recurrent_layers(net)):
        k = n.split(".")[0]
        if k in seen:
            return seen[k], n
        seen[k] = n
    return None


def _snntorch_crashes(net):
    """Whether snnTorch 1.0.0 ``import_from_nir`` raises ``AttributeError: 'GraphModule' object has no
    attribute 'items'`` on ``net`` read from a .nir file (``nir.read`` returns the nodes in alphabetical
    order). ``_replace_rnn_subgraph_with_nirgraph`` replaces each recurrent pair by one NIRGraph node
    named ``neuron.split('.')[0]``, appended after the other nodes; nirtorch 2.6 ``_construct_fx_graph``
    pops nodes from a queue in that order, moves nodes before the first Input to the back, re-queues a
    node whose sources are not built yet, and a second visit of a NIRGraph node crashes. The rule was
    found and checked against the real import by the parity recorders (tests/parity/verify_rules.py)."""
    blocks = recurrent_layers(net)
    if not blocks:
        return False
    nodes = sorted((*net.inputs, *net.nodes, *net.outputs))
    edges = [(p, d) for d, ps in net.predecessors for p in ps]
    for lif, w in blocks.items():
        key = lif.split(".")[0]
        edges = [e for e in edges if e not in ((lif, w), (w, lif))]
        nodes = [k for k in nodes if k not in (lif, w)]
        edges = [(a, key if b == lif else b) for a, b in edges]
        edges = [(key if a == lif else a, b) for a, b in edges]
        if key not in nodes:
            nodes.append(key)
    block_names = {lif.split(".")[0] for lif in blocks}
    queue, built, started = list(nodes), set(), False
    visits = {k: 0 for k in nodes}
    for _ in range(10000):
        if not queue:
            break
        k = queue.pop(0)
        if not started and k not in net.inputs:
            queue.append(k)
            continue
        started = True
        if k in net.inputs:
            built.add(k)
            continue
        srcs = [a for a, b in edges if b == k]
        if k in net.outputs:
            if queue and k not in built:
                queue.append(k)
            else:
                built.add(k)
            continue
        if k in block_names:
            visits[k] += 1
            if visits[k] > 1:
                return True
        missing = [a for a in srcs if a not in built and not (len(srcs) > 1 and _edge_reaches(k, a, edges))]
        if missing:
            queue.append(k)
            continue
        built.add(k)
    return False


def _edge_reaches(start, end, edges):
    seen, todo = set(), [start]
    while todo:
        c = todo.pop()
        if c == end:
            return True
        if c not in seen:
            seen.add(c)
            todo += [b for a, b in edges if a == c]
    return False


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
