"""Read a user's catalog (any astropy table, or numpy arrays) and build the photoz catalog columns."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from astropy.table import Table

from photoz.data.columns import check_redshifts, check_unique_ids, float_column
from photoz.data.ingest.schema import ColumnsConfig, SplitConfig
from photoz.data.splits import checked_labels, random_labels, valid_fractions
from photoz.errors import ConfigError, DataError, first_line

log = logging.getLogger(__name__)


def table_from_array(array: np.ndarray, source: str, redshift: str) -> Table:
    """A structured array becomes a table; a plain 1-D array is taken as the redshift column."""
    if array.dtype.names:
        return Table(array)
    if array.ndim == 1:
        return Table({redshift: array})
    raise DataError(f"{source}: labels array has shape {array.shape}; expected a structured array or 1-D redshifts")


def read_table(path: str | Path, columns: ColumnsConfig, npz_key: str = "labels") -> Table:
    """Read a catalog file; .npy/.npz via numpy (key `npz_key`), anything else via astropy."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such catalog file; check the catalog= path")
    try:
        if path.suffix == ".npy":
            return table_from_array(np.load(path, allow_pickle=False), str(path), columns.redshift)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                if npz_key not in npz.files:
                    raise DataError(f"{path} has no array {npz_key!r} (it holds {npz.files}); set npz_labels_key")
                return table_from_array(npz[npz_key], f"{path}[{npz_key}]", columns.redshift)
        return Table.read(path)
    except DataError:
        raise
    except Exception as err:  # astropy raises many types for a file that holds no table
        raise DataError(f"{path} cannot be read as a table ({first_line(err)}); check the file and its format") from None


def random_split(n: int, fractions: SplitConfig, seed: int) -> np.ndarray:
    """Seeded train/val/test labels in the given fractions (photoz.data.splits: largest remainder)."""
    frac = np.array([fractions.train, fractions.val, fractions.test], float)
    if not valid_fractions(frac):
        raise ConfigError(f"split fractions {frac.tolist()} must be >= 0 and sum to 1; fix split.train/val/test")
    return random_labels(n, frac, np.random.default_rng(seed))


def checked_flux(values: np.ndarray, source: str, name: str, ids: np.ndarray, error: bool) -> np.ndarray:
    """`values` once finite (and for an error column >= 0); DataError naming the first bad row. A
    non-detection is its measured flux (near 0 or negative) with its error, never NaN, inf or a sentinel."""
    bad = ~np.isfinite(values) | ((values < 0) if error else False)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: column {name!r} is {values[i]} in row {i} (id {ids[i]}) and {int(bad.sum())} rows in all; "
                        "fluxes must be finite and errors >= 0: write a non-detection as its measured flux and error")
    return values


def build_catalog(
    table: Table, source: str, bands: list[str], columns: ColumnsConfig, split: SplitConfig, seed: int
) -> Table:
    """Map the user's columns to id, redshift, split and the flux_<b>/flux_err_<b> it has (in nJy);
    keep every other column. Fluxes it lacks are left for the importer to measure.

    Raises DataError naming `source` and the row for a missing redshift column, a non-finite or
    negative redshift, duplicate ids, an unknown split label, a non-finite flux or a negative or
    non-finite flux error."""
    n = len(table)
    if n == 0:
        raise DataError(f"{source} has no rows; nothing to import")
    if columns.redshift not in table.colnames:
        raise DataError(
            f"{source} has no column {columns.redshift!r} (it has {', '.join(table.colnames[:12])}); "
            "set columns.redshift=<name of the spec-z column>"
        )
    z = float_column(table, columns.redshift, source)
    check_redshifts(z, source, columns.redshift)
    if columns.id in table.colnames:
        ids = np.asarray(table[columns.id])
        if not np.issubdtype(ids.dtype, np.integer):
            raise DataError(f"{source}: column {columns.id!r} holds {ids.dtype} values; ids must be integers")
        check_unique_ids(ids, source, columns.id)
    else:
        log.warning("%s has no id column %r; numbering galaxies 0..%d", source, columns.id, n - 1)
        ids = np.arange(n)
    if columns.split is not None:
        if columns.split not in table.colnames:
            raise DataError(f"{source} has no split column {columns.split!r}; fix columns.split or set it to null")
        labels = checked_labels(table[columns.split], source, columns.split)
    else:
        labels = random_split(n, split, seed)
    out = Table({"id": ids.astype(np.int64), "redshift": z, "split": labels})
    mapped = {columns.id, columns.redshift, columns.split}
    for b in bands:
        for out_name, pattern in ((f"flux_{b}", columns.flux), (f"flux_err_{b}", columns.flux_err)):
            name = pattern.format(band=b)
            if name in table.colnames:
                out[out_name] = checked_flux(float_column(table, name, source) * columns.flux_to_njy, source, name, ids,
                                             out_name.startswith("flux_err"))
                mapped.add(name)
    for name in table.colnames:
        if name not in mapped and name not in out.colnames:
            out[name] = table[name]
    return out
