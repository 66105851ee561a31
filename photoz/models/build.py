"""The CNNs: `build_model(model_cfg, n_bands, stamp_size)` and the heads' loss and prediction.

`model_cfg` is the model group's dataclass (photoz.models.schema: CNNConfig for sequential,
GoogLeNetConfig, ResNetConfig, EfficientNetConfig, TimmConfig), e.g.
`SequentialCNN(CNNConfig(name="sequential"), n_bands, stamp_size)`; the network class of each
model.name is registered beside its schema (photoz.registry) and imported on first use.

Networks take normalised images (B, C, H, W) (and, with model.catalog_features, normalised
catalogue features (B, F) as a second argument) and return logits: (B, model.n_bins) for
model.head=pdf, (B, 1) for regression. They are plain nn.Modules (no Python-side state), so
the training code can wrap them with its normalisation, use channels_last and bf16 autocast,
and log them with MLflow.
"""

from __future__ import annotations

from importlib import import_module

from torch import nn

from photoz.errors import ConfigError
from photoz.models.efficientnet import B0_STAGES
from photoz.models.heads import check_redshift_range, head_loss, head_predict, n_outputs
from photoz.models.schema import (
    CNNConfig,
    EfficientNetConfig,
    GoogLeNetConfig,
    HeadConfig,
    ResNetConfig,
    TimmConfig,
)
from photoz.registry import REGISTRY, cnn_names


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _check_head(cfg: HeadConfig) -> None:
    """The keys every CNN has (photoz.models.schema.HeadConfig)."""
    _check(cfg.n_bins >= 2, f"model.n_bins={cfg.n_bins} must be >= 2")
    _check(cfg.z_max > 0, f"model.z_max={cfg.z_max} must be > 0")
    _check(0 <= cfg.dropout < 1, f"model.dropout={cfg.dropout} must be in [0, 1)")
    _check(all(n >= 1 for n in cfg.dense), f"model.dense={cfg.dense} needs sizes >= 1")
    features = cfg.catalog_features
    _check(len(set(features)) == len(features), f"model.catalog_features={features} lists a column twice")


def _check_family(cfg: HeadConfig) -> None:
    """Depth, widths and the keys only some families have."""
    if isinstance(cfg, (CNNConfig, EfficientNetConfig)):
        _check(cfg.depth >= 1, f"model.depth={cfg.depth} must be >= 1")
    if isinstance(cfg, CNNConfig):
        _check(1 <= cfg.width <= cfg.max_width, "model.width must be >= 1 and <= model.max_width")
    if isinstance(cfg, GoogLeNetConfig):
        k = cfg.stem_kernel
        _check(k >= 1 and k % 2 == 1, f"model.stem_kernel={k} must be odd (1, 3, 5, ...)")
        _check(cfg.pool_kernel >= 1, f"model.pool_kernel={cfg.pool_kernel} must be >= 1")
    if isinstance(cfg, ResNetConfig):
        _check(cfg.blocks >= 1, f"model.blocks={cfg.blocks} must be >= 1")
    if isinstance(cfg, EfficientNetConfig):
        _check(1 <= cfg.depth <= len(B0_STAGES), f"model.depth={cfg.depth}: EfficientNet has 1 to 7 stages")
        _check(cfg.width >= 1, f"model.width={cfg.width} must be >= 1")
        _check(cfg.depth_multiplier > 0, f"model.depth_multiplier={cfg.depth_multiplier} must be > 0")
    if isinstance(cfg, TimmConfig):
        _check(cfg.drop_strides >= 0, f"model.drop_strides={cfg.drop_strides} must be >= 0")


def build_model(cfg: HeadConfig, n_bands: int, stamp_size: int) -> nn.Module:
    """The network registered as `cfg.name` for stamps of n_bands × stamp_size × stamp_size pixels."""
    cnns = cnn_names()
    _check(cfg.name in cnns, f"model.name={cfg.name!r} is not a CNN; use model=<one of {', '.join(cnns)}>")
    _check_head(cfg)
    _check_family(cfg)
    _check(n_bands >= 1 and stamp_size >= 1, f"images of {n_bands} bands × {stamp_size} px cannot feed a CNN")
    return network_class(cfg.name)(cfg, n_bands, stamp_size)


def network_class(name: str) -> type[nn.Module]:
    """The nn.Module class registered for the CNN `name` (photoz.registry)."""
    module, cls = REGISTRY[name].network.split(":")
    return getattr(import_module(module), cls)


def n_trainable_params(model: nn.Module) -> int:
    """Parameters the optimiser updates (the number the comparison table shows)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["build_model", "check_redshift_range", "head_loss", "head_predict", "n_outputs", "n_trainable_params", "network_class"]
