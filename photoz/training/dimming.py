"""Dimming of the labelled training images (model.dimming): each labelled galaxy also seen
fainter, at the catalogue's depth, with its redshift kept.

A spectroscopic selection labels bright galaxies only (docs/labels.md: VVDS labels none fainter
than i = 24), so a CNN trained on them has never seen a galaxy near the survey's detection limit
and extrapolates wildly there. Each labelled stamp of a training step is multiplied by
a = 10^(-0.4 Δm), Δm uniform in [0, model.dimming] magnitudes per galaxy (every band alike, so
the colours are kept), and white noise of std sigma_b sqrt(1 - a²) is added, which brings the sky
noise, scaled down with the galaxy, back to the catalogue's per-band level sigma_b (measured on
the borders of every non-test stamp, labelled or not: a selection's labelled galaxies are bright
and their borders hold galaxy light; photoz.training.normalise.noise_scale). The result is, in
the sky-limited approximation, the same galaxy at the same redshift observed as a fainter galaxy
would be (its own photon noise is scaled by a, not sqrt(a), and neighbours in the stamp are
dimmed with it). It is not a fainter galaxy of that redshift (those are intrinsically bluer and
smaller), it teaches nothing of redshifts the labels do not reach, and it blurs the
magnitude-redshift relation the labels carry, so it is off by default and meant for selected
labels. Random draws come from the training step's generator, so a resumed run continues the same
sequence.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from photoz.errors import ConfigError
from photoz.models.schema import HeadConfig
from photoz.training.augment import random_dihedral


def check_dimming(model_cfg: HeadConfig) -> None:
    """ConfigError unless model.dimming is a finite number >= 0 that the model can use (the
    catalogue inputs of model.catalog_features are not dimmed with the images)."""
    m = model_cfg.dimming
    if not 0 <= m < math.inf:
        raise ConfigError(f"model.dimming={m} must be a finite number of magnitudes >= 0 (0 switches it off)")
    if m > 0 and model_cfg.catalog_features:
        raise ConfigError(f"model.dimming={m} dims the images but not the catalogue row of model.catalog_features="
                          f"{list(model_cfg.catalog_features)}: drop one of them")  # fmt: skip


class Dimming:
    """The augmentation of each labelled batch with model.dimming: a random flip / 90° rotation,
    then every stamp of the (B, C, H, W) nJy batch dimmed by up to `max_mag` magnitudes with the
    (C,) per-band sky noise `sigma` (nJy) restored."""

    def __init__(self, max_mag: float, sigma: np.ndarray) -> None:
        self.max_mag = max_mag
        self.sigma = torch.as_tensor(np.asarray(sigma, np.float32)).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """The flipped / rotated, dimmed stamps (same device and dtype as x); draws from `g`."""
        x = random_dihedral(x, g)
        a = 10 ** (-0.4 * self.max_mag * torch.rand(len(x), generator=g)).view(-1, 1, 1, 1)
        noise = torch.randn(x.shape, generator=g) * torch.sqrt(1 - a**2) * self.sigma
        return x * a.to(x.device, x.dtype) + noise.to(x.device, x.dtype)
