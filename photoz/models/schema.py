"""Structured-config schemas of the CNN model group, so a typo or a wrong type in `model.*`
fails at composition with Hydra's own message.

Each conf/model/<option>.yaml of a CNN starts with `defaults: [/<option>_schema@_here_, _self_]`;
photoz.registry pairs each schema with its estimator and network and stores it in
Hydra's ConfigStore under that name. Each schema's defaults are its YAML's values
(tests/test_schema_defaults.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from photoz.choices import Activation, DimmingTo, Head, PointEstimate, ResNetBlock, SemiSupervised


@dataclass
class ViewsConfig:
    """pretrain.views and model.consistency.views: the random changes that make two views of one
    galaxy (photoz.training.views).
    None changes the galaxy's colours except the reddening jitter, which changes them as dust does."""

    shift: int = 2  # largest shift in pixels along each axis (0: none); flips and 90° rotations always
    psf: float = 0.8  # largest extra Gaussian PSF sigma in pixels (0: none)
    noise: float = 0.5  # largest extra white noise, in units of the catalogue's per-band sky noise (0: none)
    reddening: float = 0.03  # largest |ΔE(B-V)| of the Galactic-reddening jitter (0: none; LSST ugrizy only)


@dataclass
class ConsistencyConfig:
    """model.consistency: the unlabelled term of model.semi_supervised=consistency
    (photoz.training.consistency; UDA, Xie et al. 2020)."""

    weight: float = 1.0  # of the consistency term beside the labelled loss (UDA's lambda)
    ratio: int = 1  # unlabelled galaxies per labelled galaxy in each step (UDA's and FixMatch's mu)
    temperature: float = 1.0  # of the target PDF: < 1 sharpens it (UDA: 0.4); 1 compares the PDFs as they are
    # self: the network's PDF of a weak view (UDA) | a catalogue estimator's, fitted on the same labels (rail_flexzboost, ...)
    target: str = "self"
    views: ViewsConfig = field(default_factory=ViewsConfig)  # the strong view whose PDF must match the target


@dataclass
class HeadConfig:
    """Keys every CNN has: the estimator name, the head and the catalogue inputs of the head."""

    name: str = MISSING  # sequential | googlenet | resnet | efficientnet | timm (the estimator registry key)
    head: Head = Head.pdf  # pdf (softmax over n_bins on [0, z_max]) | regression
    n_bins: int = 180  # redshift bins of the pdf head (Pasquet 2019: 180)
    z_max: float = 3.5  # upper end of the redshift range (the default simulated set spans 0.01–3.5)
    point_estimate: PointEstimate = PointEstimate.zstar  # pdf head: zstar | mean | median | mode (photoz.predictions.pdf)
    dropout: float = 0.1  # before/after the dense layers
    dense: list[int] = field(default_factory=lambda: [256])  # hidden dense layers of the head
    catalog_features: list[str] = field(default_factory=list)  # [photometry, <column>, ...] into the head
    init: Optional[str] = None  # MLflow run id of a python -m photoz.pretrain run: start from its encoder
    freeze_encoder: bool = False  # with init: train the dense head only (the encoder keeps its weights)
    semi_supervised: SemiSupervised = SemiSupervised.none  # none | consistency: also learn from the images data.labels leaves unlabelled
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)  # with semi_supervised=consistency
    dimming: float = 0.0  # largest Δm (mag) each labelled training image is dimmed by, noise re-drawn at the catalogue's depth (0: off)
    dimming_to: DimmingTo = DimmingTo.uniform  # uniform: Δm ~ U(0, dimming) | sample: down to a random photometric-sample galaxy's brightness


@dataclass
class CNNConfig(HeadConfig):
    """model=sequential: HeadConfig plus depth and widths (the base of googlenet and resnet)."""

    name: str = "sequential"
    depth: int = 4  # conv blocks (sequential), Inception modules (googlenet), stages (resnet)
    width: int = 32  # channels of the first block / the stem
    max_width: int = 256  # cap on channels as they double with depth
    activation: Activation = Activation.relu  # relu | prelu (Pasquet; per-channel slope, ~10x ReLU's cost on CPU) | silu


@dataclass
class ResNetConfig(CNNConfig):
    """model=resnet (photoz/models/resnet.py): ResNet-18's layout at a quarter of its width by default."""

    name: str = "resnet"
    width: int = 16
    blocks: int = 2  # residual blocks per stage (ResNet-18: 2)
    block: ResNetBlock = ResNetBlock.basic  # basic (3x3 -> 3x3) | bottleneck (1x1 -> 3x3 -> 1x1, 4x expansion)


@dataclass
class EfficientNetConfig(HeadConfig):
    """model=efficientnet (photoz/models/efficientnet.py): EfficientNet-B0's stages."""

    name: str = "efficientnet"
    depth: int = 7  # MBConv stages kept, 1-7 (B0: 7)
    width: int = 32  # stem channels; every stage's channels scale by width/32 (B0: 32)
    depth_multiplier: float = 1.0  # repeats per stage scale by this (B0: 1.0, B1: 1.1, B2: 1.2)
    activation: Activation = Activation.silu  # silu (B0's swish) | relu | prelu


@dataclass
class TimmConfig(HeadConfig):
    """model=timm (photoz/models/timm_backbone.py): any timm architecture, never pretrained."""

    name: str = "timm"
    arch: str = "resnet18"  # a timm.list_models() name
    drop_strides: int = 2  # leading strided convs/pools set to stride 1 (ImageNet stems: 2)


@dataclass
class GoogLeNetConfig(CNNConfig):
    """model=googlenet: CNNConfig plus the Inception layout (defaults: a small GoogLeNet that
    costs about what the default sequential CNN does per image on CPU)."""

    name: str = "googlenet"
    width: int = 16
    stem_kernel: int = 3  # odd; Pasquet: 5
    modules: Optional[list[list[int]]] = None  # [[reduce, out], ...] per module; null: from width
    pool_kernel: int = 3  # branch4's stride-1 average pool; Pasquet: 2
    last_5x5: bool = True  # Pasquet's last module has no 5×5 branch
    batch_norm: bool = True  # Pasquet: false (conv + bias → PReLU)
    global_pool: bool = True  # false: flatten the last map into the dense head (Pasquet)


@dataclass
class GoogLeNetPasquetConfig(GoogLeNetConfig):
    """model=googlenet_pasquet: the network of Pasquet et al. 2019 (their SDSS stamps reach z 0.4)."""

    depth: int = 5
    width: int = 64
    modules: Optional[list[list[int]]] = field(default_factory=lambda: [[48, 64], [64, 92], [92, 128], [92, 128], [92, 128]])
    stem_kernel: int = 5
    pool_kernel: int = 2
    last_5x5: bool = False
    batch_norm: bool = False
    activation: Activation = Activation.prelu
    global_pool: bool = False
    z_max: float = 0.4
    dropout: float = 0.0
    dense: list[int] = field(default_factory=lambda: [1096, 1096])

