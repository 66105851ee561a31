"""`data.sed_model=empirical` (simulator version 8, the default): version 7's colours worn by version
6's galaxies.

Version 7 (photoz.data.simulate.empirical) draws ugrizy fluxes at a galaxy's (z, i) from the
deconvolved density of cosmoDC2's training photometry: its colours match cosmoDC2's, but it has no
galaxy behind them (its bulge fraction and size came from versions 2–3 and ignored its colour).
Version 6 (photoz.data.simulate.cosmos, population cosmodc2) has the galaxy: class, COSMOS template
mix, dust, lines, stellar mass, a van der Wel et al. 2014 size from that mass, B/T by class; its
colours are further from cosmoDC2's (C2ST 0.67 against 0.53). Version 8 keeps both:

1. every galaxy draws a version 6 galaxy and version 7 fluxes at its (z, i);
2. in each cell of CELL_Z in redshift × CELL_I in i magnitude the version 6 galaxies are handed out
   by colour rank: the galaxy whose version 7 g − z is the k-th reddest of its cell receives the
   parameters (MOVED columns) of the cell's k-th reddest version 6 galaxy;
3. its fluxes are its version 7 ones, split between bulge and disk by the received B/T; the sizes
   keep their physical length (rescaled by kpc per arcsec from the donor's to its own redshift;
   the bulge's then clipped to BULGE_HLR_RANGE, the range version 6's bulges span).

So the colour distribution is version 7's exactly, the parameters' distribution in each cell is
version 6's, and redder galaxies are still the bulgier, more massive, more compact ones. The
received parameters describe the rank-matched version 6 galaxy, not an SED that gives these exact
fluxes (true_sed is the donor's template position, true_logmstar its mass at the donor's (z, i)).
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.table import Table

from photoz.data.simulate.calibration import BANDS
from photoz.data.simulate.cosmos import cosmos_fluxes
from photoz.data.simulate.empirical import EmpiricalCalibration, draw_fluxes
from photoz.data.simulate.evolution import kpc_per_arcsec

log = logging.getLogger(__name__)
CELL_Z, CELL_I = 0.1, 0.5
RANK_COLOUR = ("g", "z")  # spans the 4000 Å break to z ≈ 1.2 and the UV slope beyond
BULGE_HLR_RANGE = (0.015, 3.0)  # arcsec: version 6's bulges span it (galaxy √(ab) 0.03–3″ × (0.5 + 0.5 B/T))
MOVED = ("true_bt", "true_q", "true_bulge_q", "true_bulge_hlr", "true_class", "true_sed", "true_bulge_sed",
         "true_logmstar", "true_ssfr", "true_ebv", "true_ew_oii")


def cells(z: np.ndarray, i_mag: np.ndarray) -> np.ndarray:
    """(n,) integer cell of each galaxy: CELL_Z in redshift × CELL_I in i magnitude."""
    return np.floor(z / CELL_Z).astype(np.int64) * 1000 + np.floor(i_mag / CELL_I).astype(np.int64)


def rank_match(cell: np.ndarray, donor: np.ndarray, recipient: np.ndarray) -> np.ndarray:
    """(n,) donor index per recipient: in each cell, the recipient with the k-th smallest value
    receives the donor with the k-th smallest value (a permutation within cells)."""
    order = np.empty(len(cell), np.int64)
    order[np.lexsort((recipient, cell))] = np.lexsort((donor, cell))
    return order


def colour(flux: np.ndarray) -> np.ndarray:
    """(n,) RANK_COLOUR in magnitudes from (n, 6) ugrizy fluxes."""
    blue, red = (BANDS.index(b) for b in RANK_COLOUR)
    return -2.5 * np.log10(flux[:, blue] / flux[:, red])


def matched_fluxes(truth: Table, rng: np.random.Generator, bands: list[str], line_ew_scale: float,
                   calibration: EmpiricalCalibration) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) bulge and disk fluxes in nJy in `bands` (of ugrizy); sets truth's version 6 columns
    (MOVED), rank-matched as the module docstring says. `calibration`: version 7's mixture."""
    bulge6, disk6 = cosmos_fluxes(truth, rng, list(BANDS), line_ew_scale, "cosmodc2")
    z, i_mag = np.asarray(truth["redshift"], float), np.asarray(truth["true_mag_i"], float)
    total = draw_fluxes(rng, calibration, z, i_mag, list(BANDS))
    donor = rank_match(cells(z, i_mag), colour(bulge6 + disk6), colour(total))
    for name in MOVED:
        truth[name] = np.asarray(truth[name])[donor]
    bulge_hlr = np.asarray(truth["true_bulge_hlr"], float) * kpc_per_arcsec(z[donor]) / kpc_per_arcsec(z)
    truth["true_bulge_hlr"] = np.clip(bulge_hlr, *BULGE_HLR_RANGE)
    truth["true_hlr"] = 2.0 * truth["true_bulge_hlr"]  # derived, as in version 6: the disk twice the bulge
    bt = np.asarray(truth["true_bt"], float)[:, None]
    total = total[:, [BANDS.index(b) for b in bands]]
    return bt * total, (1.0 - bt) * total


def warn_beyond_training(mag_limit: float) -> None:
    """Say so when data.mag_limit asks for galaxies fainter than cosmoDC2's training galaxies, whose
    colours the mixture then extrapolates."""
    from photoz.data.simulate.calibration_cache import empirical_calibration

    faintest = float(np.max(empirical_calibration().i_mag))
    if mag_limit > faintest + 0.05:
        log.warning("data.mag_limit=%s is fainter than cosmoDC2's training galaxies (i < %.1f) whose colours "
                    "data.sed_model=empirical draws: fainter galaxies get the mixture's extrapolated colours "
                    "(data.sed_model=cosmos extrapolates with physical SEDs instead)", mag_limit, faintest)
