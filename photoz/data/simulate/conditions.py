"""Observing conditions that vary from galaxy to galaxy: the PSF of each band, and blends.

PSF. LSST's delivered seeing varies from visit to visit: the site's seeing at 500 nm has median
0.59″ and quartiles 0.44″ and 0.81″ (Cerro Pachón DIMM, as the LSST Science Book 2009 §2.2 quotes
it), a log-normal of σ_ln = ln(0.81/0.44)/1.349 = 0.45 (`data.psf_scatter`). A stamp of a coadd
carries the average of its visits, so its FWHM scatters by σ_ln/√N around the published median of
the band (photoz.data.simulate.lsst.LSST, FWHM_eff), with N the band's number of visits at that
depth: 56, 80, 184, 184, 160, 160 in ugrizy over ten years (Ivezić et al. 2019, Table 1), a tenth
of that after one year, one for a single visit. Each galaxy and band draws its own FWHM_eff; the
catalogue keeps it as `psf_fwhm_<band>` (arcsec), so users and estimators can cut on it.

Blends. A fraction `data.blend_fraction` of the stamps gets a neighbour: another galaxy drawn from
the same population (data=catalog: another row of the catalogue), centred uniformly inside the
stamp, seen through the same PSF and noise. The aperture photometry measures both, as a survey's
would; the neighbour is recorded in true_blend_* columns.
"""

from __future__ import annotations

import numpy as np

from photoz.data.simulate.lsst import LSST, PIXEL_SCALE
from photoz.errors import ConfigError

SITE_SEEING_SIGMA = 0.45  # ln-scatter of single-visit seeing: quartiles 0.44" and 0.81" at 500 nm
VISITS_Y10 = {"u": 56, "g": 80, "r": 184, "i": 184, "z": 160, "y": 160}  # Ivezić et al. 2019, Table 1
PSF_SCATTER_MAX = 1.0  # a factor e per standard deviation: beyond any site's seeing distribution


def check_conditions(psf_scatter: float, blend_fraction: float) -> None:
    """ConfigError for a PSF scatter or blend fraction out of range."""
    if not 0.0 <= psf_scatter <= PSF_SCATTER_MAX:
        raise ConfigError(
            f"data.psf_scatter={psf_scatter} is out of range; it is the ln-scatter of single-visit seeing, "
            f"use 0 (fixed PSF) to {PSF_SCATTER_MAX} (default {SITE_SEEING_SIGMA}, Cerro Pachón)"
        )
    if not 0.0 <= blend_fraction <= 1.0:
        raise ConfigError(f"data.blend_fraction={blend_fraction} is not a fraction; use a value in [0, 1] (0 = no blends)")


def visits(band: str, depth: str) -> float:
    """Visits in a band at a depth: the 10-year count, a tenth of it, or one."""
    return {"y10": VISITS_Y10[band], "y1": VISITS_Y10[band] / 10.0, "single_visit": 1.0}[depth]


def draw_psf_fwhm(rng: np.random.Generator, n: int, bands: list[str], depth: str, psf_scatter: float) -> np.ndarray:
    """(n, C) FWHM_eff (arcsec) per galaxy and band: the band's median × exp(N(0, σ/√visits))."""
    median = np.array([LSST[b].psf_fwhm for b in bands])
    sigma = np.array([psf_scatter / np.sqrt(visits(b, depth)) for b in bands])
    return median * np.exp(rng.standard_normal((n, len(bands))) * sigma)


def draw_blends(rng: np.random.Generator, n: int, blend_fraction: float, stamp_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the blended stamps and (k, 2) neighbour offsets (dx, dy) in arcsec, uniform over the stamp."""
    blended = np.flatnonzero(rng.uniform(size=n) < blend_fraction)
    half = stamp_size * PIXEL_SCALE / 2.0
    return blended, rng.uniform(-half, half, (len(blended), 2))
