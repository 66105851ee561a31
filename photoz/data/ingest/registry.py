"""Every importer `python -m photoz.ingest format=<name>` can choose, registered once: its image
source class, which declares its options (conf/ingest.yaml's `<name>:` block, typed by
photoz.data.ingest.schema) and opens itself from them."""

from __future__ import annotations

from photoz.data.ingest.arrays import NumpyArray
from photoz.data.ingest.fits import FitsCube, FitsCutouts
from photoz.data.ingest.sources import ImageSource

SOURCES: dict[str, type[ImageSource]] = {
    "fits_cube": FitsCube,
    "fits_cutouts": FitsCutouts,
    "numpy": NumpyArray,
}
