"""`model=sequential`: the simplest CNN, a baseline any other network has to beat.

model.depth blocks of 3×3 conv → BatchNorm → ReLU (model.activation), each followed by a 2×2 max-pool while the
map is at least 4 px; channels double from model.width up to model.max_width; global average
pooling; then the dense head. For 32×32 stamps at the defaults (depth 4, width 32):

    B×C×32×32 → block 0 → B×32×16×16 → block 1 → B×64×8×8 → block 2 → B×128×4×4
    → block 3 → B×256×2×2 → global avg-pool → B×256 → dense head → B×n_out
"""

from __future__ import annotations

import torch
from torch import nn

from photoz.models.heads import make_head
from photoz.models.layers import ConvBlock, init_weights
from photoz.models.schema import CNNConfig


class SequentialCNN(nn.Module):
    """Plain conv stack + dense head; returns logits (B, n_out)."""

    def __init__(self, cfg: CNNConfig, n_bands: int, stamp_size: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in, size = n_bands, stamp_size
        for i in range(cfg.depth):
            c_out = min(cfg.width * 2**i, cfg.max_width)
            blocks.append(ConvBlock(c_in, c_out, 3, batch_norm=True, act=cfg.activation))
            if size >= 4:  # pool while the map stays at least 2 px
                blocks.append(nn.MaxPool2d(2))
                size //= 2
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(cfg, c_in, n_bands)
        init_weights(self, self.head.out)

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1), catalog)
