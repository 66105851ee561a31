"""The CNNs: `build_model(cfg.model, n_bands, stamp_size)` and the heads' loss and prediction.

Networks take normalised images (B, C, H, W) and return logits: (B, model.n_bins) for
model.head=pdf, (B, 1) for regression. They are plain nn.Modules (no Python-side state), so
the training code can wrap them with its normalisation, use channels_last and bf16 autocast,
and log them with MLflow.
"""

from __future__ import annotations

from omegaconf import DictConfig
from torch import nn

from photoz.errors import ConfigError
from photoz.models.googlenet import GoogLeNet
from photoz.models.heads import check_redshift_range, head_loss, head_predict, n_outputs
from photoz.models.layers import ACTIVATIONS
from photoz.models.sequential import SequentialCNN

MODELS: dict[str, type[nn.Module]] = {"sequential": SequentialCNN, "googlenet": GoogLeNet}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def build_model(model_cfg: DictConfig, n_bands: int, stamp_size: int) -> nn.Module:
    """The network `model_cfg.name` for stamps of n_bands × stamp_size × stamp_size pixels."""
    name = str(model_cfg.name)
    _check(name in MODELS, f"model.name={name!r} is not a CNN; use model=sequential or model=googlenet")
    _check(int(model_cfg.depth) >= 1, f"model.depth={model_cfg.depth} must be >= 1")
    _check(1 <= int(model_cfg.width) <= int(model_cfg.max_width), "model.width must be >= 1 and <= model.max_width")
    _check(int(model_cfg.n_bins) >= 2, f"model.n_bins={model_cfg.n_bins} must be >= 2")
    _check(float(model_cfg.z_max) > 0, f"model.z_max={model_cfg.z_max} must be > 0")
    _check(
        str(model_cfg.activation) in ACTIVATIONS,
        f"model.activation={model_cfg.activation!r}; use model.activation=relu or model.activation=prelu",
    )
    _check(0 <= float(model_cfg.dropout) < 1, f"model.dropout={model_cfg.dropout} must be in [0, 1)")
    _check(all(int(n) >= 1 for n in model_cfg.dense), f"model.dense={list(model_cfg.dense)} needs sizes >= 1")
    _check(n_bands >= 1 and stamp_size >= 1, f"images of {n_bands} bands × {stamp_size} px cannot feed a CNN")
    if name == "googlenet":
        k = int(model_cfg.stem_kernel)
        _check(k >= 1 and k % 2 == 1, f"model.stem_kernel={k} must be odd (1, 3, 5, ...)")
        _check(int(model_cfg.pool_kernel) >= 1, f"model.pool_kernel={model_cfg.pool_kernel} must be >= 1")
    return MODELS[name](model_cfg, n_bands, stamp_size)


def n_trainable_params(model: nn.Module) -> int:
    """Parameters the optimiser updates (the number the comparison table shows)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MODELS", "build_model", "check_redshift_range", "head_loss", "head_predict", "n_outputs", "n_trainable_params"]
