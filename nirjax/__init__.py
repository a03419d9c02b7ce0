"""nirjax: the exact, differentiable meaning of NIR graphs, and how far each
platform is from it.

    g = nirjax.load(nirjax.data.path("lif_norse.nir"))      # or any .nir path / nir.NIRGraph
    sol = nirjax.simulate(g, {"input": x}, dt=1e-4)          # the ideal model
    sol.spike_times["1"], sol.states["1"]["v"]
    sol = nirjax.simulate(g, {"input": x}, dt=1e-4, platform="norse")   # a platform model
    print(nirjax.deviation(g, "all", {"input": x}, dt=1e-4))           # how far, and why
"""

from . import data as data
from .semantics.network import Network as Graph
from .solvers import RESULTS as RESULTS, Solution as Solution

from ._errors import (
    AlgebraicLoopError as AlgebraicLoopError,
    DanglingEdgeError as DanglingEdgeError,
    GraphError as GraphError,
    MissingPortError as MissingPortError,
    NIRFileError as NIRFileError,
    ParameterError as ParameterError,
    PlatformError as PlatformError,
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
from ._platform_api import (
    compile_platform as compile_platform,
    get_platform as get_platform,
    platforms as platforms,
    run_platform as run_platform,
    stepper as stepper,
)
from ._deviation import deviation as deviation
from ._report import DeviationReport as DeviationReport, DeviationReports as DeviationReports

__all__ = [
    # graphs and runs
    "Graph", "load", "save", "to_nir", "simulate", "sweep", "Spikes", "Solution", "RESULTS",
    # platform models and their distance from the ideal model
    "platforms", "get_platform", "compile_platform", "run_platform", "stepper", "deviation", "DeviationReport", "DeviationReports",
    # bundled data (the NIR paper's LIF graph, input and recordings)
    "data",
    # training helpers (data sets, encoders, readouts, losses, constraints)
    "training",
    # errors and warnings
    "GraphError", "NIRFileError", "UnknownNodeError", "DanglingEdgeError", "ShapeMismatchError", "ParameterError",
    "AlgebraicLoopError", "MissingPortError", "UnsupportedError", "PlatformError", "SpikeAreaHint",
]
from . import training as training
