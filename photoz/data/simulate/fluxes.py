"""Bulge and disk band fluxes of simulated galaxies from redshifted Coleman–Wu–Weedman SEDs.

Integrating SED × bandpass per galaxy is slow, so each process computes once a grid of band
fluxes (photoz.sed.band_fluxes: GalSim's LSST bandpasses) relative to the i band for every
template on a fine redshift grid and galaxies interpolate in it. Disk SEDs interpolate between the Sbc (type 0), Scd (1) and Im (2) templates; bulges use the elliptical (E).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from astropy.table import Table

from photoz.data.format import NJY_ZP
from photoz.physics.sed import band_fluxes

DISK_TEMPLATES = ("Sbc", "Scd", "Im")
TEMPLATES = ("E", *DISK_TEMPLATES)
Z_GRID = np.linspace(0.0, 4.0, 801)  # redshift grid of the flux tables (step 0.005)
REF_BAND = "i"


@cache
def _template_grid(template: str, bands: tuple[str, ...]) -> np.ndarray:
    """(len(Z_GRID), len(bands)) band fluxes of CWW template `template` (photoz.sed.band_fluxes)
    relative to the reference band (colours only; i fixes brightness)."""
    flux = band_fluxes(f"CWW_{template}_ext", (*bands, REF_BAND), Z_GRID)
    return flux[:, :-1] / flux[:, -1:]


def _interp_z(grid: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Linear interpolation of a (len(Z_GRID), C) table at redshifts z -> (n, C)."""
    pos = np.clip(np.asarray(z, float), Z_GRID[0], Z_GRID[-1]) / (Z_GRID[1] - Z_GRID[0])
    lo = np.minimum(pos.astype(int), len(Z_GRID) - 2)
    w = (pos - lo)[:, None]
    return grid[lo] * (1 - w) + grid[lo + 1] * w


def bulge_colours(z: np.ndarray, bands: list[str]) -> np.ndarray:
    """(n, C) band flux / i-band flux of an elliptical (E) SED at redshifts z."""
    return _interp_z(_template_grid("E", tuple(bands)), z)


def disk_colours(z: np.ndarray, sed_type: np.ndarray, bands: list[str]) -> np.ndarray:
    """(n, C) band flux / i-band flux of a disk SED: sed_type in [0, 2] interpolates
    Sbc (0) → Scd (1) → Im (2) linearly in flux."""
    tables = np.stack([_interp_z(_template_grid(t, tuple(bands)), z) for t in DISK_TEMPLATES])
    t = np.clip(np.asarray(sed_type, float), 0.0, len(DISK_TEMPLATES) - 1.0)
    lo = np.minimum(t.astype(int), len(DISK_TEMPLATES) - 2)
    w = (t - lo)[:, None]
    rows = np.arange(len(t))
    return tables[lo, rows] * (1 - w) + tables[lo + 1, rows] * w


def scale_to_i(truth: Table, bulge_colours: np.ndarray, disk_colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) bulge and disk fluxes in nJy from their colours (band flux / i-band flux):
    true_mag_i fixes the total i flux and true_bt splits it between the components."""
    f_i = 10 ** (-0.4 * (np.asarray(truth["true_mag_i"], float) - NJY_ZP))
    bt = np.asarray(truth["true_bt"], float)
    return (bt * f_i)[:, None] * bulge_colours, ((1.0 - bt) * f_i)[:, None] * disk_colours


def bulge_disk_fluxes(truth: Table, bands: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`data.sed_model=cww`: (n, C) bulge and disk fluxes in nJy, each component's redshifted
    SED (E bulge, true_sed disk) giving its colours."""
    z = np.asarray(truth["redshift"], float)
    return scale_to_i(truth, bulge_colours(z, bands), disk_colours(z, np.asarray(truth["true_sed"], float), bands))
