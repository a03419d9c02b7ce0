"""The refusal type shared by every layer: a valid graph that a method or platform cannot run.

Defined here (the bottom layer) so that platform refusals (:class:`PlatformError`) are a
kind of :class:`UnsupportedError` without ``semantics`` importing the public API.
"""


class UnsupportedError(ValueError):
    """The graph is valid, but the chosen method or platform cannot run it. The message
    names the node, the rule that refuses it and what to do instead."""


class PlatformError(UnsupportedError):
    """A valid graph that a platform model cannot run (the message names node and rule)."""
