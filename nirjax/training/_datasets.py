"""The Yin-Yang data set (Kriener, Göltz and Petrovici, 2022), generated from its formula.

The yin-yang symbol (big circle of radius ``r_big``) in ``[0, 2 r_big]^2`` with three classes:
``0`` (yang), ``1`` (yin) and ``2`` (the two dots of radius ``r_small``). Each sample draws its
class uniformly (``randint(3)``), then rejection-samples points ``(x, y) = 2 r_big * rand(2)`` until
one lies inside the big circle and has that class. Features are ``(x, y, 1 - x, 1 - y)``.

The draws are made in this order from one ``numpy.random.RandomState(seed)``, which is what
lkriener/yin_yang_data_set's ``dataset.py`` does, so the standard splits (train 5000 samples with
seed 42, validation 1000 with seed 41, test 1000 with seed 40) are its ``publication_data`` arrays
bit for bit.

References: L. Kriener, J. Göltz, M. A. Petrovici, "The Yin-Yang dataset", NICE 2022
(arXiv:2102.08211); https://github.com/lkriener/yin_yang_data_set.
"""

from __future__ import annotations

import numpy as np

SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}
CLASS_NAMES = ("yang", "yin", "dot")


def _dist(x, y, cx, cy):
    # sqrt of the sum of squares (not hypot): the same float rounding as the published generator
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2)


def _which_class(x, y, r_small, r_big):
    d_right = _dist(x, y, 1.5 * r_big, r_big)
    d_left = _dist(x, y, 0.5 * r_big, r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    yin = (d_right <= r_small) or (r_small < d_left <= 0.5 * r_big) or (y > r_big and d_right > 0.5 * r_big)
    return int(yin)


def yinyang(split: str | None = None, *, size: int | None = None, seed: int | None = None,
            r_small: float = 0.1, r_big: float = 0.5):
    """Yin-Yang samples: ``(features, labels)``, ``features`` of shape ``(size, 4)`` (float64:
    ``x, y, 1 - x, 1 - y``), ``labels`` of shape ``(size,)`` (int: 0 yang, 1 yin, 2 dot).

    ``split``: ``"train"`` (5000 samples, seed 42), ``"validation"`` (1000, seed 41) or
    ``"test"`` (1000, seed 40), the published splits; or give ``size`` and ``seed``.
    """
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"Unknown Yin-Yang split {split!r}; known: {sorted(SPLITS)} (or pass size= and seed=).")
        d_size, d_seed = SPLITS[split]
        size = d_size if size is None else size
        seed = d_seed if seed is None else seed
    if size is None or seed is None:
        raise ValueError("yinyang() needs a split name or both size= and seed=.")
    if not (isinstance(size, (int, np.integer)) and size > 0):
        raise ValueError(f"size must be a positive integer, got {size!r}.")
    if not 0 < r_small < 0.5 * r_big:
        raise ValueError(f"Need 0 < r_small < r_big / 2, got r_small={r_small}, r_big={r_big}.")
    rng = np.random.RandomState(seed)
    feats = np.empty((size, 4), dtype=np.float64)
    labels = np.empty(size, dtype=np.int64)
    for k in range(size):
        goal = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * r_big
            if _dist(x, y, r_big, r_big) > r_big:
                continue
            if _which_class(x, y, r_small, r_big) == goal:
                break
        feats[k] = (x, y, 1.0 - x, 1.0 - y)
        labels[k] = goal
    return feats, labels
