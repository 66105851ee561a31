"""model.consistency.target=<catalogue estimator>: the teacher behind a CNN's consistency targets.

A catalogue estimator (FlexZBoost, BPZ, a random forest, ...) fitted as the network is, on the
labelled train galaxies (val only reported), in the same process, with its schema's defaults on
the network's redshift grid, gives each unlabelled galaxy the PDF the network's strong view must
match (photoz.training.consistency). It reads the labelled view of the data set the network is
given (photoz.data.labels), so it sees no redshift the network does not.
"""

from __future__ import annotations

import logging

import numpy as np

from photoz.data.format import Dataset
from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.estimators.build import estimator_class
from photoz.models.schema import HeadConfig
from photoz.predictions.pdf import regrid
from photoz.predictions.table import z_grid
from photoz.registry import REGISTRY

log = logging.getLogger(__name__)


def teachers() -> list[str]:
    """Every registered estimator that can teach: neither a CNN nor an ensemble."""
    return [name for name, r in REGISTRY.items() if r.network is None and name != "ensemble"]


def teacher_for(model_cfg: HeadConfig, seed: int) -> Estimator | None:
    """The estimator model.consistency.target names, on the network's grid (None for `self`, or
    without semi-supervised training); ConfigError for a name that cannot teach or whose extra is
    missing."""
    target = model_cfg.consistency.target
    if model_cfg.semi_supervised == "none" or target == "self":
        return None
    if target not in teachers():
        raise ConfigError(f"model.consistency.target={target} cannot give targets: use self (the network's own "
                          f"PDF) or a catalogue estimator fitted on the same labels: {', '.join(teachers())}")  # fmt: skip
    schema = REGISTRY[target].schema(n_bins=model_cfg.n_bins, z_max=model_cfg.z_max)
    return estimator_class(target)(schema, seed)


def check_teacher(model_cfg: HeadConfig, seed: int, data: Dataset) -> None:
    """ConfigError unless the teacher model.consistency.target names (if any) can fit `data`."""
    teacher = teacher_for(model_cfg, seed)
    if teacher is not None:
        teacher.check(data)


def teacher_targets(model_cfg: HeadConfig, seed: int, data: Dataset, index: np.ndarray) -> np.ndarray | None:
    """(len(index), n_bins) float32 PDFs of the rows `index` on the network's bins, from the
    teacher fitted on `data`'s labelled train galaxies (val only reported); None without a teacher."""
    teacher = teacher_for(model_cfg, seed)
    if teacher is None:
        return None
    name = model_cfg.consistency.target
    log.info("consistency target: fitting %s on the labelled galaxies", name)
    teacher.fit(data, lambda epoch, metrics: log.info("%s on val: %s", name, _short(metrics)))
    predictions = teacher.predict(data, index)
    if predictions.pdf is None:
        raise ConfigError(f"model.consistency.target={name} gives no PDF: choose an estimator that does")
    return regrid(predictions.pdf, predictions.z_grid, z_grid(model_cfg.n_bins, model_cfg.z_max)).astype(np.float32)


def _short(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if "sigma_mad" in k or k.endswith("eta"))
