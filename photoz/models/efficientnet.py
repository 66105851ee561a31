"""`model=efficientnet`: EfficientNet-B0's MBConv stages (Tan & Le 2019) with a stride-1 stem.

B0 (`model.width=32 model.depth=7 model.depth_multiplier=1.0`) runs these stages after a 3×3
stem conv to 32 channels (expansion, kernel, stride, channels, repeats):

    (1, 3, 1, 16, 1) (6, 3, 2, 24, 2) (6, 5, 2, 40, 2) (6, 3, 2, 80, 3)
    (6, 5, 1, 112, 3) (6, 5, 2, 192, 4) (6, 3, 1, 320, 1)

then a 1×1 conv to 4× the last stage's channels (1280), global average pool and the shared
dense head. An MBConv block is 1×1 expand → k×k depthwise → squeeze-and-excitation (1/4 of
the block's input channels) → 1×1 project, BatchNorm after each conv, SiLU (model.activation),
with an identity shortcut where the shape is unchanged. For 16–64 px stamps the stem keeps
stride 1 (ImageNet's is 2: a 32 px stamp would be 16 px after one layer and 8 px after the
first strided stage), and a stage's stride 2 is taken only while the map is at least 4 px.
model.width scales every stage's channels by width/32 (rounded to multiples of 8, as the
reference code does), model.depth_multiplier the repeats (rounded up), model.depth keeps the
first `depth` stages (1–7). No stochastic depth; dropout is the dense head's.
On 6×32×32 stamps at B0: 32 px → (stage 2) 16 → (3) 8 → (4) 4 → (6) 2 px → B×1280 → head.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from photoz.models.heads import make_head
from photoz.models.layers import ConvBlock, activation, init_weights
from photoz.models.schema import EfficientNetConfig

B0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # fmt: skip
B0_STEM = 32


def round_channels(channels: float) -> int:
    """Nearest multiple of 8, never more than 10 % below `channels` (EfficientNet's rounding)."""
    rounded = max(8, int(channels + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * channels else rounded


class SqueezeExcite(nn.Module):
    """Channel gates from the global mean: 1×1 conv → act → 1×1 conv → sigmoid."""

    def __init__(self, channels: int, squeezed: int, act: str) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, squeezed, 1), activation(act, squeezed),
                                  nn.Conv2d(squeezed, channels, 1), nn.Sigmoid())  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class MBConv(nn.Module):
    """Inverted residual block: expand → depthwise → SE → project (+ x where shapes match)."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int, act: str) -> None:
        super().__init__()
        mid = c_in * expand
        layers: list[nn.Module] = [ConvBlock(c_in, mid, 1, True, act)] if expand != 1 else []
        layers += [ConvBlock(mid, mid, kernel, True, act, stride, groups=mid),
                   SqueezeExcite(mid, max(1, c_in // 4), act), ConvBlock(mid, c_out, 1, True, None)]  # fmt: skip
        self.branch = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.branch(x)
        return x + y if self.residual else y


class EfficientNet(nn.Module):
    """Stride-1 stem → MBConv stages → 1×1 conv → global average pool → dense head; logits (B, n_out)."""

    def __init__(self, cfg: EfficientNetConfig, n_bands: int, stamp_size: int) -> None:
        super().__init__()
        act, scale = cfg.activation, cfg.width / B0_STEM
        c = round_channels(B0_STEM * scale)
        self.stem = ConvBlock(n_bands, c, 3, True, act)
        blocks: list[nn.Module] = []
        size = stamp_size
        for expand, kernel, stride, channels, repeats in B0_STAGES[: cfg.depth]:
            c_out = round_channels(channels * scale)
            for r in range(math.ceil(repeats * cfg.depth_multiplier)):
                s = stride if r == 0 and size >= 4 else 1
                size = -(-size // s)
                blocks.append(MBConv(c, c_out, expand, kernel, s, act))
                c = c_out
        self.features = nn.Sequential(*blocks, ConvBlock(c, 4 * c, 1, True, act))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(cfg, 4 * c, n_bands)
        init_weights(self, self.head.out)

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(self.stem(x))), 1), catalog)
