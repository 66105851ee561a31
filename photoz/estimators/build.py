"""Build the estimator a config names, or find the class that loads a logged one.

`build_estimator(cfg, checkpoint_dir)` picks the class registered for `cfg.model.name`
(photoz.registry) and hands it its slices of the typed config (photoz.config.to_typed);
`estimator_class(name).load(model_uri)` loads one that a run logged. The class's module is imported
here, on first use, so a baseline run does not import torch's models.
"""

from __future__ import annotations

from importlib import import_module

from photoz.config import PhotozConfig
from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.registry import REGISTRY


def estimator_class(name: str) -> type[Estimator]:
    """The Estimator class registered as `name`; ConfigError if unknown or its extra is missing."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].estimator.split(":")
    found = getattr(import_module(module), cls)
    found.check_installed(name)
    return found


def build_estimator(cfg: PhotozConfig, checkpoint_dir: str | None = None) -> Estimator:
    """A fresh estimator for cfg.model, given its slices of the config (Estimator.from_config:
    the baselines take the model config and the seed, the CNNs also the trainer and optimizer
    configs), keeping its checkpoints in `checkpoint_dir` if it keeps any (None: a temp dir)."""
    estimator = estimator_class(cfg.model.name).from_config(cfg)
    if checkpoint_dir is not None:
        estimator.use_checkpoint_dir(checkpoint_dir)
    return estimator
