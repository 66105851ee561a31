"""Catalogue-driven rendering: truth and band fluxes from a user's table of redshifts and AB mags.

Any table astropy reads (FITS, CSV, ECSV, parquet, …). Magnitudes come from the columns named by
`data.mag_column` with `{band}` replaced; NaN or >= `data.nondetection_mag` is a non-detection,
rendered as zero flux in that band. Sizes (arcsec), axis ratios, position angles (degrees) and
bulge-to-total ratios come from their columns when present and from the default population model
otherwise. A `data.split_column` column (default `split`), when present, is the split as it is; a
column named other than the default must be present (never a silent fallback to a seeded split). Both components share the catalogue's colours (bulge flux = bt × band flux).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from photoz.data.columns import check_redshifts, check_unique_ids, float_column
from photoz.data.format import NJY_ZP, SPLITS
from photoz.data.schema import CatalogData
from photoz.data.simulate.population import draw_morphology
from photoz.data.splits import checked_labels
from photoz.errors import DataError, first_line

# config key -> (truth column, lowest allowed, highest allowed)
_SHAPE_COLUMNS = {"hlr_column": ("true_hlr", 1e-4, 10.0), "q_column": ("true_q", 0.01, 1.0), "bt_column": ("true_bt", 0.0, 1.0)}


def read_catalog(cfg: DictConfig) -> tuple[Path, Table]:
    """The user's table, refused with a DataError if unreadable or empty."""
    path = Path(to_absolute_path(str(cfg.catalog_path)))
    if not path.is_file():
        raise DataError(f"data.catalog_path={path}: no such file; give a FITS, CSV or parquet table")
    try:
        table = Table.read(path)
    except Exception as err:  # astropy raises many types for unreadable tables
        raise DataError(f"{path} cannot be read as a table ({first_line(err)}); give a FITS, CSV or parquet file") from None
    if len(table) == 0:
        raise DataError(f"{path} has no rows; it needs one row per galaxy")
    return path, table


def catalog_split(values, path: Path, column: str) -> np.ndarray:
    """The catalogue's own train/val/test labels; DataError for another label or an empty split."""
    labels = checked_labels(np.ma.filled(np.ma.asarray(values).astype(str), ""), str(path), f"split column {column!r}")
    missing = [s for s in SPLITS if not (labels == s).any()]
    if missing:
        raise DataError(
            f"{path}: split column {column!r} has no {'/'.join(missing)} rows; training needs train, val and "
            "test rows: label some, or rename the column (then data.split fractions apply)"
        )
    return labels


def catalog_truth(cfg: DictConfig, bands: list[str], rng: np.random.Generator) -> tuple[Table, np.ndarray, np.ndarray]:
    """Truth table (id, redshift, true_mag_<b>, shapes) and (n, C) bulge/disk fluxes in nJy."""
    path, table = read_catalog(cfg)
    if cfg.n_galaxies is not None:
        table = table[: int(cfg.n_galaxies)]
    zcol = cfg.redshift_column
    if zcol not in table.colnames:
        raise DataError(f"{path} has no redshift column {zcol!r}; name it with data.redshift_column=<column>")
    z = float_column(table, zcol, path)
    check_redshifts(z, path, zcol)
    mags = np.empty((len(table), len(bands)))
    for j, band in enumerate(bands):
        col = str(cfg.mag_column).replace("{band}", band)
        if col not in table.colnames:
            raise DataError(f"{path} has no magnitude column {col!r} for band {band}; set data.mag_column (e.g. 'mag_{{band}}')")
        mags[:, j] = float_column(table, col, path)  # blank is NaN: a non-detection
    detected = np.isfinite(mags) & (mags < cfg.nondetection_mag)
    none = np.flatnonzero(~detected.any(1))
    if none.size:
        raise DataError(f"{path}: row {none[0]} is a non-detection in every band {bands}; drop it from the catalogue")
    flux = np.where(detected, 10 ** (-0.4 * (np.where(detected, mags, 0.0) - NJY_ZP)), 0.0)
    # the size model needs an i-like magnitude: the i band if detected, else the brightest band
    ref = np.where(detected, mags, np.inf)
    i_mag = ref[:, bands.index("i")] if "i" in bands else np.full(len(z), np.inf)
    i_mag = np.where(np.isfinite(i_mag), i_mag, ref.min(1))
    truth = draw_morphology(rng, i_mag, z)
    for key, (name, low, high) in _SHAPE_COLUMNS.items():
        if cfg[key] in table.colnames:
            values = float_column(table, cfg[key], path)
            bad = np.flatnonzero(~((values >= low) & (values <= high)))
            if bad.size:
                raise DataError(f"{path}: {cfg[key]} at row {bad[0]} is {values[bad[0]]}; it must lie in [{low}, {high}]")
            truth[name] = values
    if cfg.beta_column in table.colnames:
        beta = np.deg2rad(float_column(table, cfg.beta_column, path))
        truth["true_beta"] = np.where(np.isfinite(beta), beta, truth["true_beta"])  # blank: drawn
    if cfg.hlr_column in table.colnames:
        truth["true_bulge_hlr"] = 0.5 * truth["true_hlr"]
    if cfg.split_column in table.colnames:
        truth["split"] = catalog_split(table[cfg.split_column], path, cfg.split_column)
    elif cfg.split_column != CatalogData.split_column:  # a column the user named must be there
        raise DataError(
            f"{path} has no split column {cfg.split_column!r} (data.split_column); name one of its columns, "
            f"or leave data.split_column={CatalogData.split_column} (used if present, else a seeded split by data.split)"
        )
    truth["true_sed"] = np.nan  # colours come from the catalogue, not a template
    truth.add_column(z, name="redshift", index=0)
    ids = np.asarray(table[cfg.id_column], np.int64) if cfg.id_column in table.colnames else np.arange(1, len(z) + 1)
    check_unique_ids(ids, path, cfg.id_column)  # named against the user's table, not the set being built
    truth.add_column(ids, name="id", index=0)
    for j, band in enumerate(bands):
        truth[f"true_mag_{band}"] = np.where(detected[:, j], mags[:, j], np.nan)
    bt = np.asarray(truth["true_bt"], float)[:, None]
    return truth, bt * flux, (1.0 - bt) * flux
