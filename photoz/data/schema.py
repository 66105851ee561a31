"""Structured-config schemas of the `data` group, registered in Hydra's ConfigStore.

conf/data/<name>.yaml starts with `defaults: [/<name>_schema@_here_, _self_]` so Hydra type-checks every
key and rejects unknown ones. The yaml files document each key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from photoz.choices import Depth, LabelSelection, SedModel, SedPopulation


@dataclass
class LabelsConfig:
    """data.labels: which training galaxies keep their redshift; the rest are `unlabelled`
    (photoz.data.labels). The defaults label every train galaxy, as before labels existed."""

    n: Optional[int] = None  # labelled train galaxies; null = every one the selection accepts
    selection: LabelSelection = LabelSelection.random
    band: str = "i"  # selection=magnitude: the band of the cut
    mag_limit: float = 23.0  # selection=magnitude: keep galaxies brighter than this
    seed: int = 0  # which galaxies the selection draws


@dataclass
class LsstSimData:
    """The default simulated LSST-like data set (conf/data/lsst_sim.yaml)."""

    name: str = "lsst_sim"
    root: str = "data"
    output: Optional[str] = None
    overwrite: bool = False
    seed: int = 0
    n_galaxies: Optional[int] = 32000
    bands: List[str] = field(default_factory=lambda: list("ugrizy"))
    stamp_size: int = 32
    depth: Depth = Depth.y10
    mag_limit: float = 25.3
    mag_min: float = 17.0
    aperture_radius: float = 1.0
    sed_model: SedModel = SedModel.empirical
    sed_population: SedPopulation = SedPopulation.cosmodc2
    ebv_mean: float = 0.2
    line_ew_scale: float = 1.0
    psf_scatter: float = 0.45
    blend_fraction: float = 0.0
    split: Dict[str, float] = field(default_factory=lambda: {"train": 0.5, "val": 0.0625, "test": 0.4375})
    workers: int = 2
    chunk_size: int = 256
    labels: LabelsConfig = field(default_factory=LabelsConfig)


@dataclass
class CatalogData(LsstSimData):
    """Stamps rendered from a user's catalogue of redshifts and magnitudes (conf/data/catalog.yaml)."""

    name: str = "catalog"
    n_galaxies: Optional[int] = None
    catalog_path: str = MISSING
    id_column: str = "id"
    redshift_column: str = "redshift"
    mag_column: str = "mag_{band}_lsst"
    nondetection_mag: float = 50.0
    hlr_column: str = "hlr"
    q_column: str = "q"
    beta_column: str = "beta"
    bt_column: str = "bt"
    split_column: str = "split"


@dataclass
class DirectoryData:
    """An existing data set directory (conf/data/directory.yaml)."""

    name: str = "directory"
    path: str = MISSING
    labels: LabelsConfig = field(default_factory=LabelsConfig)


# conf/data/<option>.yaml -> its schema, stored as <option>_schema (photoz.data.source opens it by data.name)
SCHEMAS = {"lsst_sim": LsstSimData, "catalog": CatalogData, "directory": DirectoryData}


def register_schemas() -> None:
    """Store the data schemas as top-level configs (not listed as data= options): lsst_sim_schema, catalog_schema, directory_schema."""
    cs = ConfigStore.instance()
    for option, schema in SCHEMAS.items():
        cs.store(name=f"{option}_schema", node=schema)
