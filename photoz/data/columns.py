"""Reading a user's catalogue columns: blank or masked cells are missing (NaN), never zero.

astropy reads a blank CSV cell or a FITS null as a masked entry whose underlying value is a fill
(often 0); `np.asarray(column, float)` silently keeps that fill. Everything that turns a user's
column into numbers goes through `float_column`, so a blank redshift is refused like NaN and a
blank magnitude is a non-detection like NaN.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from photoz.errors import DataError


def float_column(table: Table, name: str, source: object) -> np.ndarray:
    """Column `name` as float64 with masked cells as NaN; DataError if it holds non-numbers."""
    column = table[name]
    try:
        return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)
    except (ValueError, TypeError):
        values = np.asarray(column)
        bad = next(i for i, v in enumerate(values) if not _is_number(v))
        raise DataError(f"{source}: {name} at row {bad} is {str(values[bad])!r}, not a number; fix or blank it") from None


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False
    return True


def check_redshifts(z: np.ndarray, source: object, name: str) -> None:
    """DataError naming the first blank, non-finite or negative redshift: the one redshift check
    of the importers, data=catalog and the data set validator (photoz.data.format)."""
    bad = np.flatnonzero(~np.isfinite(z) | (z < 0))
    if bad.size:
        what = " (a blank or NaN cell)" if np.isnan(z[bad[0]]) else ""
        raise DataError(f"{source}: {name} at row {bad[0]} is {z[bad[0]]}{what}; redshifts must be finite and >= 0")


def check_unique_ids(ids: np.ndarray, source: object, name: str) -> None:
    """DataError naming the first repeated id and two of its rows in the user's table."""
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        rows = np.flatnonzero(ids == dup)[:2].tolist()
        raise DataError(f"{source}: {name} {dup} appears at rows {rows}; ids must be unique")
