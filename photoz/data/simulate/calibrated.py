"""Redshifts and SED parameters of the default population (data.sed_population=cosmodc2, simulator
versions 5 and 6): drawn from distributions calibrated on cosmoDC2's training sample
(photoz.data.simulate.calibration, cached by photoz.data.simulate.calibration_cache).

Redshift (version 6): a galaxy of magnitude i takes a random training galaxy with |i_train − i| <
Z_WINDOW_MAG (the Z_MIN_NEIGHBOURS nearest in i where fewer are that close) and that galaxy's
redshift plus Gaussian smoothing of Z_BANDWIDTH (1 + z), reflected at 0: a kernel estimate of
cosmoDC2's n(z | i). The true redshifts need no deconvolution; window and bandwidth maximise the
two-fold cross-validated likelihood of the training file's own redshifts (docs/data.md).

A galaxy at (z, i) takes one of its K_NEIGHBOURS nearest training galaxies in (z / Z_SCALE,
i / I_SCALE), draws a grid point θ = (template position, E(B−V), line strength) from that galaxy's
deconvolved posterior, and jitters it within the grid cell (position ± POS_STEP/2, E(B−V) ± half
a step where the mixture has a BC03 template, line strength × 10^U(−0.1, 0.1)), so the galaxies are
new ones with physical SEDs while their population statistics are cosmoDC2's. Bulge and disk share
that SED (the fit constrains the total light only; photoz.data.simulate.cosmos.draw_calibrated_params
assembles the galaxy's parameters).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from photoz.data.simulate.calibration import EBV_FIT, POS_STEP, Calibration
from photoz.data.simulate.templates import cosmos_library

K_NEIGHBOURS, Z_SCALE, I_SCALE = 16, 0.05, 0.5
Z_WINDOW_MAG, Z_MIN_NEIGHBOURS, Z_BANDWIDTH = 0.5, 64, 0.03
Z_MIN, Z_MAX = 0.01, 3.5
LINE_JITTER_DEX = 0.1
CHUNK = 4096


class TrainingSample(Protocol):
    """What the redshift draw reads of a calibration: the training galaxies' redshift and i magnitude."""

    z: np.ndarray
    i_mag: np.ndarray


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


def redshift_sources(cal: TrainingSample, i_mag: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training galaxies a galaxy of magnitude i draws its redshift from: (order, lo, hi), rows
    order[lo:hi] of the calibration sorted by i (|Δi| < Z_WINDOW_MAG, at least Z_MIN_NEIGHBOURS)."""
    order = np.argsort(cal.i_mag, kind="stable")
    sorted_i = cal.i_mag[order]
    n_min = min(Z_MIN_NEIGHBOURS, len(order))
    lo = np.searchsorted(sorted_i, i_mag - Z_WINDOW_MAG)
    hi = np.searchsorted(sorted_i, i_mag + Z_WINDOW_MAG)
    few = hi - lo < n_min
    centre = np.clip(np.searchsorted(sorted_i, i_mag) - n_min // 2, 0, len(order) - n_min)
    return order, np.where(few, centre, lo), np.where(few, centre + n_min, hi)


def draw_redshift(rng: np.random.Generator, cal: TrainingSample, i_mag: np.ndarray) -> np.ndarray:
    """(n,) redshifts from the kernel estimate of the training sample's n(z | i) (module docstring)."""
    order, lo, hi = redshift_sources(cal, np.asarray(i_mag, float))
    z = cal.z[order[lo + (rng.uniform(size=len(lo)) * (hi - lo)).astype(int)]]
    z = np.abs(z + Z_BANDWIDTH * (1.0 + z) * rng.normal(size=len(z)))
    return np.clip(z, Z_MIN, Z_MAX)
