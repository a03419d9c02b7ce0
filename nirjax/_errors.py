"""Exceptions and warnings. Every message names what is wrong and what to do."""

import equinox as eqx

from .semantics.errors import PlatformError as PlatformError, UnsupportedError as UnsupportedError


class GraphError(ValueError):
    """A NIR graph nirjax cannot give a meaning to."""


class NIRFileError(GraphError):
    """The file is missing, not HDF5, or not a NIR graph."""


class UnknownNodeError(GraphError):
    """A node type nirjax has no semantics for."""


class DanglingEdgeError(GraphError):
    """An edge names a node that does not exist."""


class ShapeMismatchError(GraphError):
    """The two ends of an edge disagree on the signal shape."""


class ParameterError(GraphError):
    """A parameter value without meaning (non-finite, non-positive time constant, ...)."""


class AlgebraicLoopError(GraphError):
    """A cycle through stateless nodes only: the signal would be defined by itself."""


class MissingPortError(GraphError):
    """The graph has no Input or no Output node, or an input was not supplied."""


class SimulationError(eqx.EquinoxRuntimeError):
    """A run that could not be completed as asked: a buffer or budget overflowed, or a value
    (parameter, input, initial state) was invalid. Raised by ``simulate(..., throw=True)``;
    the message is one line saying what, where, and what to pass. Under ``jax.jit`` the same
    failures raise through ``equinox.error_if`` (an ``EquinoxRuntimeError``)."""


class SpikeAreaHint(UserWarning):
    """The graph looks exported from a time-stepped framework at a fixed dt."""
