"""The one train/val/test split rule of photoz: the simulator and every importer use it.

Counts are the fractions times n rounded by largest remainder (exact total; a zero fraction
gives zero rows, a fraction's share is never off by more than one galaxy), the labels are then
shuffled by the caller's seeded generator. A catalogue's own split column is checked here too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photoz.data.format import SPLITS
from photoz.errors import DataError


def valid_fractions(fractions: Sequence[float]) -> bool:
    """Whether train, val and test fractions are all >= 0 and sum to 1 (within 1e-6)."""
    frac = np.asarray(fractions, float)
    return bool((frac >= 0).all() and abs(frac.sum() - 1) <= 1e-6)


def split_counts(n: int, fractions: Sequence[float]) -> np.ndarray:
    """Rows per split (train, val, test) for `fractions` (>= 0, summing to 1) of n rows."""
    frac = np.asarray(fractions, float)
    counts = np.floor(frac * n).astype(int)
    remainder = frac * n - counts
    counts[np.argsort(-remainder, kind="stable")[: n - counts.sum()]] += 1  # largest remainders first
    return counts


def random_labels(n: int, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """n labels in SPLITS order with split_counts, shuffled by rng."""
    labels = np.repeat(np.array(SPLITS, dtype="U5"), split_counts(n, fractions))
    return labels[rng.permutation(n)]


def checked_labels(values: np.ndarray, source: str, column: str) -> np.ndarray:
    """A catalogue's split column as labels (case and spaces ignored); DataError at the first
    label that is not train, val or test."""
    split = np.char.lower(np.char.strip(np.asarray(values).astype(str)))
    bad = np.flatnonzero(~np.isin(split, SPLITS))
    if bad.size:
        raise DataError(f"{source}: {column} at row {bad[0]} is {str(values[bad[0]])!r}; expected one of {SPLITS}")
    return split.astype("U5")
