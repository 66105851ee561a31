"""A tiny simulation config for tests: few galaxies, 16-pixel stamps, one worker, small chunks; the
default SED model (cosmos, which reads RAIL's templates) where the rail extra is installed, else v3's."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from photoz.data.schema import CatalogData, LsstSimData


def sim_cfg(root: Path, schema: type = LsstSimData, **over: Any) -> DictConfig:
    base = {"root": str(root), "n_galaxies": 24, "stamp_size": 16, "workers": 1, "chunk_size": 8,
            "sed_model": "cosmos" if find_spec("rail") else "realistic"}
    if schema is CatalogData:
        base.pop("n_galaxies")
    return OmegaConf.merge(OmegaConf.structured(schema), base, over)
