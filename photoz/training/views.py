"""Augmented views of galaxy stamps for contrastive pretraining, changed only in ways the
redshift does not depend on (Hayat et al. 2021, ApJL 911, L33, section 2.2).

Each view of a batch of raw stamps (B, C, H, W, fluxes in nJy) gets, per galaxy:
- a flip / 90° rotation (one of the 8 symmetries of the square) and a shift by up to `shift` pixels
  along each axis (a cyclic roll: the flux that leaves one edge re-enters at the other), together
  one permutation of the pixels, so each band's total flux is kept exactly;
- a broader PSF: convolution with a Gaussian of sigma up to `psf` pixels, applied in Fourier space
  with a transfer function that is 1 at zero frequency, so each band's total flux is kept exactly;
- noise re-drawn at the catalogue's depth: smoothing lowered the sky noise, so white noise
  brings it back to the catalogue's per-band level sigma_b (measured on the stamps' borders,
  photoz.training.normalise.noise_scale), plus up to `noise` × sigma_b more (a shallower exposure);
- a Galactic-reddening jitter: every band dimmed by 10^(-0.4 R_b ΔE(B-V)), ΔE uniform in
  ±`reddening`, R_b = A_b / E(B-V) of the LSST bands (CCM89, R_V = 3.1; `R_LSST`).
Never a colour jitter (independent per-band scalings): that changes the SED and with it the
redshift. Random draws come from one torch.Generator on the CPU, so views are reproducible and a
resumed pretraining continues the same sequence.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from photoz.errors import ConfigError
from photoz.models.schema import ViewsConfig

# A_b / E(B-V) of the LSST filters: Cardelli, Clayton & Mathis (1989) with R_V = 3.1 integrated over
# each LSST throughput for a flat SED, as rubin_sim.phot_utils.DustValues computes them (the values
# LSST's pipelines use for LSSTCam)
R_LSST = {"u": 4.757, "g": 3.661, "r": 2.701, "i": 2.054, "z": 1.590, "y": 1.308}


def _uniform(n: int, high: float, g: torch.Generator, low: float = 0.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


@lru_cache(maxsize=8)
def _symmetries(size: int) -> torch.Tensor:
    """(8, size, size): for each symmetry of the square (optional horizontal flip, vertical flip,
    transpose), the flat index of the source pixel of every target pixel."""
    index = torch.arange(size * size).view(size, size)
    out = []
    for k in range(8):
        t = index.flip(-1) if k & 1 else index
        t = t.flip(-2) if k & 2 else t
        out.append(t.T if k & 4 else t)
    return torch.stack(out)


class Views:
    """Draws augmented views of raw stamps; `sigma` is the (C,) catalogue sky noise per band (nJy),
    `where` the config block `cfg` came from (named by its errors)."""

    def __init__(self, cfg: ViewsConfig, bands: list[str], sigma: np.ndarray, where: str = "pretrain.views") -> None:
        for key in ("shift", "psf", "noise", "reddening"):
            if getattr(cfg, key) < 0:
                raise ConfigError(f"{where}.{key}={getattr(cfg, key)} must be >= 0 (0 switches it off)")
        unknown = [b for b in bands if b not in R_LSST]
        if cfg.reddening > 0 and unknown:
            raise ConfigError(
                f"{where}.reddening={cfg.reddening} needs A_b/E(B-V) of band(s) {', '.join(unknown)}; photoz "
                f"has LSST ugrizy's: use {where}.reddening=0 for other bands"
            )
        self.cfg = cfg
        self.sigma = torch.as_tensor(np.asarray(sigma, np.float32)).view(1, -1, 1, 1)
        self.r_band = torch.tensor([R_LSST.get(b, 0.0) for b in bands], dtype=torch.float32).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """One view of each stamp of the batch (same device and dtype as x)."""
        x = self.move(x, g)
        x, kept = self.broaden(x, g)
        x = self.add_noise(x, kept, g)
        return self.redden(x, g)

    def move(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Each stamp flipped / rotated by one of the 8 symmetries of the square, then rolled by
        (dy, dx) in [-shift, shift]: one gather of pixels, so every pixel value is kept."""
        n, h, w = len(x), x.shape[-2], x.shape[-1]
        if h != w:
            raise ConfigError(f"pretraining needs square stamps; these are {h}x{w}")
        symmetry = torch.randint(0, 8, (n,), generator=g)
        s = self.cfg.shift
        d = torch.randint(-s, s + 1, (n, 2), generator=g) if s else torch.zeros(n, 2, dtype=torch.long)
        i = (torch.arange(h).view(1, -1, 1) - d[:, 0].view(-1, 1, 1)) % h
        j = (torch.arange(w).view(1, 1, -1) - d[:, 1].view(-1, 1, 1)) % w
        source = _symmetries(h)[symmetry.view(-1, 1, 1), i, j].view(n, 1, h * w).to(x.device)
        return x.flatten(2).gather(2, source.expand(n, x.shape[1], h * w)).view_as(x)

    def broaden(self, x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Each stamp convolved with a Gaussian of its own sigma in [0, psf] pixels (cyclic, in
        Fourier space), and the share of white-noise variance that survives it, per stamp."""
        n, h, w = len(x), x.shape[-2], x.shape[-1]
        if self.cfg.psf == 0:
            return x, torch.ones(n)
        s2 = (2 * math.pi**2) * _uniform(n, self.cfg.psf, g).view(-1, 1, 1, 1) ** 2
        hy = torch.exp(-s2 * torch.fft.fftfreq(h).view(1, 1, -1, 1) ** 2)  # transfer: 1 at zero frequency
        hx = torch.exp(-s2 * torch.fft.rfftfreq(w).view(1, 1, 1, -1) ** 2)
        spectrum = torch.fft.rfft2(x.float()) * (hy * hx).to(x.device)
        out = torch.fft.irfft2(spectrum, s=(h, w)).to(x.dtype)
        hx_full = torch.exp(-s2 * torch.fft.fftfreq(w).view(1, 1, 1, -1) ** 2)
        kept = (hy**2).mean(dim=(1, 2, 3)) * (hx_full**2).mean(dim=(1, 2, 3))  # Parseval: the kernel's sum of squares
        return out, kept

    def add_noise(self, x: torch.Tensor, kept: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """White noise that brings the sky noise back to sigma_b (after smoothing) plus up to
        `noise` × sigma_b more."""
        extra = _uniform(len(x), self.cfg.noise, g) if self.cfg.noise > 0 else torch.zeros(len(x))
        std = torch.sqrt((1 - kept).clamp(min=0) + extra**2).view(-1, 1, 1, 1)
        if not bool((std > 0).any()):
            return x
        noise = torch.randn(x.shape, generator=g) * std * self.sigma
        return x + noise.to(x.device, x.dtype)

    def redden(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Every band dimmed by its Galactic extinction for a ΔE(B-V) drawn per stamp."""
        r = self.cfg.reddening
        if r == 0:
            return x
        ebv = _uniform(len(x), r, g, low=-r).view(-1, 1, 1, 1)
        return x * (10 ** (-0.4 * self.r_band * ebv)).to(x.device, x.dtype)
