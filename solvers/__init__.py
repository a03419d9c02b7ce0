"""How NIR graphs are executed: the exact event-driven solver (decomposed into the graph's
strongly connected components), the global event loop (its reference, and the diffrax
Runge-Kutta path), and (for platform models) the time-stepped executor.

Solvers consume :mod:`semantics` and know nothing of the public API.
"""

from ._event_loop import EventConfig as EventConfig, solve_events as solve_events
from ._plan import Component as Component, plan as plan
from ._recording import available_bytes as available_bytes, estimate_bytes as estimate_bytes
from ._results import RESULTS as RESULTS
from ._solution import Solution as Solution
from ._solve import solve_ideal as solve_ideal
from ._trains import step_bounds as step_bounds
