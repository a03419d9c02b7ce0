"""``nirjax.sweep``: one simulation per parameter set, batched with ``jax.vmap`` and,
when asked, spread over devices with JAX's own sharding (no scheduler of ours)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .semantics.network import Network

from ._lowering import load
from ._simulate import simulate


def _split_key(graph, key):
    node, _, param = key.rpartition(".")
    if node not in graph.nodes:
        raise KeyError(f"sweep key {key!r}: no node {node!r} (nodes: {sorted(graph.nodes)}); keys are 'node.param'.")
    if not hasattr(graph.nodes[node], param) or not eqx.is_array(getattr(graph.nodes[node], param)):
        raise KeyError(f"sweep key {key!r}: node {node!r} has no array parameter {param!r}.")
    return node, param


def sweep(graph, params: dict, inputs, *, devices=None, **simulate_kwargs):
    """Simulate ``graph`` once per row of ``params`` and return the batched :class:`Solution`.

    - ``params``: ``{"node.param": values}``; ``values`` has a leading batch axis
      ``B`` and then the parameter's shape, or is ``(B,)`` (one value for all
      elements). All entries share ``B``. Node names may contain dots; the part
      after the last dot is the parameter.
    - ``inputs``: as for :func:`simulate` (the same input for every member), or
      with a leading batch axis ``B`` when ``batched_inputs=True``.
    - ``devices``: ``None`` (default device) or a list of devices / ``"all"``:
      the batch is split over a 1-D mesh (``jax.sharding``); ``B`` must be a
      multiple of the number of devices.
    - other keywords go to :func:`simulate`.
    """
    batched_inputs = simulate_kwargs.pop("batched_inputs", False)
    net = graph if isinstance(graph, Network) else load(graph)
    if not params:
        raise ValueError("sweep needs at least one parameter: {'node.param': values}.")
    keys = {k: _split_key(net, k) for k in params}
    sizes = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in params.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"every sweep value needs the same leading batch size; got {sizes}.")
    batch = next(iter(sizes.values()))
    values = {}
    for k, v in params.items():
        node, param = keys[k]
        shape = getattr(net.nodes[node], param).shape
        v = jnp.asarray(v, dtype=jnp.result_type(float))
        if v.ndim == 1 and shape != ():
            v = jnp.broadcast_to(v.reshape((batch,) + (1,) * len(shape)), (batch, *shape))
        if v.shape != (batch, *shape):
            raise ValueError(f"sweep key {k!r}: values have shape {v.shape}, expected ({batch}, *{shape}) or ({batch},).")
        values[k] = v

    def one(vals, x):
        g = net
        for k, v in vals.items():
            node, param = keys[k]
            g = eqx.tree_at(lambda g: getattr(g.nodes[node], param), g, v)
        return simulate(g, x, **simulate_kwargs)

    in_axes = (0, 0 if batched_inputs else None)
    fn = jax.jit(jax.vmap(one, in_axes=in_axes))
    if devices is not None:
        devs = jax.devices() if devices == "all" else list(devices)
        if batch % len(devs):
            raise ValueError(f"batch {batch} is not a multiple of the {len(devs)} devices; pad the sweep.")
        mesh = Mesh(np.array(devs), ("batch",))
        sharding = NamedSharding(mesh, PartitionSpec("batch"))
        values = jax.device_put(values, sharding)
        if batched_inputs:
            inputs = jax.device_put(inputs, sharding)
    return fn(values, inputs)
