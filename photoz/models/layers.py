"""Building blocks shared by the CNNs: a conv block, a size-keeping average pool, weight init."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def activation(act: str, channels: int) -> nn.Module:
    """relu, prelu (one slope per channel, Pasquet 2019) or silu (swish, EfficientNet's)."""
    if act == "prelu":
        return nn.PReLU(channels)
    return nn.SiLU(inplace=True) if act == "silu" else nn.ReLU(inplace=True)


class ConvBlock(nn.Sequential):
    """k×k 'same' convolution (stride 1 unless given) → BatchNorm (optional) → activation.

    With BatchNorm the conv has no bias (BN's shift replaces it); without it (Pasquet 2019's
    network) the conv keeps its bias.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: int, batch_norm: bool, act: str | None, stride: int = 1, groups: int = 1
    ) -> None:
        conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, groups=groups, bias=not batch_norm)
        layers: list[nn.Module] = [conv]
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        if act is not None:  # None: no activation (a residual branch's last conv, a projection)
            layers.append(activation(act, c_out))
        super().__init__(*layers)


class SamePool(nn.Module):
    """k×k average pool, stride 1, output the size of the input for odd and even k.

    Border windows average only real pixels (TensorFlow's SAME padding for average pools, which
    Pasquet's 2×2 pool relies on); even k pads one more pixel at the bottom/right, as TF does.
    """

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel
        y = F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
        # odd k: already H×W; even k: (H+1)×(W+1), window i covers [i-k/2, i+k/2-1]: drop row/col 0
        return y if k % 2 else y[..., 1:, 1:]


def init_weights(model: nn.Module, out_layer: nn.Linear) -> None:
    """Explicit init: Kaiming-normal for convs and hidden dense layers (ReLU-family activations),
    zero biases, BatchNorm at identity, and a small truncated normal (σ = 0.01) on the output
    layer so every head starts near its neutral output (a flat PDF, z ≈ z_max/2)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            if m is out_layer:
                nn.init.trunc_normal_(m.weight, std=0.01, a=-0.02, b=0.02)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)) and m.bias is not None:
            nn.init.zeros_(m.bias)
