"""Neuromorphic chips: Loihi 2 (Lava fixed point), SpiNNaker2, Xylo, Speck.

Fixed-point platforms quantize the maps (integer-valued float arrays) and run an integer step
rule (:mod:`semantics.platforms.rules`); ``quantization=None`` gives the same platform in
floating point, so ``deviation`` can attribute error to the quantization alone. Every
quantiser is a straight-through estimator (:func:`~semantics.platforms.rules.ste`): the forward
value is the chip's integer, the derivative that of the real-valued map it rounds, so surrogate
gradients reach the NIR parameters. Graph-level scales (one weight scale per population) are
computed by :meth:`mapping` inside the program build, never stored on the platform.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax.numpy as jnp

from ..errors import PlatformError
from ..maps import Affine, Conv, Linear, Map
from ..neurons import IF, LIF, CubaLIF
from ._base import Check, Platform, kind_of, set_weights
from .rules import NeuronRule, ste

_WEIGHTS = (Affine, Linear, Conv)


def _weight_maps_into(net, neuron):
    """Weight maps on map-only paths into ``neuron`` (in a deterministic order)."""
    out, seen, stack = [], set(), list(net.preds(neuron))
    while stack:
        p = stack.pop()
        if p in seen or p not in net.nodes or not isinstance(net.nodes[p], Map):
            continue
        seen.add(p)
        if isinstance(net.nodes[p], _WEIGHTS):
            out.append(p)
        else:
            stack.extend(net.preds(p))
    return out


_FIXED_AXES = ("decay", "synapse_decay", "input_scale", "coupling", "synapse_order", "order", "threshold_test",
               "spikes_per_step", "reset", "reset_timing", "floor", "dt_convention", "ignores", "spike_value")


def _fixed_point_axes(platform, quantized):
    """Fixed-point rules are integer recipes: their axes can move only in float."""
    if not quantized:
        return
    default = type(platform)()
    for ax in _FIXED_AXES:
        if getattr(platform, ax) != getattr(default, ax):
            raise PlatformError(
                f"{platform.name}: axis {ax!r} is part of the fixed-point rule; switch it only with quantization=None."
            )


@dataclasses.dataclass(frozen=True)
class Loihi2(Platform):
    """Intel Loihi 2 through Lava's bit-accurate fixed-point models
    (``lava/proc/lif/models.py`` PyLifModelBitAcc, ``proc/dense/models.py``,
    ``utils/weightutils.py``; lava-nc 0.9).

    ``u = wrap24(rtz(u (4096 - (du + 1))/4096) + (a_in << 6))``;
    ``v = sat24(rtz(v (4096 - dv)/4096) + u + bias)``; spike ``v > vth << 6``; ``v = 0``.
    Paper mapping: ``dv = int(dt/tau 4095)``, ``du = 4095`` (LIF; CubaLIF
    ``int(dt/tau_syn 4095)``), ``vth = int(theta 131071) >> 9``, weights ``int(256 W)``
    (8 bit: excitatory [0, 255], inhibitory [-256, 0], mixed [-256, 255] losing the
    lowest bit); r, v_leak, v_reset ignored; a non-zero Affine bias is rejected.
    Each Dense delivers at t+1. Starts at u = v = 0. ``quantization=None`` runs the same
    rules in float (Lava's float model). Native units: integers; NIR = native / (256 * 64).
    The integer values are exact in float64 (use x64 for bit accuracy). ``preset="paper"``:
    the weights pre-multiplied by r dt/tau before quantization, as the NIR paper did.
    """

    name: ClassVar[str] = "loihi2"
    source: ClassVar[str] = ("lava-nc lava/proc/lif/models.py PyLifModelBitAcc, lava/proc/dense/models.py, "
                             "lava/utils/weightutils.py")
    units: ClassVar[str] = "Loihi integer state (NIR = native / 2^14)"
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    PRESETS: ClassVar[dict] = {
        "lava-0.9": {},
        "paper": {"version": "Lava 0.9 fixed point (as the NIR paper ran it: weights x r dt/tau, one Dense)",
                  "weight_gain": "dt_over_tau"},
    }

    version: str = "Lava 0.9 fixed point (PyLifModelBitAcc)"
    decay: str = "euler"
    synapse_decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    latency: str = "per_weight"
    quantization: str | None = "loihi2"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    initial_state: str = "zero"

    def reject_reason(self, kind):
        return f"the Lava/Loihi 2 NIR mapping has no process for {kind}."

    def check_axes(self):
        if self.quantization not in (None, "loihi2"):
            raise PlatformError(f"loihi2: quantization must be None or 'loihi2', got {self.quantization!r}.")
        _fixed_point_axes(self, self.quantization == "loihi2")

    def value_checks(self, net, dt):
        return [Check(n, jnp.any(m.bias != 0),
                      f"Loihi 2 (paper mapping) rejects Affine/Conv node {n!r} with a non-zero bias (Dense has no bias; "
                      "a neuron bias would change its meaning).")
                for n, m in net.nodes.items() if isinstance(m, (Affine, Conv))]

    def neuron_rule(self, net, name, reset):
        node = net.nodes[name]
        if self.quantization != "loihi2":
            return super().neuron_rule(net, name, reset)
        return NeuronRule(kernel="loihi2", synapse=isinstance(node, CubaLIF), spiking=True, threshold_test=">", cap=1,
                          reset="zero")

    def maps(self, net, dt, mapping):
        out = super().maps(net, dt, mapping)
        if self.quantization != "loihi2":
            return out
        for n, m in out.items():
            if isinstance(m, _WEIGHTS):
                w_real = 256.0 * m.weight
                w = jnp.trunc(w_real)
                w_mixed = jnp.floor(jnp.clip(w, -256, 255) / 2) * 2  # mixed sign: lowest bit lost
                w_q = jnp.where(jnp.all(w >= 0), jnp.clip(w, 0, 255),
                                jnp.where(jnp.all(w <= 0), jnp.clip(w, -256, 0), w_mixed))
                out[n] = set_weights(m, ste(w_q, w_real))
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        if self.quantization != "loihi2":
            return super().neuron_coeffs(name, node, dt, mapping)
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        if isinstance(node, LIF):
            real = dt / node.tau * 4095
            dv, du_eff = ste(jnp.floor(real), real), 4096.0
        elif isinstance(node, IF):
            dv, du_eff = 0.0, 4096.0
        elif isinstance(node, CubaLIF):
            real_v, real_u = dt / node.tau_mem * 4095, dt / node.tau_syn * 4095
            dv, du_eff = ste(jnp.floor(real_v), real_v), ste(jnp.floor(real_u), real_u) + 1
        else:
            raise PlatformError(f"Loihi 2 cannot run node {name!r} ({kind_of(node)}).")
        real = node.v_threshold * 131071
        vth = ste(jnp.floor(jnp.floor(real) / 2**9), real / 2**9)
        unit = 1.0 / (256 * 64)
        return dict(dv=dv + z, du_eff=du_eff + z, theta=vth * 64 + z, bias=z, v_rest=z, v_unit=unit + z,
                    i_unit=unit + z)


@dataclasses.dataclass(frozen=True)
class SpiNNaker2(Platform):
    """SpiNNaker2 through py-spinnaker2 (``s2_nir.py``; the chip's C neuron code is not
    public: ``>`` and the CubaLIF order are inferred).

    ``v = alpha v + sum(w s_{t-1}) + i_offset`` (float32; +1 step per projection even with
    conn_delay = 0); spike ``v > threshold``; reset subtract (default) or to zero
    (``reset="zero"``); v_reset ignored. ``alpha = exp(-dt/tau)`` (EXPONENTIAL,
    default) or ``1 - dt/tau`` (FORWARD: ``decay="euler"``); the input is not scaled,
    instead ``threshold = theta/(a r) * w_scale`` (IF: ``theta/r * w_scale``); weights
    ``round(W w_scale)`` with ``w_scale = 127/max|W|`` (``scale_weights``, int8; nirjax takes one
    scale over all projections into a population, since one threshold must match them). CubaLIF
    synapse decays like v. Rejects two successive weight nodes and CubaLIF after Conv2d. Starts at
    v = 0. ``preset="brian2"``: the Brian2 reference backend (no projection delay);
    ``preset="paper"``: that backend with FORWARD Euler and reset to zero, as the paper's LIF
    trace was recorded.
    """

    name: ClassVar[str] = "spinnaker2"
    source: ClassVar[str] = "py-spinnaker2 spinnaker2/s2_nir.py; Brian2 backend for the paper trace"
    units: ClassVar[str] = "SpiNNaker2 v (threshold theta/(a r) * w_scale)"
    reset_options: ClassVar[tuple] = ("subtract", "zero")
    supported: ClassVar[tuple] = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    PRESETS: ClassVar[dict] = {
        "chip": {},
        "brian2": {"version": "py-spinnaker2 (s2_nir.py), Brian2 backend", "latency": "same"},
        "paper": {"version": "py-spinnaker2 Brian2 backend (as the NIR paper ran it: FORWARD Euler, reset to zero)",
                  "latency": "same", "decay": "euler", "synapse_decay": "euler", "reset": "zero"},
    }

    version: str = "py-spinnaker2 (s2_nir.py)"
    decay: str = "exact"
    synapse_decay: str = "exact"
    input_scale: str = "threshold"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "subtract"
    latency: str = "per_projection"
    quantization: str | None = "spinnaker2_int8"
    ignores: frozenset = frozenset({"v_reset", "v_leak"})
    initial_state: str = "zero"

    def check_axes(self):
        if self.quantization not in (None, "spinnaker2_int8"):
            raise PlatformError(f"spinnaker2: quantization must be None or 'spinnaker2_int8', got {self.quantization!r}.")

    def check(self, net):
        super().check(net)
        for n, m in net.nodes.items():
            if isinstance(m, _WEIGHTS):
                if any(p in net.nodes and isinstance(net.nodes[p], _WEIGHTS) for p in net.preds(n)):
                    raise PlatformError(f"py-spinnaker2 rejects two successive weight nodes (into {n!r}).")
        for n in net.neurons:
            if isinstance(net.nodes[n], CubaLIF) and any(isinstance(net.nodes[p], Conv) for p in _weight_maps_into(net, n)):
                raise PlatformError(f"py-spinnaker2 rejects CubaLIF after Conv2d (node {n!r}).")

    def _groups(self, net):
        """map -> the weight maps whose common maximum sets its scale (the projections into every
        population it feeds)."""
        out = {}
        for m, node in net.nodes.items():
            if isinstance(node, _WEIGHTS):
                ms = {m}
                for n in sorted(net.downstream_consumers(m)):
                    ms.update(_weight_maps_into(net, n))
                out[m] = sorted(ms)
        return out

    def mapping(self, net, dt):
        if self.quantization != "spinnaker2_int8":
            return {}
        groups = self._groups(net)
        mx = {m: jnp.max(jnp.stack([jnp.max(jnp.abs(net.nodes[q].weight)) for q in g])) for m, g in groups.items()}
        scale = {m: jnp.where(v > 0, 127.0 / jnp.where(v > 0, v, 1.0), 1.0) for m, v in mx.items()}
        node_scale = {n: scale[_weight_maps_into(net, n)[0]] for n in net.neurons if _weight_maps_into(net, n)}
        return {"map_scale": scale, "node_scale": node_scale}

    def value_checks(self, net, dt):
        if self.quantization != "spinnaker2_int8":
            return []
        mp = self.mapping(net, dt)
        out = []
        for n in net.neurons:
            ms = _weight_maps_into(net, n)
            if len(ms) > 1:
                s = jnp.stack([mp["map_scale"][m] for m in ms])
                out.append(Check(n, jnp.any(s != s[0]),
                                 f"py-spinnaker2 int8 weights: the projections {ms} into node {n!r} feed other "
                                 "populations too, so no single threshold scale matches them."))
        return out

    def maps(self, net, dt, mapping):
        out = super().maps(net, dt, mapping)
        if self.quantization != "spinnaker2_int8":
            return out
        for n, m in out.items():
            if isinstance(m, _WEIGHTS):
                s = mapping["map_scale"][n]
                b = ste(jnp.round(m.bias * s), m.bias * s) if hasattr(m, "bias") else None
                out[n] = set_weights(m, ste(jnp.round(m.weight * s), m.weight * s), b)
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)
        if self.quantization == "spinnaker2_int8":
            ws = mapping["node_scale"].get(name, 1.0)
            c = {**c, "theta": c["theta"] * ws, "v_unit": c["v_unit"] / ws, "i_unit": c["i_unit"] / ws}
        return c


@dataclasses.dataclass(frozen=True)
class Xylo(Platform):
    """SynSense Xylo Audio 2, bit-accurate to xylosim v2 (``xylosim.v2.XyloLayer``) with the
    rockpool-style NIR mapping and rockpool 3.1.0 ``global_quantize``
    (``rockpool/transform/quantize_methods.py``; recorded in ``tests/parity/record_xylosim.py``).

    Per step: input events add to ``i_syn``; hidden spikes of the previous step add via
    ``w_rec`` / ``w_out`` (+1 per hidden hop); ``i_syn -= decay(i_syn, dash_syn)``;
    ``v += -decay(v, dash_mem) + i_syn + bias``; ``while v >= thr and n < 31: v -= thr``
    (readout neurons: at most one spike per step).
    ``decay(x, dash) = x >> dash`` (floor), or ``sign(x)`` when that is 0. State int16
    saturating, starting at 0. Mapping: ``dash = round(log2(tau/dt))`` (tau must exceed dt);
    CubaLIF weights ``W w_in dt/tau_syn``, threshold ``theta/(r dt/tau_mem)``, bias ``b w_in``
    (on v); a plain LIF has no synapse on Xylo: with ``approximate=True`` it gets ``dash_syn = 1``,
    weights ``W k`` with ``k = r (1 - exp(-dt/tau))`` (``lif_gain='zoh'``, the PLATFORMS.md
    prediction) or ``r dt/tau`` (``'euler'``), bias ``b k``; refused otherwise. Neurons fed
    only by hidden neurons and feeding an Output are readout neurons. Scales: hidden
    ``127/max(|w_in|, |w_rec|, |bias|)``, readout ``127/max(|w_out|, |bias_out|)``; the
    readout bias uses the hidden scale (rockpool-3.1.0 quirk). ``round`` half to even.
    ``quantization=None``: the same rules unrounded, decays ``x 2^-dash``, no saturation.
    """

    name: ClassVar[str] = "xylo"
    source: ClassVar[str] = ("xylosim v2 XyloLayer; rockpool 3.1.0 devices/xylo/syns61201/xylo_sim.py, "
                             "transform/quantize_methods.py global_quantize")
    units: ClassVar[str] = "Xylo integer state (NIR ~ native / hidden scale)"
    supported: ClassVar[tuple] = ("LIF", "CubaLIF", "Affine", "Linear", "Identity")
    OPTIONS: ClassVar[dict] = {"approximate": (False, True), "lif_gain": ("zoh", "euler")}
    PRESETS: ClassVar[dict] = {
        "xylosim-0.1.3": {},
        "paper": {"version": "xylosim 0.1.3 (v2), the NIR paper's LIF approximated (dash_syn = 1)", "approximate": True},
    }

    version: str = "xylosim 0.1.3 (v2) / rockpool 3.1.0 mapping"
    decay: str = "dash"
    synapse_decay: str = "dash"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">="
    spikes_per_step: int = 31
    reset: str = "subtract"
    latency: str = "per_hidden_hop"
    quantization: str | None = "xylo"
    ignores: frozenset = frozenset({"v_leak", "v_reset"})
    initial_state: str = "zero"
    approximate: bool = False
    lif_gain: str = "zoh"

    def reject_reason(self, kind):
        return f"Xylo runs only leaky neurons (LIF/CubaLIF) behind dense weights; {kind} has no Xylo equivalent."

    def check_axes(self):
        if self.quantization not in (None, "xylo"):
            raise PlatformError(f"xylo: quantization must be None or 'xylo', got {self.quantization!r}.")
        _fixed_point_axes(self, True)

    def check(self, net):
        super().check(net)
        for n in net.neurons:
            node = net.nodes[n]
            if isinstance(node, LIF) and not self.approximate:
                raise PlatformError(
                    f"Xylo neurons always have a synapse; plain LIF node {n!r} can only be approximated "
                    "(dash_syn = 1, input gain folded into the weights): pass approximate=True."
                )
            for p in net.preds(n):
                if p not in net.nodes or not isinstance(net.nodes[p], (Affine, Linear)):
                    raise PlatformError(f"Xylo: every input of neuron {n!r} must come through one Affine/Linear ({p!r}).")
        for m, node in net.nodes.items():
            if isinstance(node, _WEIGHTS) and len(net.downstream_consumers(m)) > 1:
                raise PlatformError(f"Xylo weights feed one neuron population; map {m!r} feeds several.")
        n_in = sum(math.prod(net.shape_of(i)) for i in net.inputs)
        if n_in > 16:
            raise PlatformError(f"Xylo has at most 16 input channels; the graph has {n_in}.")
        n_neurons = sum(math.prod(net.nodes[n].shape) for n in net.neurons)
        if n_neurons > 1000 + 8:
            raise PlatformError(f"Xylo has at most 1000 hidden and 8 readout neurons; the graph has {n_neurons}.")

    def value_checks(self, net, dt):
        out = []
        for n in net.neurons:
            node = net.nodes[n]
            taus = [node.tau] if isinstance(node, LIF) else [node.tau_mem, node.tau_syn]
            out.append(Check(n, jnp.any(jnp.stack([jnp.any(t <= 1e-12) for t in taus])),
                             f"Xylo needs tau > 0 for node {n!r} (dash = round(log2(tau/dt)))."))
            out.append(Check(n, jnp.any(node.v_leak != 0), f"Xylo has no v_leak (node {n!r} has v_leak != 0)."))
        return out

    def _readout(self, net):
        neurons = list(net.neurons)
        src = {n: [(q, m) for m in net.preds(n) for q in net.preds(m)] for n in neurons}
        feeds_out = {q for o in net.outputs for q in net.preds(o)}
        return [n for n in neurons if n in feeds_out and src[n]
                and all(q in neurons and q != n and q not in feeds_out for q, _ in src[n])]

    def neuron_rule(self, net, name, reset):
        cap = 1 if name in self._readout(net) else 31
        return NeuronRule(kernel="xylo", synapse=True, spiking=True, threshold_test=">=", cap=cap, reset="subtract")

    def mapping(self, net, dt):
        nodes = net.nodes
        neurons = list(net.neurons)
        readout = self._readout(net)
        gain, thr, bgain, dmem, dsyn = {}, {}, {}, {}, {}
        for n in neurons:
            o = nodes[n]
            if isinstance(o, LIF):
                k = o.r * dt / o.tau if self.lif_gain == "euler" else o.r * -jnp.expm1(-dt / o.tau)
                gain[n], thr[n], bgain[n] = k, o.v_threshold, k
                dmem[n], dsyn[n] = jnp.round(jnp.log2(o.tau / dt)), jnp.ones_like(o.tau)
            else:
                gain[n], thr[n], bgain[n] = o.w_in * dt / o.tau_syn, o.v_threshold / (o.r * dt / o.tau_mem), o.w_in
                dmem[n], dsyn[n] = jnp.round(jnp.log2(o.tau_mem / dt)), jnp.round(jnp.log2(o.tau_syn / dt))
        f = jnp.result_type(float)
        weights, bias = {}, {n: jnp.zeros(nodes[n].shape, f) for n in neurons}
        for n in neurons:
            for m in net.preds(n):
                weights[m] = nodes[m].weight * gain[n][:, None]
                if hasattr(nodes[m], "bias"):
                    bias[n] = bias[n] + nodes[m].bias * bgain[n]

        def biggest(arrs):
            return jnp.max(jnp.stack([jnp.max(jnp.abs(a)) for a in arrs] + [jnp.zeros((), f)]))

        hid_max = biggest([weights[m] for n in neurons if n not in readout for m in net.preds(n)]
                          + [bias[n] for n in neurons if n not in readout])
        out_max = biggest([weights[m] for n in readout for m in net.preds(n)] + [bias[n] for n in readout])
        s_hid = jnp.where(hid_max > 0, 127.0 / jnp.where(hid_max > 0, hid_max, 1.0), 1.0)
        s_out = jnp.where(out_max > 0, 127.0 / jnp.where(out_max > 0, out_max, 1.0), 1.0)
        q = self.quantization == "xylo"

        def rnd(a):
            return ste(jnp.round(a), a) if q else a

        out = dict(weights={}, coeffs={}, readout=tuple(readout))
        for n in neurons:
            sw = (s_out if n in readout else s_hid) if q else 1.0
            for m in net.preds(n):
                out["weights"][m] = rnd(weights[m] * sw)
            out["coeffs"][n] = dict(theta=rnd(thr[n] * sw), bias=rnd(bias[n] * (s_hid if q else 1.0)),
                                    dash_mem=dmem[n], dash_syn=dsyn[n], quant=float(q), v_unit=1.0 / sw)
        return out

    def maps(self, net, dt, mapping):
        out = {n: m for n, m in net.nodes.items() if isinstance(m, Map)}
        for m, w in mapping["weights"].items():
            node = out[m]
            out[m] = set_weights(node, jnp.asarray(w, dtype=jnp.result_type(float)))
            if hasattr(node, "bias"):  # the bias acts on v (see the neuron coefficients)
                out[m] = Linear(weight=out[m].weight, in_shape=node.in_shape, out_shape=node.out_shape)
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        c = mapping["coeffs"][name]
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        return dict(dash_mem=c["dash_mem"] + z, dash_syn=c["dash_syn"] + z, theta=c["theta"] + z,
                    bias=c["bias"] + z, quant=c["quant"] + z, v_rest=z,
                    v_unit=node.v_threshold / jnp.maximum(c["theta"], 1e-30) + z, i_unit=c["v_unit"] + z)


@dataclasses.dataclass(frozen=True)
class Speck(Platform):
    """SynSense Speck / DYNAP-CNN as deployed by sinabs 3.1.3 (``sinabs/backend/dynapcnn``:
    ``discretize.py``, ``dynapcnn_layer.py``), simulated in time bins.

    Only IF neurons (IAFSqueeze) after Conv2d / Linear (as Conv) with SumPool.
    ``v += W s`` (per bin); ``n = floor(v/thr)`` where ``v >= thr``; ``v -= n thr``;
    ``v >= -thr`` (low threshold); state 16-bit saturating, starting at 0. Per layer ONE scale
    ``s = min(127/max|W|, (2^15 - 1)/thr)`` for W, bias and threshold, ``round(x s)``
    half to even. The chip is asynchronous (each event compared at once): a
    time-binned model differs when mixed-sign events within one bin cross threshold
    mid-bin. Not validated against the chip (samna cannot be installed).
    """

    name: ClassVar[str] = "speck"
    source: ClassVar[str] = "sinabs 3.1.3 sinabs/backend/dynapcnn/discretize.py, dynapcnn_layer.py"
    units: ClassVar[str] = "Speck integer state (NIR = native / layer scale)"
    supported: ClassVar[tuple] = ("IF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")
    PRESETS: ClassVar[dict] = {"sinabs-3.1.3": {}}

    version: str = "sinabs 3.1.3 dynapcnn backend"
    decay: str = "exact"
    synapse_decay: str = "exact"
    input_scale: str = "unit"
    threshold_test: str = ">="
    spikes_per_step: int = 2**15
    reset: str = "subtract"
    quantization: str | None = "speck"
    floor: str | None = "minus_theta"
    ignores: frozenset = frozenset({"r", "v_reset"})
    initial_state: str = "zero"

    def reject_reason(self, kind):
        return (f"Speck deploys only IF (IAFSqueeze) neurons behind Conv2d/Linear; {kind} is rejected by the dynapcnn "
                "backend.")

    def check_axes(self):
        if self.quantization not in (None, "speck"):
            raise PlatformError(f"speck: quantization must be None or 'speck', got {self.quantization!r}.")

    def check(self, net):
        super().check(net)
        for m, node in net.nodes.items():
            if isinstance(node, _WEIGHTS) and len(net.downstream_consumers(m)) > 1:
                raise PlatformError(f"Speck cores hold one Conv -> IF layer; map {m!r} feeds several neuron nodes.")

    def mapping(self, net, dt):
        if self.quantization != "speck":
            return {}
        scale = {}
        for n in net.neurons:
            ms = _weight_maps_into(net, n)
            mx = jnp.max(jnp.stack([jnp.max(jnp.abs(net.nodes[m].weight)) for m in ms]
                                   + [jnp.asarray(1e-30, jnp.result_type(float))]))
            thr = jnp.max(jnp.abs(net.nodes[n].v_threshold))
            scale[n] = jnp.minimum(127.0 / mx, (2**15 - 1) / thr)
        return {"scale": scale}

    def maps(self, net, dt, mapping):
        out = super().maps(net, dt, mapping)
        if self.quantization != "speck":
            return out
        for m, node in out.items():
            if isinstance(node, _WEIGHTS):
                cons = sorted(net.downstream_consumers(m))
                s = mapping["scale"][cons[0]] if cons else 1.0
                b = ste(jnp.round(node.bias * s), node.bias * s) if hasattr(node, "bias") else None
                out[m] = set_weights(node, ste(jnp.round(node.weight * s), node.weight * s), b)
        return out

    def neuron_coeffs(self, name, node, dt, mapping):
        c = super().neuron_coeffs(name, node, dt, mapping)
        if self.quantization != "speck":
            return c
        s = mapping["scale"][name]
        real = node.v_threshold * s
        th = ste(jnp.round(real), real) + 0 * c["theta"]
        return {**c, "theta": th, "v_unit": 1.0 / s + 0 * th, "v_floor": -th,
                "v_min": -(2.0**15) + 0 * th, "v_max": 2.0**15 - 1 + 0 * th}
