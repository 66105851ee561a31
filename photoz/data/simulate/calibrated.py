"""SED parameters of simulator version 5's default population (data.sed_population=cosmodc2): drawn
from the distribution calibrated on cosmoDC2's training sample (photoz.data.simulate.calibration, cached by photoz.data.simulate.calibration_cache).

A galaxy at (z, i) takes one of its K_NEIGHBOURS nearest training galaxies in (z / Z_SCALE,
i / I_SCALE), draws a grid point θ = (template position, E(B−V), line strength) from that galaxy's
deconvolved posterior, and jitters it within the grid cell (position ± POS_STEP/2, E(B−V) ± half
a step where the mixture has a BC03 template, line strength × 10^U(−0.1, 0.1)), so the galaxies are
new ones with physical SEDs while their population statistics are cosmoDC2's. Bulge and disk share
that SED (the fit constrains the total light only); the class is quiescent where the SED is an
Ell1–S0 mixture (position < 7.5), star-forming otherwise.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from photoz.data.simulate import evolution as ev
from photoz.data.simulate.calibration import EBV_FIT, POS_STEP, Calibration, group_of, repair_factors
from photoz.data.simulate.calibration_cache import training_calibration
from photoz.data.simulate.templates import cosmos_library

K_NEIGHBOURS, Z_SCALE, I_SCALE = 16, 0.05, 0.5
QUIESCENT_BELOW = 7.5  # template position: Ell1 … S0 mixtures are quiescent
LINE_JITTER_DEX = 0.1
CHUNK = 4096


def neighbours(cal: Calibration, z: np.ndarray, i_mag: np.ndarray) -> np.ndarray:
    """(n, K_NEIGHBOURS) indices of the nearest training galaxies in scaled (z, i), nearest first."""
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([cal.z / Z_SCALE, cal.i_mag / I_SCALE]))
    return tree.query(np.column_stack([z / Z_SCALE, i_mag / I_SCALE]), k=K_NEIGHBOURS)[1]


def draw_theta(rng: np.random.Generator, cal: Calibration, z: np.ndarray, i_mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) grid index drawn from a random neighbour's posterior, and that neighbour's index."""
    nn = neighbours(cal, z, i_mag)
    source = nn[np.arange(len(z)), rng.integers(0, K_NEIGHBOURS, len(z))]
    u = rng.uniform(size=len(z))
    out = np.empty(len(z), int)
    for s in range(0, len(z), CHUNK):
        cdf = np.cumsum(cal.posterior[source[s : s + CHUNK]], axis=1, dtype=float)
        out[s : s + CHUNK] = (cdf < u[s : s + CHUNK, None] * cdf[:, -1:]).sum(axis=1)
    return np.minimum(out, len(cal.pos) - 1), source


def jitter(rng: np.random.Generator, cal: Calibration, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous (position, E(B−V), line strength) around grid points `grid`."""
    last = len(cosmos_library().templates) - 1.0
    pos = np.clip(cal.pos[grid] + rng.uniform(-0.5, 0.5, len(grid)) * POS_STEP, 0.0, last)
    step = EBV_FIT[1] - EBV_FIT[0]
    ebv = cal.ebv[grid]
    ebv = np.where(ebv > 0, np.clip(ebv + rng.uniform(-0.5, 0.5, len(grid)) * step, 0.0, EBV_FIT[-1]), 0.0)
    lines = cal.lines[grid] * 10 ** rng.uniform(-LINE_JITTER_DEX, LINE_JITTER_DEX, len(grid))
    return pos, ebv, lines


def draw_sed_params(rng: np.random.Generator, truth: Table, line_ew_scale: float, bands: list[str],
                    cal: Calibration | None = None) -> dict[str, np.ndarray]:
    """Per galaxy, as photoz.data.simulate.cosmos.draw_sed_params returns them: class, template
    weights of bulge and disk (the same SED), B/T, E(B−V), line strengths, sSFR of the mixture, and
    the calibration's template repair per band relative to i ("repair", (n, C) for `bands`).
    `cal`: the calibration (default: RAIL's training file, photoz.data.simulate.calibration)."""
    from photoz.data.simulate.cosmos import BT_RANGE, _weights, template_colours

    lib = cosmos_library()
    cal = cal or training_calibration()
    z, i_mag = np.asarray(truth["redshift"], float), np.asarray(truth["true_mag_i"], float)
    grid, _ = draw_theta(rng, cal, z, i_mag)
    pos, ebv, lines = jitter(rng, cal, grid)
    cls = np.where(pos < QUIESCENT_BELOW, ev.QUIESCENT, ev.STAR_FORMING)
    lo, hi = np.array([BT_RANGE[c] for c in cls]).T
    w = _weights(pos, len(lib.templates))
    ssfr = np.log10(w @ 10 ** template_colours(lib)["ssfr"])
    factors = repair_factors(cal.repair, z, (*bands, "i"))[np.arange(len(z)), group_of(pos)]
    return {"repair": factors[:, :-1] / factors[:, -1:], "class": cls, "ssfr": np.where(cls == ev.QUIESCENT, np.nan, ssfr), "disk_pos": pos, "bulge_pos": pos,
            "bt": rng.uniform(lo, hi), "bulge_w": w, "disk_w": w, "ebv": ebv, "lines": line_ew_scale * lines}
