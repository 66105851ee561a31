"""Structured-config schemas of the CNN model group, so a typo or a wrong type in `model.*`
fails at composition with Hydra's own message.

conf/model/sequential.yaml starts with `defaults: [/cnn_schema@_here_, _self_]`, the googlenet
yamls with `defaults: [/googlenet_schema@_here_, _self_]` (top-level names, so Hydra does not list
them as `model=` options). photoz.config calls register_schemas() before
Hydra composes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class CNNConfig:
    """Keys every CNN has (model=sequential uses exactly these)."""

    name: str = MISSING  # sequential | googlenet (the estimator registry key)
    depth: int = 4  # conv blocks (sequential) or Inception modules (googlenet)
    width: int = 32  # channels of the first block / the stem
    max_width: int = 256  # cap on channels as they double with depth
    head: str = "pdf"  # pdf (softmax over n_bins on [0, z_max]) | regression
    n_bins: int = 180  # redshift bins of the pdf head (Pasquet 2019: 180)
    z_max: float = 3.5  # upper end of the redshift range (the default simulated set spans 0.01–3.5)
    point_estimate: str = "zstar"  # pdf head: zstar | mean | median | mode (photoz.estimators.point)
    activation: str = "relu"  # relu | prelu (Pasquet; per-channel slope, ~10x ReLU's cost on CPU)
    dropout: float = 0.1  # before/after the dense layers
    dense: list[int] = field(default_factory=lambda: [256])  # hidden dense layers of the head


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


def register_schemas() -> None:
    """Store the schemas as the top-level configs cnn_schema and googlenet_schema."""
    cs = ConfigStore.instance()
    cs.store(name="cnn_schema", node=CNNConfig)
    cs.store(name="googlenet_schema", node=GoogLeNetConfig)
