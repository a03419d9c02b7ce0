"""Neuromorphic chips: Loihi 2 (Lava fixed point), SpiNNaker2, Xylo, Speck.

Fixed-point platforms quantize the maps here (integer-valued float arrays) and
run an integer step rule from ``_rules.py``; ``quantization=None`` gives the
same platform in floating point, so ``deviation`` can attribute error to the
quantization alone.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..maps import Affine, Conv, Linear, Map
from ..neurons import IF, LIF, CubaLIF
from ._base import Platform, PlatformError, kind_of

_WEIGHTS = (Affine, Linear, Conv)


def _weight_maps_into(net, neuron):
    """Weight maps on map-only paths into ``neuron``."""
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


def _fixed_point_axes(platform, kernel_axes):
    """Fixed-point rules are integer recipes: their axes can move only in float."""
    if platform.quantization is None:
        return
    default = type(platform)()
    for ax in kernel_axes:
        if getattr(platform, ax) != getattr(default, ax):
            raise PlatformError(
                f"{platform.name}: axis {ax!r} is part of the fixed-point rule; switch it only with quantization=None."
            )


_FIXED_AXES = ("decay", "input_scale", "coupling", "synapse_order", "order", "threshold_test", "spikes_per_step",
               "reset", "reset_timing", "floor", "dt_convention", "ignores", "spike_value")


def _set_weights(m, w, b=None):
    m = eqx.tree_at(lambda q: q.weight, m, w)
    if b is not None and hasattr(m, "bias"):
        m = eqx.tree_at(lambda q: q.bias, m, b)
    return m


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
    Each Dense delivers at t+1. ``quantization=None`` runs the same rules in float
    (Lava's float model). Native units: integers; NIR = native / (256 * 64).
    """

    name: str = "loihi2"
    version: str = "Lava 0.9 fixed point (PyLifModelBitAcc)"
    source: str = "lava-nc lava/proc/lif/models.py PyLifModelBitAcc, lava/proc/dense/models.py, lava/utils/weightutils.py"
    decay: str = "euler"
    input_scale: str = "unit"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "zero"
    latency: str = "per_weight"
    quantization: str | None = "loihi2"
    ignores: frozenset = frozenset({"r", "w_in", "v_leak", "v_reset"})
    units: str = "Loihi integer state (NIR = native / 2^14)"
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def reject_reason(self, kind):
        return f"the Lava/Loihi 2 NIR mapping has no process for {kind}."

    def check_node(self, net, name, node):
        if isinstance(node, (Affine, Conv)) and np.any(np.asarray(node.bias) != 0):
            raise PlatformError(
                f"Loihi 2 (paper mapping) rejects Affine/Conv node {name!r} with a non-zero bias "
                "(Dense has no bias; a neuron bias would change its meaning)."
            )

    def check_axes(self):
        _fixed_point_axes(self, _FIXED_AXES)

    def kernel_name(self):
        return "loihi2" if self.quantization == "loihi2" else "float"

    def maps(self, net, dt):
        out = super().maps(net, dt)
        if self.quantization != "loihi2":
            return out
        for n, m in out.items():
            if isinstance(m, _WEIGHTS):
                w = np.trunc(256.0 * np.asarray(m.weight))
                if np.all(w >= 0):
                    w = np.clip(w, 0, 255)
                elif np.all(w <= 0):
                    w = np.clip(w, -256, 0)
                else:
                    w = np.floor(np.clip(w, -256, 255) / 2) * 2  # mixed sign: lowest bit lost
                out[n] = _set_weights(m, jnp.asarray(w, dtype=jnp.result_type(float)))
        return out

    def neuron_coeffs(self, name, node, dt, reset):
        if self.quantization != "loihi2":
            return super().neuron_coeffs(name, node, dt, reset)
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        if isinstance(node, LIF):
            dv, du_eff = jnp.floor(dt / node.tau * 4095), 4096.0
        elif isinstance(node, IF):
            dv, du_eff = 0.0, 4096.0
        elif isinstance(node, CubaLIF):
            dv, du_eff = jnp.floor(dt / node.tau_mem * 4095), jnp.floor(dt / node.tau_syn * 4095) + 1
        else:
            raise PlatformError(f"Loihi 2 cannot run node {name!r} ({kind_of(node)}).")
        vth = jnp.floor(jnp.floor(node.v_threshold * 131071) / 2**9)
        unit = 1.0 / (256 * 64)
        return dict(dv=dv + z, du_eff=du_eff + z, theta=vth * 64 + z, bias=z, v0=z, i0=z,
                    v_unit=unit + z, i_unit=unit + z)


@dataclasses.dataclass(frozen=True)
class SpiNNaker2(Platform):
    """SpiNNaker2 through py-spinnaker2 (``s2_nir.py``; the chip's C neuron code is not
    public: ``>`` and the CubaLIF order are inferred).

    ``v = alpha v + sum(w s_{t-1}) + i_offset`` (float32; +1 step per projection even with
    conn_delay = 0); spike ``v > threshold``; reset subtract (default) or to zero
    (``reset="zero"``); v_reset ignored. ``alpha = exp(-dt/tau)`` (EXPONENTIAL,
    default) or ``1 - dt/tau`` (FORWARD: ``decay="euler"``); the input is not scaled,
    instead ``threshold = theta/(a r) * w_scale``; weights ``round(W w_scale)`` with
    ``w_scale = 127/max|W|`` (``scale_weights``, int8; nirjax takes one scale over all
    projections into a population, since one threshold must match them). CubaLIF synapse
    decays like v. Rejects two successive weight nodes and CubaLIF after Conv2d.
    ``backend="brian2"``: the Brian2 reference backend (no projection delay), as the
    paper's LIF trace was recorded.
    """

    name: str = "spinnaker2"
    version: str = "py-spinnaker2 (s2_nir.py)"
    source: str = "py-spinnaker2 spinnaker2/s2_nir.py; Brian2 backend for the paper trace"
    decay: str = "exact"
    input_scale: str = "threshold"
    coupling: str = "new"
    threshold_test: str = ">"
    reset: str = "subtract"
    latency: str = "per_projection"
    quantization: str | None = "spinnaker2_int8"
    ignores: frozenset = frozenset({"v_reset", "v_leak"})
    reset_options: tuple = ("subtract", "zero")
    backend: str = "chip"
    units: str = "SpiNNaker2 v (threshold theta/(a r) * w_scale)"
    supported: tuple = ("LIF", "IF", "CubaLIF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def __post_init__(self):
        if self.backend == "brian2" and self.latency == "per_projection":
            object.__setattr__(self, "latency", "same")

    def check(self, net):
        super().check(net)
        for n, m in net.nodes.items():
            if isinstance(m, _WEIGHTS):
                if any(p in net.nodes and isinstance(net.nodes[p], _WEIGHTS) for p in net.preds(n)):
                    raise PlatformError(f"py-spinnaker2 rejects two successive weight nodes (into {n!r}).")
        for n in net.neurons:
            if isinstance(net.nodes[n], CubaLIF) and any(isinstance(net.nodes[p], Conv) for p in _weight_maps_into(net, n)):
                raise PlatformError(f"py-spinnaker2 rejects CubaLIF after Conv2d (node {n!r}).")

    def _w_scale(self, net, m):
        """One scale for all projections into the neurons this map feeds: ``127/max|W|``."""
        if self.quantization != "spinnaker2_int8":
            return 1.0
        ms = {m}
        for n in sorted(net.downstream_consumers(m)):
            ms.update(_weight_maps_into(net, n))
        mx = max(float(np.max(np.abs(np.asarray(net.nodes[q].weight)))) for q in ms)
        return 127.0 / mx if mx > 0 else 1.0

    def maps(self, net, dt):
        out = super().maps(net, dt)
        if self.quantization != "spinnaker2_int8":
            return out
        for n, m in out.items():
            if isinstance(m, _WEIGHTS):
                s = self._w_scale(net, n)
                b = jnp.round(m.bias * s) if hasattr(m, "bias") else None
                out[n] = _set_weights(m, jnp.round(m.weight * s), b)
        return out

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        if isinstance(node, IF):  # no tau: threshold theta/r
            c = {**c, "v_unit": node.r + 0 * c["v_unit"], "theta": node.v_threshold / node.r + 0 * c["theta"]}
        if self.quantization == "spinnaker2_int8":
            ws = self._node_scale.get(name, 1.0) if hasattr(self, "_node_scale") else 1.0
            c = {**c, "theta": c["theta"] * ws, "v_unit": c["v_unit"] / ws, "i_unit": c["i_unit"] / ws}
        return c

    def program(self, net, *, dt, spike_area=1.0, reset=None):
        scales = {}
        if self.quantization == "spinnaker2_int8":
            for n in net.neurons:
                ms = _weight_maps_into(net, n)
                if ms:
                    scales[n] = self._w_scale(net, ms[0])
                    if len({self._w_scale(net, m) for m in ms}) > 1:
                        raise PlatformError(
                            f"py-spinnaker2 int8 weights: the projections {ms} into node {n!r} feed other "
                            "populations too, so no single threshold scale matches them."
                        )
        object.__setattr__(self, "_node_scale", scales)
        return super().program(net, dt=dt, spike_area=spike_area, reset=reset)


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
    saturating. Mapping: ``dash = round(log2(tau/dt))`` (tau must exceed dt); CubaLIF
    weights ``W w_in dt/tau_syn``, threshold ``theta/(r dt/tau_mem)``, bias ``b w_in`` (on v);
    a plain LIF has no synapse on Xylo: with ``approximate=True`` it gets ``dash_syn = 1``,
    weights ``W k`` with ``k = r (1 - exp(-dt/tau))`` (``lif_gain='zoh'``, the PLATFORMS.md
    prediction) or ``r dt/tau`` (``'euler'``), bias ``b k``; refused otherwise. Neurons fed
    only by hidden neurons and feeding an Output are readout neurons. Scales: hidden
    ``127/max(|w_in|, |w_rec|, |bias|)``, readout ``127/max(|w_out|, |bias_out|)``; the
    readout bias uses the hidden scale (rockpool-3.1.0 quirk). ``np.round`` (half to even).
    ``quantization=None``: the same rules unrounded, decays ``x 2^-dash``, no saturation.
    """

    name: str = "xylo"
    version: str = "xylosim 0.1.3 (v2) / rockpool 3.1.0 mapping"
    source: str = ("xylosim v2 XyloLayer; rockpool 3.1.0 devices/xylo/syns61201/xylo_sim.py, "
                   "transform/quantize_methods.py global_quantize")
    decay: str = "dash"
    input_scale: str = "euler"
    coupling: str = "new"
    threshold_test: str = ">="
    spikes_per_step: int = 31
    reset: str = "subtract"
    latency: str = "per_hidden_hop"
    quantization: str | None = "xylo"
    ignores: frozenset = frozenset({"v_leak", "v_reset"})
    approximate: bool = False
    lif_gain: str = "zoh"
    units: str = "Xylo integer state (NIR ~ native / hidden scale)"
    supported: tuple = ("LIF", "CubaLIF", "Affine", "Linear", "Identity")

    def reject_reason(self, kind):
        return f"Xylo runs only leaky neurons (LIF/CubaLIF) behind dense weights; {kind} has no Xylo equivalent."

    def check_axes(self):
        _fixed_point_axes(dataclasses.replace(self, quantization="xylo"), _FIXED_AXES)

    def check(self, net):
        super().check(net)
        for n in net.neurons:
            node = net.nodes[n]
            if isinstance(node, LIF) and not self.approximate:
                raise PlatformError(
                    f"Xylo neurons always have a synapse; plain LIF node {n!r} can only be approximated "
                    "(dash_syn = 1, input gain folded into the weights): pass approximate=True."
                )
            taus = [node.tau] if isinstance(node, LIF) else [node.tau_mem, node.tau_syn]
            if any(np.any(np.asarray(t) <= 1e-12) for t in taus):
                raise PlatformError(f"Xylo needs tau > dt (node {n!r}).")
            if np.any(np.asarray(node.v_leak) != 0):
                raise PlatformError(f"Xylo has no v_leak (node {n!r}).")
            for p in net.preds(n):
                if p not in net.nodes or not isinstance(net.nodes[p], (Affine, Linear)):
                    raise PlatformError(f"Xylo: every input of neuron {n!r} must come through one Affine/Linear ({p!r}).")
        for m, node in net.nodes.items():
            if isinstance(node, _WEIGHTS) and len(net.downstream_consumers(m)) > 1:
                raise PlatformError(f"Xylo weights feed one neuron population; map {m!r} feeds several.")
        if sum(int(np.prod(net.shape_of(i))) for i in net.inputs) > 16:
            raise PlatformError("Xylo has at most 16 input channels.")
        if sum(int(np.prod(net.nodes[n].shape)) for n in net.neurons) > 1000 + 8:
            raise PlatformError("Xylo has at most 1000 hidden and 8 readout neurons.")

    def kernel_name(self):
        return "xylo"

    # -- mapping (numpy, concrete) --------------------------------------------
    def _mapping(self, net, dt):
        nodes = net.nodes
        neurons = list(net.neurons)
        src = {n: [(q, m) for m in net.preds(n) for q in net.preds(m)] for n in neurons}
        feeds_out = {q for o in net.outputs for q in net.preds(o)}
        readout = [n for n in neurons if n in feeds_out and src[n]
                   and all(q in neurons and q != n and q not in feeds_out for q, _ in src[n])]
        gain, thr, bgain, dmem, dsyn = {}, {}, {}, {}, {}
        for n in neurons:
            o = nodes[n]
            if isinstance(o, LIF):
                tau, r, th = (np.asarray(o.tau, float), np.asarray(o.r, float), np.asarray(o.v_threshold, float))
                k = r * dt / tau if self.lif_gain == "euler" else r * -np.expm1(-dt / tau)
                gain[n], thr[n], bgain[n] = k, th, k
                dmem[n], dsyn[n] = np.round(np.log2(tau / dt)), np.ones_like(tau)
            else:
                tm, ts = np.asarray(o.tau_mem, float), np.asarray(o.tau_syn, float)
                r, w_in, th = np.asarray(o.r, float), np.asarray(o.w_in, float), np.asarray(o.v_threshold, float)
                gain[n], thr[n], bgain[n] = w_in * dt / ts, th / (r * dt / tm), w_in
                dmem[n], dsyn[n] = np.round(np.log2(tm / dt)), np.round(np.log2(ts / dt))
        weights, bias = {}, {n: np.zeros(nodes[n].shape) for n in neurons}
        for n in neurons:
            for m in net.preds(n):
                W = np.asarray(nodes[m].weight, float) * gain[n][:, None]
                weights[m] = W
                if hasattr(nodes[m], "bias"):
                    bias[n] = bias[n] + np.asarray(nodes[m].bias, float) * bgain[n]
        hid_max = max([np.max(np.abs(weights[m])) for n in neurons if n not in readout for m in net.preds(n)]
                      + [np.max(np.abs(bias[n])) for n in neurons if n not in readout] + [0.0])
        out_max = max([np.max(np.abs(weights[m])) for n in readout for m in net.preds(n)]
                      + [np.max(np.abs(bias[n])) for n in readout] + [0.0])
        s_hid = 127.0 / hid_max if hid_max else 1.0
        s_out = 127.0 / out_max if out_max else 1.0
        q = self.quantization == "xylo"
        rnd = np.round if q else (lambda a: a)
        scale_w = {n: (s_out if n in readout else s_hid) for n in neurons}
        out = dict(weights={}, coeffs={})
        for n in neurons:
            sw = scale_w[n] if q else 1.0
            for m in net.preds(n):
                out["weights"][m] = rnd(weights[m] * sw)
            out["coeffs"][n] = dict(
                theta=rnd(thr[n] * sw), bias=rnd(bias[n] * (s_hid if q else 1.0)), dash_mem=dmem[n],
                dash_syn=dsyn[n], quant=float(q), v_unit=1.0 / sw, cap=1.0 if n in readout else 31.0,
            )
        return out

    def maps(self, net, dt):
        out = super().maps(net, dt)
        mp = self._cache
        for m, w in mp["weights"].items():
            node = out[m]
            out[m] = eqx.tree_at(lambda q: q.weight, node, jnp.asarray(w, dtype=jnp.result_type(float)))
            if hasattr(node, "bias"):  # the bias acts on v (steady state), see neuron coefficients
                out[m] = eqx.tree_at(lambda q: q.bias, out[m], jnp.zeros_like(node.bias, dtype=jnp.result_type(float)))
        return out

    def neuron_coeffs(self, name, node, dt, reset):
        c = self._cache["coeffs"][name]
        z = jnp.zeros(node.shape, dtype=jnp.result_type(float))
        # NIR units: hidden v ~ native / scale (CubaLIF thresholds are rescaled: v_NIR ~ v theta/thr)
        th_nir = node.v_threshold
        return dict(dash_mem=c["dash_mem"] + z, dash_syn=c["dash_syn"] + z, theta=c["theta"] + z,
                    bias=c["bias"] + z, quant=c["quant"] + z, v0=z, i0=z, cap=c["cap"] + z,
                    v_unit=th_nir / jnp.maximum(c["theta"], 1e-30) + z, i_unit=c["v_unit"] + z)

    def program(self, net, *, dt, spike_area=1.0, reset=None):
        self.check(net)
        object.__setattr__(self, "_cache", self._mapping(net, dt))
        return super().program(net, dt=dt, spike_area=spike_area, reset=reset)


@dataclasses.dataclass(frozen=True)
class Speck(Platform):
    """SynSense Speck / DYNAP-CNN as deployed by sinabs 3.1.3 (``sinabs/backend/dynapcnn``:
    ``discretize.py``, ``dynapcnn_layer.py``), simulated in time bins.

    Only IF neurons (IAFSqueeze) after Conv2d / Linear (as Conv) with SumPool.
    ``v += W s`` (per bin); ``n = floor(v/thr)`` where ``v >= thr``; ``v -= n thr``;
    ``v >= -thr`` (low threshold); state 16-bit saturating. Per layer ONE scale
    ``s = min(127/max|W|, (2^15 - 1)/thr)`` for W, bias and threshold, ``round(x s)``
    half to even. The chip is asynchronous (each event compared at once): a
    time-binned model differs when mixed-sign events within one bin cross threshold
    mid-bin. Not validated against the chip (samna cannot be installed).
    """

    name: str = "speck"
    version: str = "sinabs 3.1.3 dynapcnn backend"
    source: str = "sinabs 3.1.3 sinabs/backend/dynapcnn/discretize.py, dynapcnn_layer.py"
    decay: str = "exact"
    input_scale: str = "unit"
    threshold_test: str = ">="
    spikes_per_step: int = 2**15
    reset: str = "subtract"
    quantization: str | None = "speck"
    floor: str | None = "minus_theta"
    ignores: frozenset = frozenset({"r", "v_reset"})
    units: str = "Speck integer state (NIR = native / layer scale)"
    supported: tuple = ("IF", "Affine", "Linear", "Conv", "Pool2d", "Flatten", "Identity")

    def reject_reason(self, kind):
        return f"Speck deploys only IF (IAFSqueeze) neurons behind Conv2d/Linear; {kind} is rejected by the dynapcnn backend."

    def check(self, net):
        super().check(net)
        for m, node in net.nodes.items():
            if isinstance(node, _WEIGHTS) and len(net.downstream_consumers(m)) > 1:
                raise PlatformError(f"Speck cores hold one Conv -> IF layer; map {m!r} feeds several neuron nodes.")

    def _layer_scale(self, net, neuron):
        ms = _weight_maps_into(net, neuron)
        mx = max([float(np.max(np.abs(np.asarray(net.nodes[m].weight)))) for m in ms] + [1e-30])
        thr = float(np.max(np.abs(np.asarray(net.nodes[neuron].v_threshold))))
        if self.quantization != "speck":
            return 1.0
        return min(127.0 / mx, (2**15 - 1) / thr)

    def maps(self, net, dt):
        out = super().maps(net, dt)
        if self.quantization != "speck":
            return out
        for m, node in out.items():
            if isinstance(node, _WEIGHTS):
                cons = sorted(net.downstream_consumers(m))
                s = self._layer_scale(net, cons[0]) if cons else 1.0
                b = jnp.round(node.bias * s) if hasattr(node, "bias") else None
                out[m] = _set_weights(node, jnp.round(node.weight * s), b)
        return out

    def neuron_coeffs(self, name, node, dt, reset):
        c = super().neuron_coeffs(name, node, dt, reset)
        if self.quantization != "speck":
            return c
        s = self._cache[name]
        th = jnp.round(node.v_threshold * s) + 0 * c["theta"]
        return {**c, "theta": th, "v_unit": 1.0 / s + 0 * th, "v_floor": -th,
                "v_min": -(2.0**15) + 0 * th, "v_max": 2.0**15 - 1 + 0 * th}

    def program(self, net, *, dt, spike_area=1.0, reset=None):
        object.__setattr__(self, "_cache", {n: self._layer_scale(net, n) for n in net.neurons})
        return super().program(net, dt=dt, spike_area=spike_area, reset=reset)
