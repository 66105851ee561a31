"""What every importer's image source is: N stamps of shape (C, H, W) read chunk by chunk.

A source class is registered once in photoz.data.ingest.registry under its `format=` name. It
declares its options (`Options`, a dataclass: conf/ingest.yaml's `<format>:` block, typed by
photoz.data.ingest.schema) and opens itself from them (`open`); where its images can also hold
the catalogue, `own_catalog` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from astropy.table import Table


def to_nchw(array: np.ndarray, layout: str) -> np.ndarray:
    return array.transpose(0, 3, 1, 2) if layout == "NHWC" else array


class ImageSource:
    """N stamps of shape (C, H, W); `origin(i)` names the file galaxy i comes from."""

    Options: ClassVar[type]  # the dataclass of its options (<format>.* on the command line)
    n: int
    shape: tuple[int, int, int]
    path: str

    @classmethod
    def open(cls, images: str, options: Any, table: Table, bands: list[str]) -> ImageSource:
        """The source for `images=` with its options, the catalogue's rows and the bands."""
        raise NotImplementedError

    @classmethod
    def own_catalog(cls, images: str) -> str | None:
        """The file that holds the catalogue when catalog= is not given (None: catalog= is required)."""
        return None

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError

    def origin(self, i: int) -> str:
        return self.path
