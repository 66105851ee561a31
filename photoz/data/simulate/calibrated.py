"""SED parameters of simulator version 5's default population (data.sed_population=cosmodc2): drawn
from the distribution calibrated on cosmoDC2's training sample (photoz.data.simulate.calibration, cached by photoz.data.simulate.calibration_cache).

A galaxy at (z, i) takes one of its K_NEIGHBOURS nearest training galaxies in (z / Z_SCALE,
i / I_SCALE), draws a grid point θ = (template position, E(B−V), line strength) from that galaxy's
deconvolved posterior, and jitters it within the grid cell (position ± POS_STEP/2, E(B−V) ± half
a step where the mixture has a BC03 template, line strength × 10^U(−0.1, 0.1)), so the galaxies are
new ones with physical SEDs while their population statistics are cosmoDC2's. Bulge and disk share
that SED (the fit constrains the total light only; photoz.data.simulate.cosmos.draw_calibrated_params
assembles the galaxy's parameters).
"""

from __future__ import annotations

import numpy as np

from photoz.data.simulate.calibration import EBV_FIT, POS_STEP, Calibration
from photoz.data.simulate.templates import cosmos_library

K_NEIGHBOURS, Z_SCALE, I_SCALE = 16, 0.05, 0.5
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
