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

How far (model.dimming_to): `uniform` draws Δm uniform in [0, model.dimming]; `sample` takes the
number from the survey instead: each labelled galaxy is dimmed to the brightness of a galaxy drawn
at random from the photometric sample (every non-test stamp, labelled or not) when that one is
fainter, and kept as it is when it is not, by at most model.dimming magnitudes. Brightness is the
flux within a sixth of the stamp's width of its centre, summed over bands in units of each band's
sigma_b (a detection signal; the same factor dims every band, so any weighting of the bands gives
the same ratio); sample galaxies below 5 sigma in it are not drawn. The dimmed labelled set then
has the distribution of the fainter of a labelled and a photometric-sample galaxy: under a strong
selection (every label brighter than most of the sample) nearly the sample's own; with random
labels fainter than the sample (so it is meant for selected labels).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from photoz.choices import DimmingTo
from photoz.errors import ConfigError
from photoz.models.schema import HeadConfig
from photoz.training.augment import random_dihedral
from photoz.training.normalise import fit_sample, noise_scale

CHUNK = 1024  # stamps read at once when measuring the photometric sample
DETECTION = 5.0  # a sample galaxy is a brightness to dim to when its aperture signal is this many sigma


def check_dimming(model_cfg: HeadConfig) -> None:
    """ConfigError unless model.dimming is a finite number >= 0 that the model can use (the
    catalogue inputs of model.catalog_features are not dimmed with the images)."""
    m = model_cfg.dimming
    if not 0 <= m < math.inf:
        raise ConfigError(f"model.dimming={m} must be a finite number of magnitudes >= 0 (0 switches it off)")
    if m == 0 and model_cfg.dimming_to == DimmingTo.sample:
        raise ConfigError("model.dimming_to=sample dims by at most model.dimming magnitudes, which is 0: "
                          "set it too, e.g. model.dimming=10")  # fmt: skip
    if m > 0 and model_cfg.catalog_features:
        raise ConfigError(f"model.dimming={m} dims the images but not the catalogue row of model.catalog_features="
                          f"{list(model_cfg.catalog_features)}: drop one of them")  # fmt: skip


def aperture(h: int, w: int) -> torch.Tensor:
    """(H, W) 1 within a sixth of the stamp's width of its centre (an aperture a third of the stamp
    across; flips and 90° rotations leave it as it is), 0 outside."""
    yy, xx = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2, indexing="ij")
    return (yy**2 + xx**2 <= (min(h, w) / 6) ** 2).float()


def brightness(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """(B,) each (C, H, W) stamp's flux within `aperture`, summed over bands in units of the per-band
    sky noise `sigma` ((C,) values, any shape); on x's device."""
    inside = aperture(*x.shape[-2:]).to(x.device)
    return (torch.einsum("bchw,hw->bc", x.float(), inside) / sigma.to(x.device).reshape(1, -1)).sum(1)


def sample_brightness(images: np.ndarray, index: np.ndarray, sigma: np.ndarray) -> torch.Tensor:
    """The brightness of (an even sample of) the stamps images[index] that are detected in it, at
    DETECTION times its noise (sqrt of the aperture's pixels times the bands: a stamp of pure sky
    would be nothing to dim to), (n,) float32; ConfigError if none is."""
    rows, scale = fit_sample(index), torch.as_tensor(np.asarray(sigma, np.float32))
    chunks = (torch.from_numpy(np.asarray(images[rows[i : i + CHUNK]], np.float32)) for i in range(0, len(rows), CHUNK))
    signal = torch.cat([brightness(chunk, scale) for chunk in chunks])
    noise = math.sqrt(aperture(*images.shape[-2:]).sum().item() * images.shape[1])
    detected = signal[signal > DETECTION * noise]
    if not len(detected):
        raise ConfigError(f"model.dimming_to=sample: none of the {len(signal)} stamps read is detected at {DETECTION:g} "
                          "sigma within a third of the stamp across, so there is no brightness to dim to; use "
                          "model.dimming_to=uniform")  # fmt: skip
    return detected


class Dimming:
    """The augmentation of each labelled batch with model.dimming: a random flip / 90° rotation,
    then every stamp of the (B, C, H, W) nJy batch dimmed by up to `max_mag` magnitudes with the
    (C,) per-band sky noise `sigma` (nJy) restored: uniformly in magnitude, or, given the
    photometric sample's brightness `targets` (model.dimming_to=sample), to a random one of them
    where that is fainter."""

    def __init__(self, max_mag: float, sigma: np.ndarray, targets: torch.Tensor | None = None) -> None:
        self.max_mag = max_mag
        self.sigma = torch.as_tensor(np.asarray(sigma, np.float32)).view(1, -1, 1, 1)
        self.targets = targets

    def factor(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """(B,) each stamp's flux factor a in [10^(-0.4 max_mag), 1]; draws from `g`."""
        if self.targets is None:
            return 10 ** (-0.4 * self.max_mag * torch.rand(len(x), generator=g))
        target = self.targets[torch.randint(len(self.targets), (len(x),), generator=g)]
        own = brightness(x, self.sigma).cpu()
        ratio = torch.where(own > 0, target / own, torch.ones(()))  # a stamp with no signal is left as it is
        return ratio.clamp(10 ** (-0.4 * self.max_mag), 1.0)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """The flipped / rotated, dimmed stamps (same device and dtype as x); draws from `g`."""
        x = random_dihedral(x, g)
        a = self.factor(x, g).view(-1, 1, 1, 1)
        noise = torch.randn(x.shape, generator=g) * torch.sqrt(1 - a**2) * self.sigma
        return x * a.to(x.device, x.dtype) + noise.to(x.device, x.dtype)


def dimming_for(model_cfg: HeadConfig, images: np.ndarray, rows: np.ndarray) -> Dimming:
    """model.dimming's augmentation, its sky noise (and with model.dimming_to=sample the
    photometric sample's brightness) measured on the stamps images[rows]."""
    sigma = noise_scale(images, rows)
    targets = sample_brightness(images, rows, sigma) if model_cfg.dimming_to == DimmingTo.sample else None
    return Dimming(model_cfg.dimming, sigma, targets)
