"""Resolve the composed `data` config group to an opened, validated Dataset.

`data=directory` opens an existing data set directory (`data.path`); `data=lsst_sim` and
`data=catalog` simulate a set with GalSim under `data.root`, keyed by a hash of the config, on
first use and reuse it afterwards (photoz.data.simulate.build). `data.labels` then decides which
training galaxies keep their redshift (photoz.data.labels): estimators get that view.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from photoz.data.format import Dataset, read_dataset
from photoz.data.labels import apply_labels, check_labels
from photoz.errors import ConfigError

SIMULATED = ("lsst_sim", "catalog")


def _require(data_cfg: DictConfig, key: str) -> Any:
    try:
        value = data_cfg[key]
    except MissingMandatoryValue:
        value = None
    if value is None:
        raise ConfigError(f"data.{key} is not set; pass it on the command line, e.g. data.{key}=...")
    return value


def open_dataset(data_cfg: Any) -> Dataset:
    """The data set that `cfg.data` names (its typed schema dataclass, photoz.data.schema, or a
    config node or dict of the same keys): built (or reused from the cache), validated, and seen
    through `data.labels` (photoz.data.labels.apply_labels)."""
    if dataclasses.is_dataclass(data_cfg):
        data_cfg = OmegaConf.structured(data_cfg)
    elif not isinstance(data_cfg, DictConfig):
        data_cfg = OmegaConf.create(data_cfg)
    name = _require(data_cfg, "name")
    labels = data_cfg.get("labels")
    check_labels(labels)  # before minutes of simulation
    if name == "directory":
        return apply_labels(read_dataset(to_absolute_path(str(_require(data_cfg, "path")))), labels)
    if name in SIMULATED:
        from photoz.data.simulate.build import build_or_reuse

        return apply_labels(build_or_reuse(data_cfg), labels)
    raise ConfigError(f"unknown data.name {name!r}; use data=directory, data=lsst_sim or data=catalog")
