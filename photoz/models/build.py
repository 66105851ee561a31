"""The CNNs: `build_model(cfg.model, n_bands, stamp_size)` and the heads' loss and prediction.

Networks take normalised images (B, C, H, W) (and, with model.catalog_features, normalised
catalogue features (B, F) as a second argument) and return logits: (B, model.n_bins) for
model.head=pdf, (B, 1) for regression. They are plain nn.Modules (no Python-side state), so
the training code can wrap them with its normalisation, use channels_last and bf16 autocast,
and log them with MLflow.
"""

from __future__ import annotations

from omegaconf import DictConfig
from torch import nn

from photoz.errors import ConfigError
from photoz.models.catalog import feature_list
from photoz.models.efficientnet import B0_STAGES, EfficientNet
from photoz.models.googlenet import GoogLeNet
from photoz.models.heads import check_redshift_range, head_loss, head_predict, n_outputs
from photoz.models.resnet import ResNet
from photoz.models.sequential import SequentialCNN
from photoz.models.timm_backbone import TimmBackbone

MODELS: dict[str, type[nn.Module]] = {
    "sequential": SequentialCNN, "googlenet": GoogLeNet, "resnet": ResNet, "efficientnet": EfficientNet,
    "timm": TimmBackbone,
}  # fmt: skip


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _check_head(model_cfg: DictConfig) -> None:
    """The keys every CNN has (photoz.models.schema.HeadConfig)."""
    _check(int(model_cfg.n_bins) >= 2, f"model.n_bins={model_cfg.n_bins} must be >= 2")
    _check(float(model_cfg.z_max) > 0, f"model.z_max={model_cfg.z_max} must be > 0")
    _check(0 <= float(model_cfg.dropout) < 1, f"model.dropout={model_cfg.dropout} must be in [0, 1)")
    _check(all(int(n) >= 1 for n in model_cfg.dense), f"model.dense={list(model_cfg.dense)} needs sizes >= 1")
    features = feature_list(model_cfg)
    _check(len(set(features)) == len(features), f"model.catalog_features={features} lists a column twice")


def _check_family(name: str, model_cfg: DictConfig) -> None:
    """Depth, widths and the keys only some families have."""
    if name != "timm":
        _check(int(model_cfg.depth) >= 1, f"model.depth={model_cfg.depth} must be >= 1")
    if "max_width" in model_cfg:
        _check(1 <= int(model_cfg.width) <= int(model_cfg.max_width), "model.width must be >= 1 and <= model.max_width")
    if name == "googlenet":
        k = int(model_cfg.stem_kernel)
        _check(k >= 1 and k % 2 == 1, f"model.stem_kernel={k} must be odd (1, 3, 5, ...)")
        _check(int(model_cfg.pool_kernel) >= 1, f"model.pool_kernel={model_cfg.pool_kernel} must be >= 1")
    if name == "resnet":
        _check(int(model_cfg.blocks) >= 1, f"model.blocks={model_cfg.blocks} must be >= 1")
    if name == "efficientnet":
        _check(1 <= int(model_cfg.depth) <= len(B0_STAGES), f"model.depth={model_cfg.depth}: EfficientNet has 1 to 7 stages")
        _check(int(model_cfg.width) >= 1, f"model.width={model_cfg.width} must be >= 1")
        _check(float(model_cfg.depth_multiplier) > 0, f"model.depth_multiplier={model_cfg.depth_multiplier} must be > 0")
    if name == "timm":
        _check(int(model_cfg.drop_strides) >= 0, f"model.drop_strides={model_cfg.drop_strides} must be >= 0")


def build_model(model_cfg: DictConfig, n_bands: int, stamp_size: int) -> nn.Module:
    """The network `model_cfg.name` for stamps of n_bands × stamp_size × stamp_size pixels."""
    name = str(model_cfg.name)
    _check(name in MODELS, f"model.name={name!r} is not a CNN; use model=<one of {', '.join(MODELS)}>")
    _check_head(model_cfg)
    _check_family(name, model_cfg)
    _check(n_bands >= 1 and stamp_size >= 1, f"images of {n_bands} bands × {stamp_size} px cannot feed a CNN")
    return MODELS[name](model_cfg, n_bands, stamp_size)


def n_trainable_params(model: nn.Module) -> int:
    """Parameters the optimiser updates (the number the comparison table shows)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MODELS", "build_model", "check_redshift_range", "head_loss", "head_predict", "n_outputs", "n_trainable_params"]
