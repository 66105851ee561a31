"""`model=timm model.arch=<name>`: any architecture of the timm library as a photoz CNN.

timm is an optional extra (`pip install 'photoz[timm]'`; it needs a torchvision built for the
installed torch). The network is `timm.create_model(arch, pretrained=False, in_chans=n_bands,
num_classes=0)` — never pretrained, so nothing is downloaded — whose pooled features feed the
shared dense head. ImageNet stems shrink the input 4× in their first two strided layers (e.g.
ResNet's 7×7/2 conv and 3×3/2 max-pool); `model.drop_strides` (default 2) sets the stride of
that many leading strided convs/pools to 1, so a 32 px stamp reaches the first stage at 32 px.
The arch name and the stamp size are checked when the model is built (an unknown name or an
architecture that cannot take the stamps is one ConfigError line, before any MLflow run).
"""

from __future__ import annotations

import difflib

import torch
from torch import nn

from photoz.errors import ConfigError, first_line
from photoz.models.heads import make_head
from photoz.models.layers import init_weights
from photoz.models.schema import TimmConfig


def import_timm():  # noqa: ANN201 (the timm module)
    """The timm module, or one ConfigError line that says how to install it."""
    try:
        import timm
    except ImportError as err:  # timm missing, or its torchvision does not fit this torch
        raise ConfigError(
            f"model=timm needs the optional package timm ({err}); install it with "
            "pip install 'photoz[timm]' beside a torchvision built for your torch, or use model=resnet / model=efficientnet"
        ) from None
    return timm


def drop_strides(net: nn.Module, n: int) -> int:
    """Set the stride of the first `n` strided Conv2d / MaxPool2d / AvgPool2d (in module order,
    the order timm builds stems in) to 1; returns how many were changed."""
    changed = 0
    for module in net.modules():
        if changed == n:
            break
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            stride = module.stride if isinstance(module.stride, tuple) else (module.stride, module.stride)
            if max(stride) > 1:
                module.stride = (1, 1) if isinstance(module, nn.Conv2d) else 1
                changed += 1
    return changed


class TimmBackbone(nn.Module):
    """timm model (no classifier) → dense head; logits (B, n_out)."""

    def __init__(self, cfg: TimmConfig, n_bands: int, stamp_size: int) -> None:
        super().__init__()
        timm = import_timm()
        arch = cfg.arch
        if not timm.is_model(arch):
            close = difflib.get_close_matches(arch, timm.list_models(), n=3)
            hint = f" (close: {', '.join(close)})" if close else ""
            raise ConfigError(f"model.arch={arch!r} is not a timm architecture{hint}; list them with timm.list_models('resnet*')")
        self.features = timm.create_model(arch, pretrained=False, in_chans=n_bands, num_classes=0)
        drop_strides(self.features, cfg.drop_strides)
        try:
            with torch.no_grad():
                n_features = self.features.eval()(torch.zeros(1, n_bands, stamp_size, stamp_size)).flatten(1).shape[1]
        except (RuntimeError, ValueError, AssertionError) as err:  # timm asserts fixed input sizes
            raise ConfigError(
                f"model.arch={arch} cannot take {n_bands}×{stamp_size}×{stamp_size} stamps ({first_line(err)}); "
                "choose a convolutional architecture or lower model.drop_strides"
            ) from None
        self.head = make_head(cfg, n_features, n_bands)
        init_weights(self.head, self.head.out)  # timm initialises its own layers

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x).flatten(1), catalog)
