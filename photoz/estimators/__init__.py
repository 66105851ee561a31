"""Estimators: the CNNs (photoz.models + photoz.training) and the catalogue baselines.

`build_estimator(cfg, checkpoint_dir)` picks the class for `cfg.model.name` and hands it its
slices of the typed config (photoz.config.to_typed); `estimator_class(name).load(model_uri)` loads
one that a run logged. Imports are lazy so a baseline run does not import torch's models.
"""

from __future__ import annotations

from importlib import import_module

from photoz.config import PhotozConfig
from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.predictions.table import Predictions, z_grid

# model.name -> "module:Class"; each class takes its model config (and the seed; the CNNs also the
# trainer and optimizer configs and a checkpoint directory) and has a `load` classmethod.
REGISTRY = {
    "sequential": "photoz.estimators.cnn:CNNEstimator",
    "googlenet": "photoz.estimators.cnn:CNNEstimator",
    "resnet": "photoz.estimators.cnn:CNNEstimator",
    "efficientnet": "photoz.estimators.cnn:CNNEstimator",
    "timm": "photoz.estimators.cnn:CNNEstimator",
    "template_fit": "photoz.estimators.template_fit:TemplateFitEstimator",
    "random_forest": "photoz.estimators.catalog_ml:RandomForestEstimator",
    "knn": "photoz.estimators.catalog_ml:KNNEstimator",
    "rail_flexzboost": "photoz.estimators.rail_algos:FlexZBoostEstimator",  # the [rail] extra
    "rail_bpz": "photoz.estimators.rail_algos:BPZEstimator",
    "rail_knn": "photoz.estimators.rail_algos:KNNEstimator",
    "rail_cmnn": "photoz.estimators.rail_algos:CMNNEstimator",
}


def estimator_class(name: str) -> type[Estimator]:
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    found = getattr(import_module(module), cls)
    found.check_installed(name)
    return found


def build_estimator(cfg: PhotozConfig, checkpoint_dir: str | None = None) -> Estimator:
    """A fresh estimator for cfg.model: the baselines get the model config and the seed, the
    estimators trained by photoz.training (uses_trainer) also the trainer and optimizer configs
    and the directory to checkpoint into (None: a temp dir)."""
    cls = estimator_class(cfg.model.name)
    if cls.uses_trainer:
        return cls(cfg.model, cfg.seed, trainer=cfg.trainer, optimizer=cfg.optimizer, checkpoint_dir=checkpoint_dir)
    return cls(cfg.model, cfg.seed)


__all__ = ["Estimator", "Predictions", "REGISTRY", "build_estimator", "estimator_class", "z_grid"]
