"""model=resnet, model=efficientnet and model=timm: the published layouts (parameter counts of
ResNet-18 and EfficientNet-B0), stems that keep a 32 px stamp, and timm's bad input."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from photoz.errors import ConfigError
from photoz.models.build import build_model, n_trainable_params
from photoz.models.efficientnet import round_channels
from photoz.models.schema import EfficientNetConfig, ResNetConfig, TimmConfig
from photoz.models.timm_backbone import drop_strides


def _features_params(net: nn.Module) -> int:
    return n_trainable_params(net) - n_trainable_params(net.head)


def test_resnet18_layout_has_torchvisions_parameter_count_less_the_stem_difference() -> None:
    cfg = ResNetConfig(name="resnet", width=64, max_width=512, depth=4, blocks=2)
    net = build_model(cfg, 3, 32)
    # torchvision resnet18: 11,689,512 parameters, of which fc 512·1000 + 1000; its stem conv is
    # 7×7 (3·64·49 weights), ours 3×3 (3·64·9)
    assert _features_params(net) == 11_689_512 - 513_000 - 3 * 64 * 49 + 3 * 64 * 9


def test_efficientnet_b0_has_the_reference_parameter_count() -> None:
    net = build_model(EfficientNetConfig(name="efficientnet"), 3, 32)
    # EfficientNet-B0 (torchvision / timm): 5,288,548 parameters, classifier 1280·1000 + 1000
    assert _features_params(net) == 5_288_548 - 1_281_000


def test_round_channels_as_the_reference_code() -> None:
    assert [round_channels(c) for c in (16, 24 * 0.5, 40 * 1.1, 112 * 0.25, 3)] == [16, 16, 48, 32, 8]


@pytest.mark.parametrize("name", ["resnet", "efficientnet"])
def test_stem_keeps_a_32px_stamp_and_the_last_map_is_at_least_2px(name: str) -> None:
    schema = ResNetConfig if name == "resnet" else EfficientNetConfig
    net = build_model(schema(name=name, width=8), 6, 32).eval()
    x = torch.randn(1, 6, 32, 32)
    sizes = []
    with torch.no_grad():
        x = net.stem(x)
        sizes.append(x.shape[-1])
        for block in net.features:
            x = block(x)
            sizes.append(x.shape[-1])
    assert sizes[:2] == [32, 32]  # stem and first block at full resolution (ImageNet stems: 16, 8)
    assert sizes[-1] == (4 if name == "resnet" else 2)


def test_drop_strides_sets_the_first_n_strided_layers_to_stride_1() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1))
    assert drop_strides(net, 2) == 2
    assert [net[0].stride, net[2].stride, net[3].stride] == [(1, 1), 1, (2, 2)]
    assert net(torch.zeros(1, 3, 32, 32)).shape[-1] == 16


HAVE_TIMM = importlib.util.find_spec("timm") is not None


def timm_cfg(**kw: object):
    return TimmConfig(name="timm", **kw)


@pytest.mark.skipif(HAVE_TIMM, reason="timm is installed here")
def test_missing_timm_is_one_line_naming_the_extra() -> None:
    with pytest.raises(ConfigError, match=r"pip install 'photoz\[timm\]'"):
        build_model(timm_cfg(), 6, 32)


@pytest.mark.skipif(not HAVE_TIMM, reason="the optional timm extra is not installed")
@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("arch", ["resnet18", "efficientnet_b0"])
def test_timm_backbones_take_any_bands_and_stamp_size(arch: str, size: int) -> None:
    for bands in (3, 5, 6):
        net = build_model(timm_cfg(arch=arch, n_bins=40), bands, size).eval()
        assert net(torch.randn(2, bands, size, size)).shape == (2, 40)


@pytest.mark.skipif(not HAVE_TIMM, reason="the optional timm extra is not installed")
def test_timm_bad_arch_and_a_fixed_size_vit_are_one_config_error() -> None:
    with pytest.raises(ConfigError, match="model.arch='resnet1000' is not a timm architecture"):
        build_model(timm_cfg(arch="resnet1000"), 6, 32)
    with pytest.raises(ConfigError, match="cannot take 6×32×32 stamps"):
        build_model(timm_cfg(arch="vit_tiny_patch16_224", drop_strides=0), 6, 32)
