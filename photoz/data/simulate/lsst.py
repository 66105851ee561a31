"""LSST numbers for simulated cutouts (Ivezić et al. 2019 Table 2, surveycodex; docs/references.md).

PSF. The table's FWHM is LSST's FWHM_eff; the drawn Kolmogorov has the geometric FWHM
0.822 FWHM_eff + 0.052 (see psf_fwhm_geom), so its noise area is the one the m5 figures assume.

Noise model. Sky counts per pixel follow from the sky brightness, zero point and exposure time:
sky = t 10^(-0.4 (sky_mag - zp)) 0.2². Sky-limited Poisson noise alone makes u and y about 0.5
and 0.4 mag deeper than the published m5 (which also carry read noise, extinction at airmass
1.2 and the u band's non-sky-limited regime), so `extra_variance` adds the Gaussian variance per
pixel that brings the 5σ point-source depth down to the published m5 where the sky alone would
be deeper; it is zero where the sky alone already reaches m5. benchmarks/simulation_validation.py
measures the resulting depths on simulated stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import galsim
import numpy as np

from photoz.data.format import NJY_ZP
from photoz.errors import ConfigError

PIXEL_SCALE = 0.2  # arcsec per pixel
VISIT_S = 30.0  # seconds of one visit (2 x 15 s)


@dataclass(frozen=True)
class Band:
    """One LSST band: sky mag/arcsec², PSF FWHM_eff (arcsec: the FWHM of the Gaussian with the
    same noise area, the convention of the m5 formula), zero point (mag giving 1 e-/s), 10-year
    exposure (s), single-visit and 10-year coadd 5σ point-source depths."""

    name: str
    sky_mag: float
    psf_fwhm: float
    zero_point: float
    exposure_y10: float
    m5_visit: float
    m5_y10: float


LSST = {
    b.name: b
    for b in (
        Band("u", 22.99, 0.90, 26.40, 1680.0, 23.78, 26.1),
        Band("g", 22.26, 0.86, 28.26, 2400.0, 24.81, 27.4),
        Band("r", 21.20, 0.81, 28.10, 5520.0, 24.35, 27.5),
        Band("i", 20.48, 0.79, 27.78, 5520.0, 23.92, 26.8),
        Band("z", 19.60, 0.77, 27.39, 4800.0, 23.34, 26.1),
        Band("y", 18.61, 0.76, 26.56, 4800.0, 22.45, 24.9),
    )
}


def check_bands(bands: list[str]) -> list[str]:
    """The bands as a list, refusing unknown or repeated names."""
    bands = [str(b) for b in bands]
    unknown = [b for b in bands if b not in LSST]
    if unknown or not bands:
        raise ConfigError(f"data.bands: unknown band(s) {unknown or '(empty)'}; choose from {''.join(LSST)}")
    if len(set(bands)) != len(bands):
        raise ConfigError(f"data.bands {bands} repeats a band; list each band once")
    return bands


def exposure(band: str, depth: str) -> float:
    """Total exposure time (s) of a band at a depth: y10 coadd, y1 = a tenth of it, one visit."""
    t10 = LSST[band].exposure_y10
    return {"y10": t10, "y1": t10 / 10.0, "single_visit": VISIT_S}[depth]


def target_m5(band: str, depth: str) -> float:
    """Published 5σ point-source depth; y1 scales the coadd by 1.25 log10(1/10)."""
    b = LSST[band]
    return {"y10": b.m5_y10, "y1": b.m5_y10 - 1.25, "single_visit": b.m5_visit}[depth]


def counts_per_njy(band: str, depth: str) -> float:
    """Electrons collected (gain 1) per nJy of source flux during the exposure."""
    return exposure(band, depth) * 10 ** (-0.4 * (NJY_ZP - LSST[band].zero_point))


def sky_counts(band: str, depth: str) -> float:
    """Sky electrons per pixel during the exposure."""
    b = LSST[band]
    return exposure(band, depth) * 10 ** (-0.4 * (b.sky_mag - b.zero_point)) * PIXEL_SCALE**2


def psf_fwhm_geom(band: str) -> float:
    """FWHM (arcsec) of the Kolmogorov profile drawn for the band's median seeing."""
    return float(psf_fwhm_geom_of(LSST[band].psf_fwhm))


def psf_fwhm_geom_of(fwhm_eff: float | np.ndarray) -> float | np.ndarray:
    """FWHM_geom = 0.822 FWHM_eff + 0.052 (LSST Document-20160, as in rubin_sim's SeeingModel): the
    Kolmogorov FWHM whose noise area matches FWHM_eff."""
    return 0.822 * fwhm_eff + 0.052


def psf(band: str) -> galsim.GSObject:
    """The band's atmospheric PSF (before the pixel)."""
    return galsim.Kolmogorov(fwhm=psf_fwhm_geom(band))


@lru_cache(maxsize=None)
def psf_n_eff(band: str) -> float:
    """Effective number of pixels 1/Σp² of the band's pixelised Kolmogorov PSF (the noise area
    of PSF-fitted photometry; 2.266 (FWHM/pixel)² for a Gaussian, more for Kolmogorov wings)."""
    image = psf(band).drawImage(nx=64, ny=64, scale=PIXEL_SCALE).array
    return float(image.sum() ** 2 / (image**2).sum())


def extra_variance(band: str, depth: str) -> float:
    """Additional Gaussian variance per pixel (electrons²) that brings the sky-limited 5σ depth
    of PSF-fitted photometry down to the published m5 (zero where the sky alone is already that
    shallow)."""
    n_eff = psf_n_eff(band)
    signal = 10 ** (-0.4 * (target_m5(band, depth) - NJY_ZP)) * counts_per_njy(band, depth)
    # 5σ: signal = 5 sqrt(signal + n_eff * variance_per_pixel)
    variance = (signal**2 / 25.0 - signal) / n_eff
    return float(max(0.0, variance - sky_counts(band, depth)))


def noise_model(bands: list[str], depth: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per band: electrons per nJy, sky electrons per pixel, extra Gaussian variance (electrons²)."""
    gain = np.array([counts_per_njy(b, depth) for b in bands])
    sky = np.array([sky_counts(b, depth) for b in bands])
    return gain, sky, np.array([extra_variance(b, depth) for b in bands])
