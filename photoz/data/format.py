"""The photoz data set format: one directory holding images, catalog and metadata.

    images.npy    float32 (N, C, H, W), calibrated fluxes in nJy per pixel, read memmapped
    catalog.fits  one row per image: id, redshift, split, flux_<b>, flux_err_<b>, optional mag_<b>,
                  simulation truth in true_* columns
    meta.json     bands, pixel scale, PSF FWHM per band, depth, generator and its config, checksum
    filters/      optional: the set's own filter curves, <band>.dat (photoz.data.filters)

Everything that reads or writes a data set goes through this module. Writes go to a hidden temp
directory beside the target and are renamed into place, so a killed writer leaves nothing that
passes validation; overwrite replaces only a complete photoz data set (photoz.data.target).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from photoz.data.columns import check_redshifts, check_unique_ids
from photoz.data.filters import dataset_curves, write_curves
from photoz.data.target import DATASET_FILES, check_target, make_temp, no_space, remove_stale_temps, reserve
from photoz.errors import DataError
from photoz.physics.curves import Curve

FORMAT_VERSION = 1
IMAGES, CATALOG, META = DATASET_FILES  # "images.npy", "catalog.fits", "meta.json"
SPLITS = ("train", "val", "test")
UNLABELLED = "unlabelled"  # a training galaxy without its redshift (photoz.data.labels; never on disk)
NJY_ZP = 31.4  # AB magnitude of 1 nJy, the unit of every flux here: m_AB = NJY_ZP − 2.5 log10(f / nJy)
_CHUNK = 4096  # images per chunk when scanning or hashing


@dataclass
class Dataset:
    """A validated data set: memmapped images, catalog and metadata."""

    path: Path
    images: np.ndarray  # (N, C, H, W) float32 memmap
    catalog: Table
    meta: dict[str, Any]

    @property
    def bands(self) -> list[str]:
        return list(self.meta["bands"])

    @property
    def photometric_system(self) -> str | None:
        """meta.json `filters` (lsst, sdss, ...; None: unknown); unrecorded: lsst unless photoz.ingest wrote it."""
        imported = self.meta.get("generator", {}).get("name") == "photoz.ingest"
        return self.meta["filters"] if "filters" in self.meta else (None if imported else "lsst")

    def __len__(self) -> int:
        return len(self.catalog)

    def split_index(self, split: str) -> np.ndarray:
        """Row indices (sorted) of one split: 'train', 'val', 'test' or (photoz.data.labels) 'unlabelled'."""
        if split not in (*SPLITS, UNLABELLED):
            raise ValueError(f"unknown split {split!r}; expected one of {(*SPLITS, UNLABELLED)}")
        return np.flatnonzero(np.asarray(self.catalog["split"]).astype(str) == split)

    def fluxes(self, index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Catalog photometry (flux, flux_err) as (n, C) float64 arrays in nJy, bands in order."""
        rows = slice(None) if index is None else index
        flux = np.stack([np.asarray(self.catalog[f"flux_{b}"], float)[rows] for b in self.bands], 1)
        err = np.stack([np.asarray(self.catalog[f"flux_err_{b}"], float)[rows] for b in self.bands], 1)
        return flux, err


def images_checksum(images: np.ndarray, catalog_file: Path, curves: dict[str, str] | None = None) -> str:
    """sha256 over the image bytes (streamed in chunks), the catalog file bytes and, for a set
    with its own filter curves, each band's curve sha256 (band -> sha256, meta.json `filter_curves`)."""
    h = hashlib.sha256()
    for start in range(0, len(images), _CHUNK):
        h.update(memoryview(np.ascontiguousarray(images[start : start + _CHUNK])).cast("B"))
    h.update(Path(catalog_file).read_bytes())
    for band in sorted(curves or {}):
        h.update(f"filter curve {band} {curves[band]}".encode())  # type: ignore[index]
    return h.hexdigest()


class DatasetWriter:
    """Stream images into a memmapped images.npy in a temp dir; `finish` renames it into place.

    Use as a context manager: an exception inside the block removes the temp dir.

        with DatasetWriter(path, n, bands, (H, W)) as w:
            w.images[i:j] = stamps
            w.finish(catalog, meta)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        n: int,
        bands: list[str],
        shape: tuple[int, int],
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if n <= 0:
            raise DataError(f"{self.path}: cannot write a data set of {n} images; need at least 1")
        check_target(self.path, overwrite)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.path)
        self.bands = list(bands)
        self.overwrite = overwrite
        self.tmp = make_temp(self.path)
        try:
            self.images = np.lib.format.open_memmap(
                self.tmp / IMAGES, mode="w+", dtype=np.float32, shape=(n, len(bands), *shape)
            )
            reserve(self.tmp / IMAGES, self.path)
        except (DataError, OSError) as err:
            self.images = None  # type: ignore[assignment]
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise err if isinstance(err, DataError) else no_space(err, self.path) from None
        self.done = False

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.done:
            self.images = None  # type: ignore[assignment]
            shutil.rmtree(self.tmp, ignore_errors=True)

    def finish(self, catalog: Table, meta: dict[str, Any], curves: dict[str, Curve] | None = None) -> Dataset:
        """Write catalog, metadata and the bands' own filter curves (if given), validate the whole
        set, then rename it into place."""
        try:
            self._write_tables(catalog, {**meta, "filter_curves": write_curves(self.tmp, curves)} if curves else meta)
        except OSError as err:  # a full disk: one line, and __exit__ removes the temp dir
            raise no_space(err, self.path) from None
        self.images = None  # type: ignore[assignment]  # close the memmap before renaming
        try:
            validate_dataset(self.tmp, checksum=False)  # the checksum was computed just above
        except DataError as err:  # name the target, not the temp dir that is about to vanish
            raise DataError(str(err).replace(str(self.tmp), str(self.path))) from None
        self._rename()
        self.done = True
        return read_dataset(self.path, validate=False)

    def _write_tables(self, catalog: Table, meta: dict[str, Any]) -> None:
        self.images.flush()
        catalog.write(self.tmp / CATALOG, format="fits")
        meta = {
            "format_version": FORMAT_VERSION,
            **meta,
            "bands": self.bands,
            "n_galaxies": int(self.images.shape[0]),
            "stamp_shape": list(self.images.shape[2:]),
            "checksum": images_checksum(self.images, self.tmp / CATALOG, meta.get("filter_curves")),
        }
        (self.tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    def _rename(self) -> None:
        old = None
        if self.path.exists():
            check_target(self.path, True)  # nothing moved in while we were writing
            old = make_temp(self.path, "old")
            self.path.rename(old)
        self.tmp.rename(self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_dataset(path: str | os.PathLike, images: np.ndarray, catalog: Table, meta: dict[str, Any],
                  overwrite: bool = False) -> Dataset:
    """Write a whole in-memory (N, C, H, W) array and its catalog as a data set."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise DataError(f"images must have shape (N, C, H, W); got {images.shape}")
    if images.shape[1] != len(meta["bands"]):
        raise DataError(f"{path}: images have {images.shape[1]} channels but bands are {meta['bands']}; they must match")
    with DatasetWriter(path, len(images), meta["bands"], images.shape[2:], overwrite) as w:
        for start in range(0, len(images), _CHUNK):
            w.images[start : start + _CHUNK] = images[start : start + _CHUNK]
        return w.finish(catalog, {k: v for k, v in meta.items() if k != "bands"})


def _load_parts(path: Path) -> tuple[np.ndarray, Table, dict[str, Any]]:
    if not path.is_dir():
        raise DataError(f"{path}: no such data set directory; build one with python -m photoz.simulate")
    for name in (IMAGES, CATALOG, META):
        if not (path / name).is_file():
            raise DataError(f"{path / name} is missing; the data set is incomplete, rebuild or re-import it")
    try:
        meta = json.loads((path / META).read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path / META} is not valid JSON ({err}); rebuild or re-import the data set")
    try:
        images = np.load(path / IMAGES, mmap_mode="r")
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path / IMAGES} is truncated or corrupt ({err}); rebuild or re-import the data set")
    try:
        catalog = Table.read(path / CATALOG, format="fits")
        catalog.convert_bytestring_to_unicode()  # FITS stores text as bytes; give back str columns
    except Exception as err:  # astropy raises many types for a bad file
        raise DataError(f"{path / CATALOG} cannot be read as a FITS table ({err}); rebuild or re-import it")
    return images, catalog, meta


def validate_dataset(path: str | os.PathLike, checksum: bool = True) -> None:
    """Check every promise of the format; raise DataError naming the file, column or row."""
    path = Path(path)
    images, catalog, meta = _load_parts(path)
    img, cat = path / IMAGES, path / CATALOG
    bands = meta.get("bands")
    if not isinstance(bands, list) or not bands:
        raise DataError(f"{path / META}: 'bands' must be a non-empty list of band names")
    if images.dtype != np.float32 or images.ndim != 4:
        raise DataError(f"{img}: expected float32 (N, C, H, W), got {images.dtype} {images.shape}")
    if images.shape[1] != len(bands):
        raise DataError(f"{img} has {images.shape[1]} channels but {path / META} lists bands {bands}")
    if len(images) != len(catalog):
        raise DataError(f"{img} holds {len(images)} images but {cat} has {len(catalog)} rows; they must match")
    required = ["id", "redshift", "split"] + [f"{p}_{b}" for b in bands for p in ("flux", "flux_err")]
    missing = [c for c in required if c not in catalog.colnames]
    if missing:
        raise DataError(f"{cat} lacks column(s) {', '.join(missing)}")
    check_redshifts(np.asarray(catalog["redshift"], dtype=float), cat, "redshift")
    check_unique_ids(np.asarray(catalog["id"]), cat, "id")
    split = np.asarray(catalog["split"]).astype(str)
    bad = np.flatnonzero(~np.isin(split, SPLITS))
    if bad.size:
        raise DataError(f"{cat}: split at row {bad[0]} is {str(split[bad[0]])!r}; expected one of {SPLITS}")
    for start in range(0, len(images), _CHUNK):
        finite = np.isfinite(images[start : start + _CHUNK]).reshape(-1, images[0].size).all(1)
        if not finite.all():
            raise DataError(f"{img}: image {start + np.argmin(finite)} has non-finite pixels; fix or drop it")
    dataset_curves(path, meta)  # each file is the curve meta.json records
    if checksum and meta.get("checksum") != images_checksum(images, cat, meta.get("filter_curves")):
        raise DataError(f"{path}: content checksum does not match {path / META}; the files were changed, rebuild the set")


def read_dataset(path: str | os.PathLike, validate: bool = True) -> Dataset:
    """Open a data set with images memmapped; validate it first unless told not to."""
    path = Path(path)
    if validate:
        validate_dataset(path)
    images, catalog, meta = _load_parts(path)
    return Dataset(path=path, images=images, catalog=catalog, meta=meta)
