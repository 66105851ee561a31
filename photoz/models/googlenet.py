"""`model=googlenet`: Inception modules (Szegedy et al. 2015) sized for galaxy stamps, after
Pasquet et al. 2019 (`model=googlenet_pasquet` is their exact network; docs/references.md).

Each module runs four branches on the same input and concatenates them:
branch1 1×1; branch2 1×1 → 3×3; branch3 1×1 → 5×5 (a real 5×5: torchvision's googlenet.py has a
3×3 there); branch4 k×k average pool, stride 1 → 1×1. With (reduce r, out o) a module outputs
3·o + r channels (2·o + r without the 5×5 branch). Convs are conv → BatchNorm → ReLU
(Pasquet: conv + bias → PReLU, `model.batch_norm=false model.activation=prelu`).

The stem is light, for 16–64 px stamps: one k×k conv to model.width channels and one 2×2
average pool (not ImageNet's 7×7/2 conv and two max-pools, which would leave a 32 px stamp at
4 px before the first module). Modules come in groups of two with a 2×2 average pool between
groups, taken only while the map is at least 8 px, so 16 px stamps keep a 4 px map.

Widths: module k has o = min(width · 2^(k//2), max_width), r = 3·o/4, unless model.modules
lists [r, o] per module. Shapes for the defaults (depth 4, width 16) on B×6×32×32 stamps:

    stem conv 3×3       B×6×32×32   → B×16×32×32
    stem avg-pool 2×2   B×16×32×32  → B×16×16×16
    module 0 (12, 16)   B×16×16×16  → B×60×16×16
    module 1 (12, 16)   B×60×16×16  → B×60×16×16
    avg-pool 2×2        B×60×16×16  → B×60×8×8
    module 2 (24, 32)   B×60×8×8    → B×120×8×8
    module 3 (24, 32)   B×120×8×8   → B×120×8×8
    global avg-pool     B×120×8×8   → B×120       (Pasquet, 64 px: flatten B×348×8×8)
    dense head          B×120       → B×n_out
"""

from __future__ import annotations

import torch
from torch import nn

from photoz.errors import ConfigError
from photoz.models.heads import make_head
from photoz.models.layers import ConvBlock, SamePool, init_weights
from photoz.models.schema import GoogLeNetConfig


class Inception(nn.Module):
    """Four-branch Inception module; `with_5x5=False` drops branch3 (Pasquet's last module)."""

    def __init__(
        self, c_in: int, reduce: int, out: int, pool_kernel: int, with_5x5: bool, batch_norm: bool, act: str
    ) -> None:
        super().__init__()

        def conv(a: int, b: int, k: int) -> ConvBlock:
            return ConvBlock(a, b, k, batch_norm, act)

        self.branch1 = conv(c_in, out, 1)
        self.branch2 = nn.Sequential(conv(c_in, reduce, 1), conv(reduce, out, 3))
        self.branch3 = nn.Sequential(conv(c_in, reduce, 1), conv(reduce, out, 5)) if with_5x5 else None
        self.branch4 = nn.Sequential(SamePool(pool_kernel), conv(c_in, reduce, 1))
        self.out_channels = out * (3 if with_5x5 else 2) + reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x)]
        if self.branch3 is not None:
            branches.append(self.branch3(x))
        branches.append(self.branch4(x))
        return torch.cat(branches, 1)


def module_widths(cfg: GoogLeNetConfig) -> list[tuple[int, int]]:
    """[(reduce, out)] per module: model.modules if given, else grown from model.width."""
    depth = cfg.depth
    if cfg.modules is None:
        outs = [min(cfg.width * 2 ** (k // 2), cfg.max_width) for k in range(depth)]
        return [(max(1, 3 * o // 4), o) for o in outs]
    widths = [tuple(pair) for pair in cfg.modules]
    if len(widths) != depth:
        raise ConfigError(
            f"model.modules lists {len(widths)} modules but model.depth={depth}; "
            f"set model.depth={len(widths)} or model.modules=null"
        )
    if any(len(w) != 2 or min(w) < 1 for w in widths):
        raise ConfigError(f"model.modules={widths} must be [[reduce, out], ...] with positive channel counts")
    return widths  # type: ignore[return-value]


class GoogLeNet(nn.Module):
    """Light stem → Inception modules (pooled between groups of two) → dense head; logits (B, n_out)."""

    def __init__(self, cfg: GoogLeNetConfig, n_bands: int, stamp_size: int) -> None:
        super().__init__()
        bn, width, act = cfg.batch_norm, cfg.width, cfg.activation
        stem_pool = stamp_size >= 8
        self.stem = nn.Sequential(
            ConvBlock(n_bands, width, cfg.stem_kernel, bn, act),
            nn.AvgPool2d(2) if stem_pool else nn.Identity(),
        )
        size = stamp_size // 2 if stem_pool else stamp_size
        layers: list[nn.Module] = []
        c = width
        widths = module_widths(cfg)
        for k, (reduce, out) in enumerate(widths):
            last = k == len(widths) - 1
            with_5x5 = not last or cfg.last_5x5
            module = Inception(c, reduce, out, cfg.pool_kernel, with_5x5, bn, act)
            layers.append(module)
            c = module.out_channels
            if k % 2 == 1 and not last and size >= 8:
                layers.append(nn.AvgPool2d(2))
                size //= 2
        self.inception = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if cfg.global_pool else nn.Identity()
        n_features = c if cfg.global_pool else c * size * size
        self.head = make_head(cfg, n_features, n_bands)
        init_weights(self, self.head.out)

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.inception(self.stem(x))), 1), catalog)
