"""Structured-config schema of the `pretrain` block of conf/pretrain.yaml (python -m photoz.pretrain):
the contrastive method and the augmented views it compares. Each default is also written in the
YAML (tests/test_schema_defaults.py); photoz.training.contrastive and photoz.training.views use them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ViewsConfig:
    """pretrain.views: the random changes that make two views of one galaxy (photoz.training.views).
    None changes the galaxy's colours except the reddening jitter, which changes them as dust does."""

    shift: int = 2  # largest shift in pixels along each axis (0: none); flips and 90° rotations always
    psf: float = 0.8  # largest extra Gaussian PSF sigma in pixels (0: none)
    noise: float = 0.5  # largest extra white noise, in units of the catalogue's per-band sky noise (0: none)
    reddening: float = 0.03  # largest |ΔE(B-V)| of the Galactic-reddening jitter (0: none; LSST ugrizy only)


@dataclass
class PretrainSchema:
    """pretrain: MoCo v2 (He et al. 2020; Chen et al. 2020), as Hayat et al. 2021 used for SDSS photo-z."""

    splits: list[str] = field(default_factory=lambda: ["train"])  # whose images: train, val, test (transductive)
    queue: int = 4096  # negatives kept from past batches
    temperature: float = 0.2  # of the InfoNCE softmax
    momentum: float = 0.99  # of the key encoder's moving average
    projection: int = 128  # size of the projected embedding the loss compares
    views: ViewsConfig = field(default_factory=ViewsConfig)
