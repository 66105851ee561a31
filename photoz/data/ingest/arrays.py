"""The numpy importer (format=numpy): images in a .npy or .npz, as in Pasquet et al. 2019's SDSS
release; yields (start, float32 (k, C, H, W)) chunks without loading the whole array."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from photoz.choices import Layout
from photoz.data.ingest.sources import ImageSource, to_nchw
from photoz.errors import DataError


@dataclass
class NumpyOptions:
    """numpy.*: the array's name inside an .npz and its axis order."""

    images_key: str = "cube"  # the images' array in an .npz (Pasquet's sdss.npz: cube)
    layout: Layout = Layout.NHWC  # NHWC (Pasquet) | NCHW


class NumpyArray(ImageSource):
    """Images in a .npy (memmapped) or an .npz member (streamed row by row), NHWC as in Pasquet's
    SDSS release or NCHW."""

    Options = NumpyOptions

    @classmethod
    def open(cls, images: str, options: NumpyOptions, table: Table, bands: list[str]) -> NumpyArray:
        return cls(images, options.images_key, options.layout)

    @classmethod
    def own_catalog(cls, images: str) -> str | None:
        """An .npz may hold the labels beside the images (Pasquet's sdss.npz)."""
        return images if images.endswith(".npz") else None

    def __init__(self, path: str, key: str, layout: str) -> None:
        self.path, self.layout, self.key = path, layout, key
        if not Path(path).is_file():
            raise DataError(f"{path}: no such file; check the images= path")
        try:
            if path.endswith(".npz"):
                shape, self.dtype = self._npz_header()
            else:
                self.array = np.load(path, mmap_mode="r", allow_pickle=False)
                shape, self.dtype = self.array.shape, self.array.dtype
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise DataError(f"{path} is truncated or not a numpy file ({err}); re-export it") from None
        if len(shape) != 4 or self.dtype.kind not in "fiu":
            raise DataError(f"{path}: images are {self.dtype} {shape}; expected a numeric 4-D {layout} array")
        self.n = shape[0]
        self.shape = tuple(shape[1:]) if layout == "NCHW" else (shape[3], shape[1], shape[2])
        self.row_shape = tuple(shape[1:])

    def _open_member(self) -> tuple[zipfile.ZipFile, object]:
        zf = zipfile.ZipFile(self.path)
        if f"{self.key}.npy" not in zf.namelist():
            raise DataError(f"{self.path} has no array {self.key!r} (it holds {zf.namelist()}); set numpy.images_key")
        return zf, zf.open(f"{self.key}.npy")

    def _npz_header(self) -> tuple[tuple[int, ...], np.dtype]:
        zf, f = self._open_member()
        with zf, f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
        if fortran:
            raise DataError(f"{self.path}[{self.key}] is Fortran-ordered; re-save it with np.ascontiguousarray")
        return shape, dtype

    def _npz_chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        zf, f = self._open_member()
        with zf, f:
            major, _ = np.lib.format.read_magic(f)
            (np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0)(f)
            row_bytes = int(np.prod(self.row_shape)) * self.dtype.itemsize
            for start in range(0, self.n, size):
                k = min(size, self.n - start)
                try:
                    buf = f.read(k * row_bytes)
                except (zipfile.BadZipFile, EOFError) as err:
                    raise DataError(f"{self.path}[{self.key}] is corrupt ({err}); re-export it") from None
                if len(buf) != k * row_bytes:
                    end = start + len(buf) // row_bytes
                    raise DataError(f"{self.path}[{self.key}] ends at image {end} of {self.n}; re-export it")
                yield start, np.frombuffer(buf, self.dtype).reshape(k, *self.row_shape)

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        raw = self._npz_chunks(size) if self.path.endswith(".npz") else (
            (s, self.array[s : s + size]) for s in range(0, self.n, size)
        )
        for start, chunk in raw:
            yield start, to_nchw(np.asarray(chunk, np.float32), self.layout)
