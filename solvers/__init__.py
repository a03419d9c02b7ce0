"""How NIR graphs are executed: the exact event-driven solver, the diffrax
Runge-Kutta event solver, and (for platform models) the time-stepped executor.

Solvers consume :mod:`semantics` and know nothing of the public API.
"""

from ._event_loop import EventConfig as EventConfig, solve_events as solve_events
from ._results import RESULTS as RESULTS
from ._solution import Solution as Solution
