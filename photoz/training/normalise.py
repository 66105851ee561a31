"""Per-band input normalisation: arcsinh(flux / noise scale), fitted on the train split only.

Pixel fluxes span from sky noise to bright cores; arcsinh is linear within a few noise sigmas and
logarithmic beyond, so faint and bright galaxies both reach the network on a useful scale. The
noise scale per band is the robust (MAD) spread of the stamps' border pixels, which are mostly
sky. It is stored as a buffer, so a logged model carries its own normalisation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MAX_FIT_IMAGES = 4096  # enough pixels for a robust noise estimate; bounds memmap reads


def fit_sample(index: np.ndarray) -> np.ndarray:
    """The sorted rows of `index` a fit reads: all of them, or MAX_FIT_IMAGES spread evenly over them."""
    index = np.sort(np.asarray(index))
    if len(index) > MAX_FIT_IMAGES:
        index = index[np.linspace(0, len(index) - 1, MAX_FIT_IMAGES).astype(int)]
    return index


def noise_scale(images: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(C,) robust noise sigma per band from the border pixels of (a sample of) images[index]."""
    stamps = np.asarray(images[fit_sample(index)], dtype=np.float32)  # (n, C, H, W)
    border = np.concatenate(
        [stamps[:, :, 0, :], stamps[:, :, -1, :], stamps[:, :, 1:-1, 0], stamps[:, :, 1:-1, -1]], axis=2
    )  # (n, C, ring)
    per_band = border.transpose(1, 0, 2).reshape(stamps.shape[1], -1)
    mad = np.median(np.abs(per_band - np.median(per_band, axis=1, keepdims=True)), axis=1)
    sigma = 1.4826 * mad
    # a noiseless band (simulations without noise) falls back to its pixel spread, then to 1
    spread = per_band.std(axis=1)
    sigma = np.where(sigma > 0, sigma, np.where(spread > 0, spread, 1.0))
    return sigma.astype(np.float32)


class ArcsinhNormalise(nn.Module):
    """x -> arcsinh(x / scale_band) for (B, C, H, W) fluxes; `scale` is a (C,) buffer."""

    def __init__(self, scale: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.asinh(x / self.scale)
