"""Fixed-aperture photometry on stamps, for imported sets whose catalog has no fluxes."""

from __future__ import annotations

import numpy as np

from photoz.errors import ConfigError


class Aperture:
    """A circular aperture of `radius` pixels at the stamp centre; errors from the robust scatter
    (1.4826 × MAD) of the pixels in the ring inner <= r < outer (default: the stamp's outermost
    2-pixel ring), times √(aperture pixels). No background is subtracted: photoz pixels are
    calibrated, sky-subtracted fluxes. A thin ring keeps the median cheap (float32, ~200 pixels)."""

    def __init__(
        self, shape: tuple[int, int], radius: float, inner: float | None = None, outer: float | None = None
    ) -> None:
        h, w = shape
        yy, xx = np.mgrid[:h, :w]
        r = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2).ravel()
        outer = min(h, w) / 2 if outer is None else outer
        inner = outer - 2 if inner is None else inner
        self.inner = np.flatnonzero(r <= radius)
        self.ring = np.flatnonzero((r >= inner) & (r < outer))
        if inner <= radius or len(self.ring) < 8 or not len(self.inner):
            raise ConfigError(
                f"photometry.radius={radius} with a noise ring {inner} <= r < {outer} does not fit a {h}x{w} stamp "
                "(need radius < annulus_inner and at least 8 ring pixels); change photometry.*"
            )

    def measure(self, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flux, flux_err), each (n, C) float64, from stamps (n, C, H, W) in the stamps' units."""
        flat = stamps.reshape(*stamps.shape[:2], -1)
        flux = flat[..., self.inner].sum(-1, dtype=np.float64)
        ring = flat[..., self.ring].astype(np.float32)
        mad = np.median(np.abs(ring - np.median(ring, -1, keepdims=True)), -1)
        return flux, 1.4826 * mad.astype(np.float64) * np.sqrt(len(self.inner))
