"""Layered spiking classifiers as NIR graphs (what the Yin-Yang benchmark trains)."""

from __future__ import annotations

import nir
import numpy as np

NEURONS = ("CubaLIF", "LIF")


def feedforward(weights, *, neuron: str = "CubaLIF", tau_mem: float, tau_syn: float | None = None,
                v_threshold: float = 1.0, v_reset: float = 0.0, dt: float | None = None) -> nir.NIRGraph:
    r"""``Input -> Linear -> neuron -> Linear -> neuron ... -> Output`` as a ``nir.NIRGraph``.

    ``weights``: one ``(n_out, n_in)`` array per layer. Nodes are named ``input``, ``fc1``,
    ``lif1``, ``fc2``, ``lif2``, ..., ``output``; every neuron layer has the same parameters.

    ``neuron``: ``"CubaLIF"`` (current-based: an input spike steps the synaptic current, so
    ``v`` crosses threshold between input spikes and spike times move continuously with the
    weights: what exact spike-time gradients need) or ``"LIF"`` (an input spike jumps ``v``:
    a plain LIF fires only at input spike times).

    ``dt``: write the graph as a time-stepped framework exports it at step ``dt`` (``r =
    tau_mem/dt``, ``w_in = tau_syn/dt``, snnTorch's convention): weights are then per-step
    increments of the synaptic current (CubaLIF) or of ``v`` (LIF), and the graph's ideal model
    is run with ``spike_area=dt``. ``None``: ``r = w_in = 1`` (run with ``spike_area=1``).
    """
    if neuron not in NEURONS:
        raise ValueError(f"neuron must be one of {NEURONS}, got {neuron!r}.")
    if neuron == "CubaLIF" and tau_syn is None:
        raise ValueError("A CubaLIF network needs tau_syn.")
    ws = [np.asarray(w, dtype=np.float64) for w in weights]
    if not ws:
        raise ValueError("feedforward() needs at least one weight matrix.")
    for k, (a, b) in enumerate(zip(ws[:-1], ws[1:])):
        if b.ndim != 2 or a.ndim != 2 or b.shape[1] != a.shape[0]:
            raise ValueError(f"Layer {k + 2}'s weights {b.shape} do not take layer {k + 1}'s {a.shape[0]} outputs.")
    nodes = {"input": nir.Input(np.array([ws[0].shape[1]]))}
    edges, prev = [], "input"
    for k, w in enumerate(ws, start=1):
        n = w.shape[0]
        full = lambda x: np.full(n, float(x))  # noqa: E731
        r = tau_mem / dt if dt is not None else 1.0
        if neuron == "CubaLIF":
            w_in = tau_syn / dt if dt is not None else 1.0
            cell = nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(r), v_leak=full(0.0),
                               v_threshold=full(v_threshold), v_reset=full(v_reset), w_in=full(w_in))
        else:
            cell = nir.LIF(tau=full(tau_mem), r=full(r), v_leak=full(0.0), v_threshold=full(v_threshold),
                           v_reset=full(v_reset))
        nodes[f"fc{k}"] = nir.Linear(weight=w)
        nodes[f"lif{k}"] = cell
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(np.array([ws[-1].shape[0]]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)
