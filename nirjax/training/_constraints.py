"""Which parameters train, and keeping a trained graph valid.

* :func:`trainable` -- an equinox filter spec (a pytree of bools) selecting the arrays that
  train; use it with ``eqx.partition(graph, spec)``.
* :func:`keep_valid` -- an optax ``GradientTransformation`` (put it last in an
  ``optax.chain``) that projects every update so that the updated parameters stay valid:
  time constants stay above a floor (NIR needs ``tau > 0``; Adam on an unconstrained
  ``tau_syn`` drives it negative and the loss to NaN), delays stay >= 0.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

TIME_CONSTANTS = ("tau", "tau_syn", "tau_mem")


def trainable(graph, *names, where=None):
    """Filter spec (pytree of bools shaped like ``graph``) that is ``True`` on the chosen arrays.

    ``names``: ``"node.param"`` strings (``"fc1.weight"``, ``"lif1.tau_mem"``), or a bare node
    name for all of that node's arrays; ``where``: alternatively a function ``graph -> leaf or
    sequence of leaves`` (as for ``eqx.tree_at``). Unknown names are an error.

        params, static = eqx.partition(graph, nirjax.training.trainable(graph, "fc1.weight", "fc2.weight"))
    """
    spec = jax.tree.map(lambda _: False, graph)
    if where is None and not names:
        raise ValueError("trainable() needs parameter names ('node.param' or 'node') or where=.")
    if where is not None:
        return eqx.tree_at(where, spec, replace_fn=lambda _: True)
    nodes = graph.nodes
    for name in names:
        node, _, attr = name.partition(".")
        if node not in nodes:
            raise ValueError(f"trainable(): unknown node {node!r} in {name!r}; the graph's nodes are {sorted(nodes)}.")
        arrays = [f for f in _array_fields(nodes[node])]
        if attr and attr not in arrays:
            raise ValueError(f"trainable(): node {node!r} ({type(nodes[node]).__name__}) has no array parameter "
                             f"{attr!r}; its parameters are {arrays}.")
        for a in ([attr] if attr else arrays):
            spec = eqx.tree_at(lambda s, n=node, a=a: getattr(s.nodes[n], a), spec, replace_fn=lambda _: True)
    return spec


def _array_fields(module):
    return [k for k, v in vars(module).items() if eqx.is_array(v)]


class KeepValidState(optax.EmptyState):
    pass


def keep_valid(*, min_tau: float = 1e-6) -> optax.GradientTransformation:
    r"""Project updates so that the parameters they produce stay a valid graph.

    For every time constant (a leaf named ``tau``, ``tau_syn`` or ``tau_mem``) the update
    ``u`` becomes ``max(p + u, min_tau) - p``; for a ``delay``, ``max(p + u, 0) - p``; other
    leaves pass unchanged. Needs ``params`` in ``update`` (``optax.apply_updates`` after it
    gives the projected parameters). Put it last: ``optax.chain(optax.adam(lr), keep_valid())``.

    ``min_tau`` (seconds): the smallest time constant allowed; a platform may need more
    (e.g. ``tau > dt`` for Xylo's bit-shift decay).
    """
    if not min_tau > 0:
        raise ValueError(f"min_tau must be > 0, got {min_tau!r}.")

    def init_fn(params):
        del params
        return KeepValidState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("keep_valid() needs the current parameters: call opt.update(grads, state, params).")

        def project(path, u, p):
            if u is None or p is None:
                return u
            name = _leaf_name(path)
            if name in TIME_CONSTANTS:
                return jnp.maximum(p + u, min_tau) - p
            if name == "delay":
                return jnp.maximum(p + u, 0.0) - p
            return u

        return jax.tree_util.tree_map_with_path(project, updates, params, is_leaf=lambda x: x is None), state

    return optax.GradientTransformation(init_fn, update_fn)


def _leaf_name(path):
    for k in reversed(path):
        if isinstance(k, jax.tree_util.GetAttrKey):
            return k.name
    return None
