"""The galaxy population of the default data set: magnitudes, redshifts, morphology, sizes.

- i magnitudes follow the LSST Science Book counts, N(<i) ∝ 10^(0.31 i), between data.mag_min
  and data.mag_limit;
- redshift given i (versions 2–5, and data.sed_population=physics; versions 6–8 draw it
  from cosmoDC2's n(z | i) instead: photoz.data.simulate.calibrated) from the Science Book n(z), p(z) ∝ z² exp(−z/z0) with z0(i) = 0.0417 i − 0.744
  for the whole sample brighter than i. Counts rising as 10^(0.31 i) make such a sample dominated
  by galaxies 1/(0.31 ln 10) ≈ 1.4 mag brighter than its limit, so a galaxy of magnitude i draws
  z ~ Gamma(3, z0(i + 1.4)) (z0 floored at 0.03), and the sample to i < 25.3 gets z0 ≈ z0(25.3);
- three classes (early, spiral, late) set the bulge-to-total ratio (in i-band flux) and the disk
  SED type (0 = Sbc … 2 = Im); early types are commoner at bright magnitudes;
- half-light radius √(ab) log-normal around 0.5″ × 10^(−0.1 (i − 22)) × ((1 + 0.5)/(1 + z))^0.5,
  0.2 dex scatter; bulges half the disk radius; axis ratio b/a uniform in [0.2, 1] for disks
  (rounder bulges); position angle uniform.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from astropy.table import Table

COUNT_SLOPE = 0.31  # d log10 N / d i (LSST Science Book §3.7)
MAG_OFFSET = 1.0 / (COUNT_SLOPE * np.log(10))  # ≈ 1.4 mag: mean depth of a sample below its limit
Z_MIN, Z_MAX = 0.01, 3.5


def z0_of_i(i_mag: np.ndarray) -> np.ndarray:
    """Science Book scale of p(z) ∝ z² exp(−z/z0) for the sample brighter than i (floor 0.03)."""
    return np.maximum(0.0417 * np.asarray(i_mag) - 0.744, 0.03)


def draw_i_mag(rng: np.random.Generator, n: int, mag_min: float, mag_limit: float) -> np.ndarray:
    """Inverse-CDF draw from counts dN/di ∝ 10^(0.31 i) on [mag_min, mag_limit]."""
    a = np.log(10) * COUNT_SLOPE
    u = rng.uniform(size=n)
    return np.log(np.exp(a * mag_min) + u * (np.exp(a * mag_limit) - np.exp(a * mag_min))) / a


def draw_morphology(rng: np.random.Generator, i_mag: np.ndarray, z: np.ndarray) -> Table:
    """Bulge fraction, disk SED type and shape of galaxies of given i magnitude and redshift:
    true_bt, true_sed, true_hlr (disk, arcsec), true_q, true_beta (radians), true_bulge_hlr,
    true_bulge_q."""
    n = len(i_mag)
    p_early = np.clip(0.45 - 0.05 * (i_mag - 20.0), 0.15, 0.45)
    u = rng.uniform(size=n)
    early, late = u < p_early, u > 1.0 - 0.2
    bt = np.where(early, rng.uniform(0.6, 1.0, n), np.where(late, rng.uniform(0.0, 0.1, n), rng.uniform(0.1, 0.5, n)))
    sed = np.where(early, rng.uniform(0.0, 0.5, n), np.where(late, rng.uniform(1.0, 2.0, n), rng.uniform(0.0, 1.5, n)))
    median_hlr = 0.5 * 10 ** (-0.1 * (i_mag - 22.0)) * np.sqrt(1.5 / (1.0 + z))
    hlr = np.clip(median_hlr * 10 ** rng.normal(0.0, 0.2, n), 0.05, 2.0)
    q = rng.uniform(0.2, 1.0, n)
    return Table(
        {
            "true_bt": bt,
            "true_sed": sed,
            "true_hlr": hlr,
            "true_q": q,
            "true_beta": rng.uniform(0.0, np.pi, n),
            "true_bulge_hlr": 0.5 * hlr,
            "true_bulge_q": 1.0 - 0.5 * (1.0 - q),
        }
    )


def science_book_redshift(rng: np.random.Generator, i_mag: np.ndarray) -> np.ndarray:
    """Redshifts given i from the Science Book n(z) (module docstring), Z_MIN < z < Z_MAX."""
    z = rng.gamma(3.0, z0_of_i(i_mag + MAG_OFFSET))
    while (bad := (z < Z_MIN) | (z > Z_MAX)).any():  # redraw the rare tails, same law
        z[bad] = rng.gamma(3.0, z0_of_i(i_mag[bad] + MAG_OFFSET))
    return z


RedshiftDraw = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def draw_population(rng: np.random.Generator, n: int, mag_min: float, mag_limit: float,
                    draw_z: RedshiftDraw = science_book_redshift) -> Table:
    """n galaxies' truth: redshift (given i, by `draw_z`), true_mag_i and the draw_morphology columns."""
    i_mag = draw_i_mag(rng, n, mag_min, mag_limit)
    z = draw_z(rng, i_mag)
    truth = draw_morphology(rng, i_mag, z)
    truth.add_column(z, name="redshift", index=0)
    truth.add_column(i_mag, name="true_mag_i", index=1)
    return truth
