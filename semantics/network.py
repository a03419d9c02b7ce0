"""A NIR graph as one system: primitives joined by summing edges.

:class:`Network` holds the primitives (a pytree of parameters) and the static
wiring. It says how signals flow (DESIGN.md rule 1): maps act instantly, the
in-edges of a node are summed, spiking nodes emit impulses only and
non-spiking neurons emit their ``v`` continuously. Nodes whose output is
already known from their state or from events (neurons, Threshold, Delay,
inputs) are *sources*; the maps between them are evaluated in the static
topological order ``map_order``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .events import Delay, Threshold
from .maps import Map
from .neurons import Neuron


class Network(eqx.Module):
    nodes: dict
    inputs: tuple[str, ...] = eqx.field(static=True)
    outputs: tuple[str, ...] = eqx.field(static=True)
    input_shapes: tuple[tuple[str, tuple[int, ...]], ...] = eqx.field(static=True)
    predecessors: tuple[tuple[str, tuple[str, ...]], ...] = eqx.field(static=True)
    map_order: tuple[str, ...] = eqx.field(static=True)
    output_shapes: tuple[tuple[str, tuple[int, ...]], ...] = eqx.field(static=True, default=())
    notes: tuple[str, ...] = eqx.field(static=True, default=())
    suggested_spike_area: float | None = eqx.field(static=True, default=None)

    # -- static views -------------------------------------------------------
    def preds(self, name):
        return dict(self.predecessors).get(name, ())

    def names_of(self, kind):
        return tuple(n for n, p in self.nodes.items() if isinstance(p, kind))

    @property
    def neurons(self):
        return self.names_of(Neuron)

    @property
    def spiking(self):
        return tuple(n for n in self.neurons if self.nodes[n].spiking)

    @property
    def thresholds(self):
        return self.names_of(Threshold)

    @property
    def delays(self):
        return self.names_of(Delay)

    def shape_of(self, name):
        if name in self.inputs:
            return dict(self.input_shapes)[name]
        return self.nodes[name].out_shape

    def consumers(self):
        """Nodes that receive a summed input signal (neurons, Threshold, Delay, outputs)."""
        return tuple(n for n in self.nodes if not isinstance(self.nodes[n], Map)) + self.outputs

    # -- signals --------------------------------------------------------------
    def _propagate(self, values, use_bias, only=None):
        """Evaluate the maps in topological order. A map none of whose
        predecessors carries a value is skipped (it emits nothing, or only its
        bias when ``use_bias``), so impulses only touch the maps they reach.
        ``only``: evaluate just these maps (the others are not needed)."""
        values = dict(values)
        for name in self.map_order:
            if only is not None and name not in only:
                continue
            m = self.nodes[name]
            if any(values.get(p) is not None for p in self.preds(name)):
                x = self._sum_in(values, name, m.in_shape)
                values[name] = m(x) if use_bias else m.linear(x)
            elif use_bias and hasattr(m, "bias"):
                values[name] = m(jnp.zeros(m.in_shape, dtype=jnp.result_type(float)))
        return values

    def _sum_in(self, values, name, shape):
        total = None
        for p in self.preds(name):
            v = values.get(p)
            if v is None:
                continue
            total = v if total is None else total + v
        if total is None:
            return jnp.zeros(shape, dtype=jnp.result_type(float))
        return jnp.reshape(total, shape)

    def continuous_drive(self, states, ext):
        """The continuous input of every consumer node.

        ``states``: neuron name -> state dict; ``ext``: input name -> dense
        value (missing inputs carry no continuous signal). Spiking nodes,
        Threshold and Delay contribute nothing continuous.
        """
        values = {n: ext[n] for n in self.inputs if n in ext}
        for n in self.neurons:
            if not self.nodes[n].spiking:
                values[n] = self.nodes[n].output(states[n])
        values = self._propagate(values, use_bias=True)
        return {n: self._sum_in(values, n, self._in_shape(n)) for n in self.consumers()}

    def impulse_drive(self, sources):
        """Impulse areas arriving at every consumer from ``sources``
        (node name -> areas of the impulses it emits at this instant)."""
        values = self._propagate(sources, use_bias=False)
        return {n: self._sum_in(values, n, self._in_shape(n)) for n in self.consumers()}

    def signals_into(self, values, targets, *, use_bias):
        """The summed input signal of each node in ``targets`` (neurons, Threshold,
        Delay, outputs) given the outputs ``values`` of some sources (name -> array;
        absent sources carry nothing). Only the maps on map-only paths into
        ``targets`` are evaluated; ``use_bias`` adds the map biases (continuous
        signals), without it the values are impulse areas."""
        only = self.maps_into(targets)
        vals = self._propagate(values, use_bias, only=only)
        return {n: self._sum_in(vals, n, self._in_shape(n)) for n in targets}

    def maps_into(self, targets):
        """The maps on map-only paths into ``targets`` (a set of names)."""
        seen, stack = set(), [p for t in targets for p in self.preds(t)]
        while stack:
            p = stack.pop()
            if p in seen or p not in self.nodes or not isinstance(self.nodes[p], Map):
                continue
            seen.add(p)
            stack.extend(self.preds(p))
        return seen

    def _in_shape(self, name):
        if name in self.outputs:
            return dict(self.output_shapes)[name]
        return self.nodes[name].in_shape

    # -- static analysis ------------------------------------------------------
    def _through_maps(self, start, neighbours):
        """Non-map nodes reached from ``start`` by walking ``neighbours`` across maps."""
        seen, stack, found = set(), list(start), set()
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            if p in self.nodes and isinstance(self.nodes[p], Map):
                stack.extend(neighbours(p))
            else:
                found.add(p)
        return found

    def upstream_sources(self, name):
        """Source nodes (inputs included) whose signal reaches ``name`` through maps only."""
        return self._through_maps(self.preds(name), self.preds)

    def downstream_consumers(self, name):
        """Nodes (outputs excluded) that ``name``'s signal reaches through maps only."""
        succ = {}
        for d, ps in self.predecessors:
            for p in ps:
                succ.setdefault(p, []).append(d)
        found = self._through_maps(succ.get(name, ()), lambda n: succ.get(n, ()))
        return {n for n in found if n in self.nodes}

    def has_bias_upstream(self, name):
        """Whether a map with a non-zero bias lies on a map-only path into ``name``."""
        seen, stack = set(), list(self.preds(name))
        while stack:
            p = stack.pop()
            if p in seen or p not in self.nodes or not isinstance(self.nodes[p], Map):
                continue
            seen.add(p)
            b = getattr(self.nodes[p], "bias", None)
            if b is not None and bool(jnp.any(b != 0)):
                return True
            stack.extend(self.preds(p))
        return False
