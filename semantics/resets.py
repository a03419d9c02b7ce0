"""The one reset vocabulary, shared by the ideal model and every platform model.

* ``"v_reset"``: ``v <- v_reset`` (NIR >= 1.0.6: the node's ``v_reset`` parameter);
* ``"subtract"``: ``v <- v - v_threshold`` (what files written by nir <= 1.0.5 meant; a
  platform that emits ``n`` spikes in one step subtracts ``n v_threshold``);
* ``"zero"``: ``v <- 0`` whatever ``v_reset`` says (snnTorch, Norse, Lava, Loihi 2, Nengo).

``None`` means "the default": the graph's NIR meaning (``"v_reset"``) for the ideal model,
the platform's own rule for a platform model.
"""

from __future__ import annotations

RESETS = ("v_reset", "subtract", "zero")


def check_reset(reset, allowed=RESETS, *, who="the ideal model"):
    """``reset`` if it is ``None`` or one of ``allowed``; else a ValueError naming the valid values."""
    if reset is None or reset in allowed:
        return reset
    if reset in RESETS:
        raise ValueError(f"{who} cannot be run with reset={reset!r}; it accepts {list(allowed)} (or None: its default).")
    raise ValueError(f"reset must be None or one of {list(RESETS)}, got {reset!r}.")
