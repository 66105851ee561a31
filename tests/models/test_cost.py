"""FLOPs per galaxy: torch's flop counter on a tiny network equals the count by hand."""

from __future__ import annotations

import torch

from photoz.models.build import build_model
from photoz.models.cost import flops_per_galaxy
from photoz.models.schema import CNNConfig


def test_tiny_sequential_flops_equal_the_hand_count() -> None:
    # 3 bands, 4×4 stamps, depth 1, width 2, no hidden dense layer, 5 bins, 2 catalogue columns:
    # conv 3→2, 3×3, 'same' on 4×4: 2·3·9 MACs per output pixel × 16 pixels = 864 MACs
    # (then a 2×2 max-pool and the global average pool: not counted); linear (2 + 2)→5: 20 MACs
    cfg = CNNConfig(name="sequential", depth=1, width=2, dense=[], n_bins=5, catalog_features=["a", "b"])
    net = build_model(cfg, 3, 4)
    flops = flops_per_galaxy(net, torch.zeros(7, 3, 4, 4), torch.zeros(7, 2))
    assert flops == 2 * (864 + 20)
    assert net.training  # restored after counting in eval mode


def test_flops_grow_with_the_stamp_area() -> None:
    cfg = CNNConfig(name="sequential", depth=1, width=2, dense=[], n_bins=5)
    net16, net32 = build_model(cfg, 3, 16), build_model(cfg, 3, 32)
    conv = 2 * 3 * 9 * 2  # FLOPs per output pixel of the one conv
    assert flops_per_galaxy(net16, torch.zeros(1, 3, 16, 16)) == conv * 256 + 2 * 2 * 5
    assert flops_per_galaxy(net32, torch.zeros(1, 3, 32, 32)) == conv * 1024 + 2 * 2 * 5
