"""Typed schema of `conf/ingest.yaml`, so Hydra rejects a mistyped value before any file is read.

The keys every import has are IngestOptions'; each registered importer (photoz.data.ingest.registry)
adds its own options as a block named after its format (`fits_cube.hdu=CUBE`, `numpy.layout=NCHW`),
from the `Options` dataclass its source class declares: IngestConfig is built from the registry, and
`format=` accepts exactly the registered names (IngestFormat), so a new importer needs no line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore

from photoz.choices import Choice
from photoz.data.ingest.registry import SOURCES

IngestFormat = Choice("IngestFormat", {name: name for name in SOURCES})  # format=: the registered importers


@dataclass
class ColumnsConfig:
    """Names of the input catalog's columns; `{band}` in a pattern is replaced by each band."""

    id: str = "id"  # absent from the table: ids become 0..N-1
    redshift: str = "redshift"
    split: Optional[str] = None  # null: seeded random split with `split` fractions
    flux: str = "flux_{band}"  # absent: measured on the stamps (aperture)
    flux_err: str = "flux_err_{band}"  # absent: from the stamp's outer-annulus noise
    flux_to_njy: float = 1.0  # catalog fluxes × this = nJy


@dataclass
class SplitConfig:
    """Fractions of the seeded random split used when the catalog has no split column."""

    train: float = 0.7
    val: float = 0.15
    test: float = 0.15


@dataclass
class PhotometryConfig:
    """Fixed-aperture photometry for bands whose catalog has no flux columns."""

    radius: float = 5.0  # aperture radius in pixels
    annulus_inner: Optional[float] = None  # noise ring inner radius, pixels; null: annulus_outer - 2
    annulus_outer: Optional[float] = None  # noise ring outer radius, pixels; null: half the stamp size


@dataclass
class IngestOptions:
    """What to import, from where, into which photoz data set directory (every format)."""

    format: Optional[IngestFormat] = None  # fits_cube | fits_cutouts | numpy
    images: Optional[str] = None  # cube .fits | cutout path template like cutouts/{id}.fits | .npy/.npz
    catalog: Optional[str] = None  # any astropy table, or .npy/.npz; numpy format: null = labels in the .npz
    output: Optional[str] = None  # data set directory to create
    overwrite: bool = False
    bands: list[str] = field(default_factory=list)
    npz_labels_key: str = "labels"  # the labels' array in an .npz catalogue
    pixel_to_njy: float = 1.0  # pixel values × this = nJy per pixel (SDSS nanomaggies: 3631)
    pixel_scale: Optional[float] = None  # arcsec per pixel, recorded in the metadata
    filters: Optional[str] = None  # the survey whose filters the bands are (lsst, sdss, hsc, des, ...); null: unknown
    filter_curves: Optional[str] = None  # folder of the bands' own filter curves, <band>.dat (nm, throughput)
    psf_fwhm: Optional[list[float]] = None  # arcsec per band, recorded in the metadata
    fill_nan: Optional[float] = None  # null: refuse non-finite pixels; a number: replace them
    seed: int = 0
    split: SplitConfig = field(default_factory=SplitConfig)
    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    photometry: PhotometryConfig = field(default_factory=PhotometryConfig)


# IngestOptions plus one block per registered importer, `<format>: <its Options>`
IngestConfig = make_dataclass(
    "IngestConfig",
    [(name, source.Options, field(default_factory=source.Options)) for name, source in SOURCES.items()],
    bases=(IngestOptions,),
)
IngestConfig.__doc__ = "conf/ingest.yaml: IngestOptions and each importer's options under its format's name."


def register_schemas() -> None:
    """Store the schema as `ingest_schema`; conf/ingest.yaml lists it first in its defaults."""
    ConfigStore.instance().store(name="ingest_schema", node=IngestConfig)
