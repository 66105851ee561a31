"""Estimators: the CNNs (photoz.models + photoz.training) and the catalogue baselines.

`build_estimator(cfg)` picks the class for `cfg.model.name`; `load_estimator(model_uri, name)`
loads one that a run logged. Imports are lazy so a baseline run does not import torch's models.
"""

from __future__ import annotations

from importlib import import_module

from omegaconf import DictConfig

from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.predictions import Predictions, z_grid

# model.name -> "module:Class"; each class takes the full config and has a `load` classmethod.
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


def build_estimator(cfg: DictConfig) -> Estimator:
    """A fresh estimator for the composed config's `model` group."""
    return estimator_class(cfg.model.name)(cfg)


__all__ = ["Estimator", "Predictions", "REGISTRY", "build_estimator", "estimator_class", "z_grid"]
