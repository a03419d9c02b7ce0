"""How the exact solver splits a graph: strongly connected components in topological order.

Between spikes, neurons interact only through spikes, so a node whose inputs are known
spike trains (and dense inputs) can be solved on its own, every neuron in parallel. The
plan is static (the wiring, never the weights, which may be traced):

* the *nodes* are the neuron and Delay nodes; ``s -> n`` when ``s``'s output reaches
  ``n`` through maps only (:meth:`semantics.network.Network.upstream_sources`);
* their strongly connected components (Tarjan), upstream ones first;
* a component is ``"parallel"`` when it is one neuron node without a path back to itself
  (each neuron solved independently, given the spike trains of upstream components), and
  ``"joint"`` otherwise (a recurrent population, a cycle of populations, or a Delay, whose
  in-flight buffer needs the joint loop): one event loop over its own neurons only.

Threshold nodes are not planned: under the exact method their input is piecewise
constant (dense inputs and map biases only), so their spikes are computed from the inputs
before any component runs.
"""

from __future__ import annotations

import dataclasses

from ..semantics.events import Delay, Threshold
from ..semantics.neurons import Neuron


@dataclasses.dataclass(frozen=True)
class Component:
    """One piece of the plan (static, hashable)."""

    nodes: tuple[str, ...]
    """Neuron and Delay nodes solved together."""
    mode: str
    """``"parallel"`` or ``"joint"``."""
    impulse_sources: tuple[str, ...]
    """Nodes or inputs outside the component whose impulses reach it (Dirac inputs,
    spiking neurons, Threshold and Delay nodes)."""
    dense_inputs: tuple[str, ...]
    """Dense (zero-order-hold) inputs whose signal reaches the component."""


def _emits_impulses(net, s, dirac_inputs):
    if s in net.inputs:
        return s in dirac_inputs
    node = net.nodes[s]
    return isinstance(node, (Threshold, Delay)) or (isinstance(node, Neuron) and node.spiking)


def plan(net, dense_inputs, dirac_inputs, *, decompose=True) -> tuple[Component, ...]:
    """The components of ``net`` in an order where every component comes after the ones
    it receives spikes from. ``decompose=False`` gives one joint component (every neuron
    and Delay), the global event loop."""
    members = [n for n in net.nodes if isinstance(net.nodes[n], (Neuron, Delay))]
    ups = {n: net.upstream_sources(n) for n in members}
    if not decompose:
        groups = [tuple(members)] if members else []
    else:
        groups = _sccs(members, {n: [u for u in ups[n] if u in ups] for n in members})
    out = []
    for g in groups:
        inside = set(g)
        srcs = set().union(*(ups[n] for n in g)) if g else set()
        recurrent = len(g) > 1 or any(n in ups[n] for n in g)
        has_delay = any(isinstance(net.nodes[n], Delay) for n in g)
        mode = "joint" if (recurrent or has_delay or not decompose) else "parallel"
        out.append(Component(
            nodes=tuple(g),
            mode=mode,
            impulse_sources=tuple(sorted(s for s in srcs - inside if _emits_impulses(net, s, dirac_inputs))),
            dense_inputs=tuple(sorted(s for s in srcs if s in dense_inputs)),
        ))
    return tuple(out)


def _sccs(nodes, succ_of_pred):
    """Tarjan's algorithm on the graph ``p -> n`` for ``p in preds[n]``; components are
    returned upstream first (a topological order of the condensation), nodes of one
    component in the network's node order."""
    order = {n: i for i, n in enumerate(nodes)}
    succ = {n: [] for n in nodes}
    for n, ps in succ_of_pred.items():
        for p in ps:
            succ[p].append(n)
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def strongconnect(v):
        # iterative version of Tarjan (deep graphs would exceed Python's recursion limit)
        work = [(v, iter(sorted(succ[v], key=order.get)))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(succ[w], key=order.get))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                result.append(tuple(sorted(comp, key=order.get)))

    for v in nodes:
        if v not in index:
            strongconnect(v)
    # Tarjan emits a component only after every component reachable from it (downstream):
    # reversed, upstream components come first.
    return list(reversed(result))
