"""Importers of real cutouts into the photoz data set format.

    fits_cube     one N×C×H×W FITS cube (primary HDU or a named extension) + a catalog table
    fits_cutouts  one multi-extension FITS file per galaxy (path template from catalog columns)
    numpy         N×H×W×C arrays (.npy or .npz, as in Pasquet et al. 2019's SDSS release) + labels

Each format is an image source registered in registry.py (fits.py, arrays.py); its options are the
`<format>.*` keys (schema.py).

`ingest(cfg)` reads the catalog, streams the stamps chunk by chunk into a DatasetWriter (temp dir,
validated, renamed into place) with the bands' own filter curves if `filter_curves=` names them
(photoz.data.filters), converts pixels to nJy and measures aperture fluxes for bands whose
catalog has none. Every bad input is a DataError/ConfigError naming the file and row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

import photoz
from photoz.data.filters import read_curve_folder
from photoz.data.format import Dataset, DatasetWriter
from photoz.data.target import check_target
from photoz.data.ingest.catalog import build_catalog, read_table
from photoz.data.ingest.photometry import Aperture
from photoz.data.ingest.registry import SOURCES
from photoz.data.ingest.schema import IngestConfig, register_schemas
from photoz.data.ingest.sources import ImageSource
from photoz.errors import ConfigError, DataError

CHUNK = 256  # stamps per streamed chunk


def _check_config(cfg: Any) -> None:
    for key in ("format", "images", "output"):
        if not cfg[key]:
            raise ConfigError(f"{key}= is required; see docs/import.md (e.g. python -m photoz.ingest format=numpy ...)")
    if not cfg.bands:
        raise ConfigError("bands= is required, in the order of the image channels, e.g. bands=[u,g,r,i,z]")
    if len(set(cfg.bands)) != len(cfg.bands):
        raise ConfigError(f"bands={list(cfg.bands)} repeats a band; list each once")
    if cfg.psf_fwhm is not None and len(cfg.psf_fwhm) != len(cfg.bands):
        raise ConfigError(f"psf_fwhm has {len(cfg.psf_fwhm)} values for {len(cfg.bands)} bands; give one per band")
    if not cfg.pixel_to_njy > 0:
        raise ConfigError(f"pixel_to_njy={cfg.pixel_to_njy} must be > 0 (pixel values × pixel_to_njy = nJy)")
    for key in ("flux", "flux_err"):
        try:
            cfg.columns[key].format(band="x")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"columns.{key}={cfg.columns[key]!r} may only use the {{band}} placeholder") from None
    check_target(Path(cfg.output), cfg.overwrite, "overwrite")


def _open_source(cfg: Any, table: Table) -> ImageSource:
    """The registered source of format=, opened with its own options (the `<format>:` block)."""
    return SOURCES[str(cfg.format)].open(cfg.images, cfg[str(cfg.format)], table, list(cfg.bands))


def _catalog_path(cfg: Any) -> str:
    if cfg.catalog:
        return cfg.catalog
    own = SOURCES[str(cfg.format)].own_catalog(cfg.images)
    if own:
        return own
    raise ConfigError("catalog= is required (a table with the redshifts), except for numpy .npz files holding labels")


def ingest(cfg: IngestConfig | DictConfig) -> Dataset:
    """Import the stamps and catalog that `cfg` (conf/ingest.yaml) names into `cfg.output`."""
    cfg = OmegaConf.merge(OmegaConf.structured(IngestConfig), cfg)
    _check_config(cfg)
    bands = list(cfg.bands)
    curves = read_curve_folder(cfg.filter_curves, bands) if cfg.filter_curves else None
    cat_path = _catalog_path(cfg)
    table = read_table(cat_path, cfg.columns, cfg.npz_labels_key)
    catalog = build_catalog(table, cat_path, bands, cfg.columns, cfg.split, cfg.seed)
    source = _open_source(cfg, table)
    if source.n != len(catalog):
        raise DataError(
            f"{source.path} holds {source.n} images but {cat_path} has {len(catalog)} rows; they must match"
        )
    if source.shape[0] != len(bands):
        raise DataError(
            f"{source.path} has {source.shape[0]} bands per stamp but bands= lists {len(bands)} ({bands}); "
            f"fix bands= (or {cfg.format}.layout= if the band axis is last)"
        )
    measured = [c for b in bands for c in (f"flux_{b}", f"flux_err_{b}") if c not in catalog.colnames]
    phot = cfg.photometry
    aperture = Aperture(source.shape[1:], phot.radius, phot.annulus_inner, phot.annulus_outer) if measured else None
    flux = np.zeros((source.n, 2, len(bands)))
    with DatasetWriter(cfg.output, source.n, bands, source.shape[1:], overwrite=cfg.overwrite) as writer:
        with tqdm(total=source.n, desc=f"import {cfg.format}", unit="img", disable=None) as bar:
            for start, chunk in source.chunks(CHUNK):
                chunk = _finite(chunk * np.float32(cfg.pixel_to_njy), start, source, catalog, cfg.fill_nan, bands)
                writer.images[start : start + len(chunk)] = chunk
                if aperture is not None:
                    flux[start : start + len(chunk)] = np.stack(aperture.measure(chunk), 1)
                bar.update(len(chunk))
        for i, b in enumerate(bands):
            for j, name in enumerate((f"flux_{b}", f"flux_err_{b}")):
                if name in measured:
                    catalog[name] = flux[:, j, i]
        if cfg.format == "fits_cutouts":
            catalog["source_file"] = [source.origin(i) for i in range(source.n)]
        return writer.finish(catalog, _meta(cfg, cat_path, measured), curves)


def _finite(
    chunk: np.ndarray, start: int, source: ImageSource, catalog: Table, fill: float | None, bands: list[str]
) -> np.ndarray:
    """The chunk with non-finite pixels replaced by `fill`; without a fill, a DataError naming the first."""
    bad = ~np.isfinite(chunk)
    if not bad.any():
        return chunk
    if fill is None:
        k, c = np.argwhere(bad.any(axis=(2, 3)))[0]
        i = start + k
        raise DataError(
            f"{source.origin(i)}: image {i} (id {catalog['id'][i]}) has {bad[k, c].sum()} non-finite pixels in "
            f"band {bands[c]}; drop that galaxy or set fill_nan=0 to replace them"
        )
    return np.where(bad, np.float32(fill), chunk)


def _meta(cfg: Any, cat_path: str, measured: list[str]) -> dict[str, Any]:
    config = OmegaConf.to_container(cfg, resolve=True)
    meta: dict[str, Any] = {
        "pixel_unit": "nJy",
        "pixel_scale": cfg.pixel_scale,
        "filters": cfg.filters,  # the survey whose filters the bands are (None: unknown)
        "sources": {"images": str(cfg.images), "catalog": str(cat_path)},
        "generator": {"name": "photoz.ingest", "version": photoz.__version__, "config": config},
        "measured_photometry": {"columns": measured, **config["photometry"]} if measured else None,
    }
    if cfg.psf_fwhm is not None:
        meta["psf_fwhm"] = dict(zip(cfg.bands, cfg.psf_fwhm))
    return meta


__all__ = ["ingest", "register_schemas", "IngestConfig"]
