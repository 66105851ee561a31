"""Structured-config schema of the `pretrain` block of conf/pretrain.yaml (python -m photoz.pretrain):
the contrastive method and the augmented views it compares. Each default is also written in the
YAML (tests/test_schema_defaults.py); photoz.training.contrastive and photoz.training.views use them."""

from __future__ import annotations

from dataclasses import dataclass, field

from photoz.models.schema import ViewsConfig  # shared with semi-supervised training (model.consistency.views)


@dataclass
class PretrainSchema:
    """pretrain: MoCo v2 (He et al. 2020; Chen et al. 2020), as Hayat et al. 2021 used for SDSS photo-z."""

    splits: list[str] = field(default_factory=lambda: ["train"])  # whose images: train, val, test (transductive)
    queue: int = 4096  # negatives kept from past batches
    temperature: float = 0.2  # of the InfoNCE softmax
    momentum: float = 0.99  # of the key encoder's moving average
    projection: int = 128  # size of the projected embedding the loss compares
    views: ViewsConfig = field(default_factory=ViewsConfig)
