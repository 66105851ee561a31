"""The CNNs: output shapes for any bands and stamp size, parameter counts, the Inception module's
layout, channels_last + bf16 autocast, and that a few optimiser steps lower the loss."""

from __future__ import annotations

import pytest
import torch

from photoz.errors import ConfigError
from photoz.models.build import build_model, head_loss, n_trainable_params
from photoz.models.googlenet import GoogLeNet, Inception
from photoz.models.layers import SamePool
from photoz.models.schema import CNNConfig, EfficientNetConfig, GoogLeNetConfig, ResNetConfig

SCHEMAS = {"sequential": CNNConfig, "googlenet": GoogLeNetConfig, "resnet": ResNetConfig, "efficientnet": EfficientNetConfig}


def model_cfg(name: str, **overrides: object) -> CNNConfig | EfficientNetConfig:
    return SCHEMAS[name](name=name, **overrides)


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("bands", [3, 5, 6])
@pytest.mark.parametrize("head", ["pdf", "regression"])
@pytest.mark.parametrize("name", ["sequential", "googlenet", "resnet", "efficientnet"])
def test_output_shape_for_any_bands_and_stamp_size(name: str, head: str, bands: int, size: int) -> None:
    cfg = model_cfg(name, head=head, n_bins=50, depth=3, width=8)
    torch.manual_seed(0)
    out = build_model(cfg, bands, size).eval()(torch.randn(2, bands, size, size))
    assert out.shape == (2, 50 if head == "pdf" else 1)
    assert torch.isfinite(out).all()


def test_sequential_parameter_count_by_hand() -> None:
    # 3 bands, depth 2, width 4, dense [8], 10 bins:
    # conv 3→4 (3·4·9) + BN (2·4) ; conv 4→8 (4·8·9) + BN (2·8) ; dense 8→8 (+8) ; out 8→10 (+10)
    expected = (108 + 8) + (288 + 16) + (64 + 8) + (80 + 10)
    cfg = model_cfg("sequential", depth=2, width=4, dense=[8], n_bins=10)
    assert n_trainable_params(build_model(cfg, 3, 16)) == expected
    # global pooling: the count does not depend on the stamp size
    assert n_trainable_params(build_model(cfg, 3, 64)) == expected


def test_sequential_widths_double_up_to_the_cap() -> None:
    model = build_model(model_cfg("sequential", depth=5, width=16, max_width=64), 6, 32)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 64, 64]


def test_inception_has_four_named_branches_with_a_real_5x5() -> None:
    module = Inception(c_in=10, reduce=6, out=8, pool_kernel=3, with_5x5=True, batch_norm=True, act="relu")
    assert module.branch1[0].kernel_size == (1, 1)
    assert [m[0].kernel_size for m in module.branch2] == [(1, 1), (3, 3)]
    assert [m[0].kernel_size for m in module.branch3] == [(1, 1), (5, 5)]
    assert isinstance(module.branch4[0], SamePool) and module.branch4[1][0].kernel_size == (1, 1)
    assert module(torch.randn(2, 10, 7, 7)).shape == (2, 3 * 8 + 6, 7, 7)
    assert module.out_channels == 3 * 8 + 6


def test_googlenet_pools_between_groups_only_while_the_map_is_big() -> None:
    def pools(size: int) -> int:
        model = build_model(model_cfg("googlenet", depth=6, width=8), 5, size)
        return sum(isinstance(m, torch.nn.AvgPool2d) for m in model.modules())

    # stem pool + a pool after modules 1 and 3 while the map is >= 8 px (none after the last)
    assert pools(64) == 3
    assert pools(16) == 2  # 16 → 8 (stem) → 4 (after module 1), then no more
    assert pools(4) == 0


def test_same_pool_keeps_the_size_and_averages_real_pixels_only() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y2, y3 = SamePool(2)(x), SamePool(3)(x)
    assert y2.shape == y3.shape == x.shape
    assert y2[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4  # window [i, i+1] as TensorFlow's SAME
    assert y2[0, 0, 3, 3] == 15  # bottom-right corner: only the real pixel counts
    assert y3[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4


@pytest.mark.parametrize("name", ["sequential", "googlenet"])
def test_channels_last_and_bf16_autocast(name: str) -> None:
    cfg = model_cfg(name, depth=3, width=8)
    torch.manual_seed(0)
    model = build_model(cfg, 6, 32).to(memory_format=torch.channels_last)
    x = torch.randn(4, 6, 32, 32).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
        loss = head_loss(logits, torch.rand(4), cfg)
    loss.backward()
    assert logits.dtype == torch.bfloat16 and logits.shape == (4, 180)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(("name", "head"), [("sequential", "pdf"), ("googlenet", "pdf"), ("sequential", "regression")])
def test_a_few_steps_lower_the_loss_on_a_toy_batch(name: str, head: str) -> None:
    torch.manual_seed(0)
    cfg = model_cfg(name, head=head, depth=2, width=8, n_bins=20, z_max=2.0, dropout=0.0)
    model = build_model(cfg, 3, 16)
    x, z = torch.randn(16, 3, 16, 16), torch.rand(16) * 2.0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = head_loss(model(x), z, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize(
    ("name", "overrides", "key"),
    [
        ("sequential", {"depth": 0}, "model.depth"),
        ("sequential", {"width": 512}, "model.width"),
        ("sequential", {"n_bins": 1}, "model.n_bins"),
        ("sequential", {"z_max": 0.0}, "model.z_max"),
        ("sequential", {"dropout": 1.0}, "model.dropout"),
        ("googlenet", {"stem_kernel": 4}, "model.stem_kernel"),
        ("googlenet", {"modules": [[8, 16], [8, 16]]}, "model.modules"),
        ("resnet", {"blocks": 0}, "model.blocks"),
        ("efficientnet", {"depth": 8}, "model.depth"),
        ("efficientnet", {"depth_multiplier": 0.0}, "model.depth_multiplier"),
        ("sequential", {"catalog_features": ["photometry", "photometry"]}, "model.catalog_features"),
    ],
)
def test_bad_model_settings_are_one_clear_config_error(name: str, overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        build_model(model_cfg(name, **overrides), 6, 32)


def test_unknown_cnn_name() -> None:
    with pytest.raises(ConfigError, match="is not a CNN; use model=<one of sequential, googlenet, resnet"):
        build_model(CNNConfig(name="vgg"), 6, 32)


def test_googlenet_is_a_plain_module_of_its_config() -> None:
    # same config and seed → identical weights: nothing but the config shapes the network
    cfg = model_cfg("googlenet", depth=2, width=8)
    torch.manual_seed(1)
    a = GoogLeNet(cfg, 4, 16)
    torch.manual_seed(1)
    b = GoogLeNet(cfg, 4, 16)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
