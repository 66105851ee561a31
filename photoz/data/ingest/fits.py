"""The FITS importers: one N×C×H×W cube (format=fits_cube), or one multi-extension file per
galaxy (format=fits_cutouts); each yields (start, float32 (k, C, H, W)) chunks, in catalog order,
without loading the whole input into memory."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import string
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning

from photoz.choices import Layout
from photoz.data.ingest.sources import ImageSource, to_nchw
from photoz.errors import ConfigError, DataError


@dataclass
class FitsCubeOptions:
    """fits_cube.*: where the cube is and its axis order."""

    hdu: str = "0"  # HDU index or EXTNAME holding the cube
    layout: Layout = Layout.NCHW  # NCHW | NHWC


@dataclass
class FitsCutoutsOptions:
    """fits_cutouts.*: how a file's HDUs map to bands, and how many processes read the files."""

    band_keyword: Optional[str] = "FILTER"  # header keyword naming each HDU's band; null: HDU order
    workers: int = 2  # processes reading files (does not change the output)


class FitsCube(ImageSource):
    """An N×C×H×W (or N×H×W×C) cube in one HDU, read with `.section` chunk by chunk."""

    Options = FitsCubeOptions

    @classmethod
    def open(cls, images: str, options: FitsCubeOptions, table: Table, bands: list[str]) -> FitsCube:
        return cls(images, options.hdu, options.layout)

    def __init__(self, path: str, hdu: str, layout: str) -> None:
        self.path, self.layout = path, layout
        if not Path(path).is_file():
            raise DataError(f"{path}: no such FITS file; check the images= path")
        with warnings.catch_warnings():  # astropy's "may have been truncated": checked and reported below
            warnings.simplefilter("ignore", AstropyUserWarning)
            try:
                self.hdul = fits.open(path, memmap=True)
                self.hdu = self.hdul[int(hdu) if hdu.isdigit() else hdu]
            except KeyError:
                raise DataError(f"{path} has no HDU {hdu!r}; set fits_cube.hdu= to the index or EXTNAME of the cube") from None
            except OSError as err:
                raise DataError(f"{path} cannot be read as FITS ({err}); check the file") from None
            shape = self.hdu.shape if self.hdu.is_image else ()
            if len(shape) != 4:
                raise DataError(f"{path}[{hdu}] has shape {shape}; expected a 4-D {layout} cube (set fits_cube.hdu= or fits_cube.layout=)")
            self._check_size(shape)
        self.n = shape[0]
        self.shape = tuple(shape[1:]) if layout == "NCHW" else (shape[3], shape[1], shape[2])

    def _check_size(self, shape: tuple[int, ...]) -> None:
        """DataError if the file ends before the cube's last byte (a cut or half-copied file)."""
        index = next(i for i, h in enumerate(self.hdul) if h is self.hdu)
        end = self.hdul.fileinfo(index)["datLoc"] + int(np.prod(shape)) * abs(self.hdu.header["BITPIX"]) // 8
        size = Path(self.path).stat().st_size
        if end > size:
            self.hdul.close()
            raise DataError(f"{self.path} is truncated: its {shape} cube needs {end} bytes but the file has {size}; copy or write it again")

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        try:
            for start in range(0, self.n, size):
                yield start, to_nchw(np.asarray(self.hdu.section[start : start + size], np.float32), self.layout)
        finally:
            self.hdul.close()


def _planes(path: str, hdul: fits.HDUList, bands: list[str], keyword: str | None) -> list[np.ndarray]:
    images = [h for h in hdul if h.is_image and h.data is not None]
    if len(images) == 1 and images[0].data.ndim == 3:
        return list(images[0].data)
    if keyword is None:
        return [h.data for h in images]
    found = {str(h.header.get(keyword, "")).strip().lower(): h for h in images}
    lost = [b for b in bands if b.lower() not in found]
    if lost:
        raise DataError(
            f"{path}: no HDU has {keyword} = {lost[0]!r} (found {sorted(k for k in found if k)}); "
            "fix bands=, fits_cutouts.band_keyword=, or set fits_cutouts.band_keyword=null to take bands in HDU order"
        )
    return [found[b.lower()].data for b in bands]


def read_cutout(job: tuple[str, int, list[str], str | None]) -> np.ndarray:
    """The (C, H, W) float32 stamp of catalog row `row` from its FITS file (a pool task)."""
    path, row, bands, keyword = job
    if not Path(path).is_file():
        raise DataError(f"{path}: cutout of catalog row {row} not found; check images= and the catalog")
    try:
        with fits.open(path) as hdul:
            planes = _planes(path, hdul, bands, keyword)
            shapes = {np.shape(p) for p in planes}
            if len(planes) != len(bands) or len(shapes) != 1 or len(next(iter(shapes))) != 2:
                raise DataError(
                    f"{path}: found {len(planes)} image planes of shape(s) {sorted(shapes)}; "
                    f"expected {len(bands)} bands {bands} of one 2-D shape"
                )
            return np.stack(planes).astype(np.float32)
    except OSError as err:
        raise DataError(f"{path} cannot be read as FITS ({err}); check the file") from None


def _fork_pool(workers: int) -> multiprocessing.pool.Pool:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn").Pool(workers)


class FitsCutouts(ImageSource):
    """One FITS file per galaxy, path from a template filled with catalog columns (`cutouts/{id}.fits`);
    one 2-D image HDU per band, matched by a header keyword or taken in HDU order, or one C×H×W HDU.
    Files are read by `workers` processes (astropy's header parsing, not the disk, is the bottleneck)."""

    Options = FitsCutoutsOptions

    @classmethod
    def open(cls, images: str, options: FitsCutoutsOptions, table: Table, bands: list[str]) -> FitsCutouts:
        return cls(images, table, bands, options.band_keyword, options.workers)

    def __init__(self, template: str, table: Table, bands: list[str], band_keyword: str | None, workers: int) -> None:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        missing = [f for f in fields if f not in table.colnames]
        if missing:
            raise ConfigError(f"images={template!r} uses {missing} but the catalog has no such column(s); fix images=")
        if workers < 1:
            raise ConfigError(f"fits_cutouts.workers={workers} must be >= 1")
        self.template, self.bands, self.keyword, self.workers = template, bands, band_keyword, workers
        self.values = [np.asarray(table[f]) for f in fields]
        self.fields, self.n = fields, len(table)
        self.path = template
        self.shape = (len(bands), *read_cutout(self._job(0)).shape[1:])

    def origin(self, i: int) -> str:
        return self.template.format(**{f: v[i] for f, v in zip(self.fields, self.values)})

    def _job(self, i: int) -> tuple[str, int, list[str], str | None]:
        return self.origin(i), i, self.bands, self.keyword

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        pool = _fork_pool(self.workers) if self.workers > 1 and self.n > 1 else None
        try:
            for start in range(0, self.n, size):
                jobs = [self._job(i) for i in range(start, min(start + size, self.n))]
                stamps = pool.map(read_cutout, jobs, chunksize=8) if pool else [read_cutout(j) for j in jobs]
                for i, s in enumerate(stamps, start):
                    if s.shape != self.shape:
                        raise DataError(
                            f"{self.origin(i)}: stamp shape {s.shape} differs from the first one's {self.shape}"
                        )
                yield start, np.stack(stamps)
        finally:
            if pool is not None:
                pool.terminate()
