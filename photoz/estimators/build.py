"""Build the estimator a config names, or find the class that loads a logged one.

`build_estimator(cfg, checkpoint_dir)` picks the class registered for `cfg.model.name`
(photoz.estimators.registry) and hands it its slices of the typed config (photoz.config.to_typed);
`estimator_class(name).load(model_uri)` loads one that a run logged. The class's module is imported
here, on first use, so a baseline run does not import torch's models.
"""

from __future__ import annotations

from importlib import import_module

from photoz.config import PhotozConfig
from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.estimators.registry import REGISTRY


def estimator_class(name: str) -> type[Estimator]:
    """The Estimator class registered as `name`; ConfigError if unknown or its extra is missing."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].estimator.split(":")
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
