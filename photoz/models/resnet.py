"""`model=resnet`: a residual network (He et al. 2016) with a stem for 16–64 px stamps.

ImageNet ResNets start with a 7×7 stride-2 conv and a stride-2 max-pool, which would leave a
32 px stamp at 8 px before the first residual block. Here the stem is one 3×3 stride-1 conv →
BatchNorm → ReLU to model.width channels, and stage 1 keeps the stamp's full resolution. Then
model.depth stages of model.blocks residual blocks each; stage k > 1 doubles the channels (up to
model.max_width) and halves the map with a stride-2 first block while the map is at least 4 px.
Blocks: `basic` (3×3 → 3×3, ResNet-18/34) or `bottleneck` (1×1 → 3×3 → 1×1 with 4× expansion,
ResNet-50); the shortcut is the identity, or a strided 1×1 conv + BatchNorm where the shape
changes. Global average pool, then the shared dense head. ResNet-18 is depth 4, blocks 2,
width 64, max_width 512, block basic; the default is that layout at a quarter of the width.
Shapes at the defaults (depth 4, width 16, blocks 2, basic) on 6×32×32 stamps:

    stem 3×3            B×6×32×32   → B×16×32×32
    stage 1 (2 blocks)  B×16×32×32  → B×16×32×32
    stage 2             B×16×32×32  → B×32×16×16
    stage 3             B×32×16×16  → B×64×8×8
    stage 4             B×64×8×8    → B×128×4×4
    global avg-pool     B×128×4×4   → B×128 → dense head → B×n_out
"""

from __future__ import annotations

import torch
from torch import nn

from photoz.models.heads import make_head
from photoz.models.layers import ConvBlock, activation, init_weights
from photoz.models.schema import ResNetConfig

EXPANSION = {"basic": 1, "bottleneck": 4}


class ResidualBlock(nn.Module):
    """out = act(branch(x) + shortcut(x)); the branch's last BatchNorm starts at zero (the block
    starts as the identity, Goyal et al. 2017), which trains deep stacks from the first step."""

    def __init__(self, c_in: int, width: int, stride: int, kind: str, act: str) -> None:
        super().__init__()
        c_out = width * EXPANSION[kind]
        if kind == "basic":
            layers = [ConvBlock(c_in, width, 3, True, act, stride), ConvBlock(width, c_out, 3, True, None)]
        else:
            layers = [ConvBlock(c_in, width, 1, True, act), ConvBlock(width, width, 3, True, act, stride),
                      ConvBlock(width, c_out, 1, True, None)]  # fmt: skip
        self.branch = nn.Sequential(*layers)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else ConvBlock(c_in, c_out, 1, True, None, stride)
        self.act = activation(act, c_out)
        self.out_channels = c_out

    def zero_last_norm(self) -> None:
        nn.init.zeros_(self.branch[-1][1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.branch(x) + self.shortcut(x))


class ResNet(nn.Module):
    """Small-stamp stem → residual stages → global average pool → dense head; logits (B, n_out)."""

    def __init__(self, cfg: ResNetConfig, n_bands: int, stamp_size: int) -> None:
        super().__init__()
        act, width, kind = cfg.activation, cfg.width, cfg.block
        self.stem = ConvBlock(n_bands, width, 3, True, act)
        blocks: list[ResidualBlock] = []
        c, size = width, stamp_size
        for stage in range(cfg.depth):
            stage_width = min(width * 2**stage, cfg.max_width)
            for b in range(cfg.blocks):
                stride = 2 if stage > 0 and b == 0 and size >= 4 else 1
                size = -(-size // stride)
                blocks.append(ResidualBlock(c, stage_width, stride, kind, act))
                c = blocks[-1].out_channels
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(cfg, c, n_bands)
        init_weights(self, self.head.out)
        for block in blocks:
            block.zero_last_norm()

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(self.stem(x))), 1), catalog)
