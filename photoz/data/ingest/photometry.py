"""Fixed-aperture photometry on stamps, for imported sets whose catalog has no fluxes."""

from __future__ import annotations

import numpy as np

from photoz.errors import ConfigError


class Aperture:
    """A circular aperture of `radius` pixels at the stamp centre; errors from the robust scatter
    (1.4826 × MAD) of the pixels at least `annulus` pixels out, times √(aperture pixels).
    No background is subtracted: photoz pixels are calibrated, sky-subtracted fluxes."""

    def __init__(self, shape: tuple[int, int], radius: float, annulus: float | None = None) -> None:
        h, w = shape
        yy, xx = np.mgrid[:h, :w]
        r = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2)
        annulus = min(h, w) / 2 - 2 if annulus is None else annulus
        self.inner, self.outer = r <= radius, r >= annulus
        if annulus <= radius or self.outer.sum() < 8 or not self.inner.any():
            raise ConfigError(
                f"photometry.radius={radius} and photometry.annulus={annulus} do not fit a {h}x{w} stamp "
                "(need radius < annulus and at least 8 pixels beyond annulus); change them"
            )

    def measure(self, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flux, flux_err), each (n, C), from stamps (n, C, H, W) in the stamps' units."""
        flux = stamps[..., self.inner].sum(-1, dtype=np.float64)
        ring = stamps[..., self.outer].astype(np.float64)
        mad = np.median(np.abs(ring - np.median(ring, -1, keepdims=True)), -1)
        return flux, 1.4826 * mad * np.sqrt(self.inner.sum())
