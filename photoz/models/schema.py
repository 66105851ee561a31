"""Structured-config schemas of the CNN model group, so a typo or a wrong type in `model.*`
fails at composition with Hydra's own message.

conf/model/sequential.yaml starts with `defaults: [/cnn_schema@_here_, _self_]`, the googlenet
yamls with `defaults: [/googlenet_schema@_here_, _self_]`, resnet/efficientnet/timm with their own
(top-level names, so Hydra does not list them as `model=` options). photoz.config calls register_schemas() before
Hydra composes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class HeadConfig:
    """Keys every CNN has: the estimator name, the head and the catalogue inputs of the head."""

    name: str = MISSING  # sequential | googlenet | resnet | efficientnet | timm (the estimator registry key)
    head: str = "pdf"  # pdf (softmax over n_bins on [0, z_max]) | regression
    n_bins: int = 180  # redshift bins of the pdf head (Pasquet 2019: 180)
    z_max: float = 3.5  # upper end of the redshift range (the default simulated set spans 0.01–3.5)
    point_estimate: str = "zstar"  # pdf head: zstar | mean | median | mode (photoz.pdf)
    dropout: float = 0.1  # before/after the dense layers
    dense: list[int] = field(default_factory=lambda: [256])  # hidden dense layers of the head
    catalog_features: list[str] = field(default_factory=list)  # [photometry, <column>, ...] into the head


@dataclass
class CNNConfig(HeadConfig):
    """model=sequential: HeadConfig plus depth and widths (the base of googlenet and resnet)."""

    depth: int = 4  # conv blocks (sequential), Inception modules (googlenet), stages (resnet)
    width: int = 32  # channels of the first block / the stem
    max_width: int = 256  # cap on channels as they double with depth
    activation: str = "relu"  # relu | prelu (Pasquet; per-channel slope, ~10x ReLU's cost on CPU) | silu


@dataclass
class ResNetConfig(CNNConfig):
    """model=resnet (photoz/models/resnet.py): ResNet-18's layout at a quarter of its width by default."""

    width: int = 16
    blocks: int = 2  # residual blocks per stage (ResNet-18: 2)
    block: str = "basic"  # basic (3x3 -> 3x3) | bottleneck (1x1 -> 3x3 -> 1x1, 4x expansion)


@dataclass
class EfficientNetConfig(HeadConfig):
    """model=efficientnet (photoz/models/efficientnet.py): EfficientNet-B0's stages."""

    depth: int = 7  # MBConv stages kept, 1-7 (B0: 7)
    width: int = 32  # stem channels; every stage's channels scale by width/32 (B0: 32)
    depth_multiplier: float = 1.0  # repeats per stage scale by this (B0: 1.0, B1: 1.1, B2: 1.2)
    activation: str = "silu"  # silu (B0's swish) | relu | prelu


@dataclass
class TimmConfig(HeadConfig):
    """model=timm (photoz/models/timm_backbone.py): any timm architecture, never pretrained."""

    arch: str = "resnet18"  # a timm.list_models() name
    drop_strides: int = 2  # leading strided convs/pools set to stride 1 (ImageNet stems: 2)


@dataclass
class GoogLeNetConfig(CNNConfig):
    """model=googlenet: CNNConfig plus the Inception layout (defaults: a small GoogLeNet that
    costs about what the default sequential CNN does per image on CPU)."""

    width: int = 16

    stem_kernel: int = 3  # odd; Pasquet: 5
    modules: Optional[list[list[int]]] = None  # [[reduce, out], ...] per module; null: from width
    pool_kernel: int = 3  # branch4's stride-1 average pool; Pasquet: 2
    last_5x5: bool = True  # Pasquet's last module has no 5×5 branch
    batch_norm: bool = True  # Pasquet: false (conv + bias → PReLU)
    global_pool: bool = True  # false: flatten the last map into the dense head (Pasquet)


SCHEMAS = {"cnn_schema": CNNConfig, "googlenet_schema": GoogLeNetConfig, "resnet_schema": ResNetConfig,
           "efficientnet_schema": EfficientNetConfig, "timm_schema": TimmConfig}  # fmt: skip


def register_schemas() -> None:
    """Store the schemas as top-level configs (<name>_schema), so no option list shows them."""
    cs = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        cs.store(name=name, node=node)
