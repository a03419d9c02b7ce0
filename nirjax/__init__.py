"""nirjax: the exact, differentiable meaning of NIR graphs, and how far each
platform is from it.

    g = nirjax.load("graph.nir")
    sol = nirjax.simulate(g, {"input": x}, dt=1e-4, t1=0.1)
    sol.spike_times["1"], sol.states["1"]["v"]
"""

from .semantics.network import Network as Graph
from .solvers import RESULTS as RESULTS, Solution as Solution

from ._errors import (
    AlgebraicLoopError as AlgebraicLoopError,
    DanglingEdgeError as DanglingEdgeError,
    GraphError as GraphError,
    MissingPortError as MissingPortError,
    NIRFileError as NIRFileError,
    ParameterError as ParameterError,
    ShapeMismatchError as ShapeMismatchError,
    SpikeAreaHint as SpikeAreaHint,
    UnknownNodeError as UnknownNodeError,
    UnsupportedError as UnsupportedError,
)
from ._inputs import Spikes as Spikes
from ._lowering import load as load
from ._simulate import simulate as simulate
from ._sweep import sweep as sweep
from ._writing import save as save, to_nir as to_nir

__all__ = [
    "Graph", "RESULTS", "Solution", "Spikes", "load", "save", "simulate", "sweep", "to_nir",
    "AlgebraicLoopError", "DanglingEdgeError", "GraphError", "MissingPortError", "NIRFileError",
    "ParameterError", "ShapeMismatchError", "SpikeAreaHint", "UnknownNodeError", "UnsupportedError",
]
from ._platform_api import compile_platform as compile_platform, get_platform as get_platform, platforms as platforms
from ._deviation import DeviationReport as DeviationReport, deviation as deviation
from ._platform_api import stepper as stepper
from . import training as training
