"""What dims a galaxy's light on its way to us: dust inside the galaxy and the intergalactic medium.

- Internal dust: the Calzetti et al. (2000, ApJ 533, 682) starburst attenuation law,
  A(λ) = k(λ) E(B−V) with R_V = 4.05, from the maintained `extinction` package
  (`extinction.calzetti00`). The law is defined on 0.12–2.2 µm; outside it k is held at the
  value at the nearest end (shortward of 1200 Å the IGM, below, removes most light anyway).
- IGM: Madau (1995, ApJ 441, 18) mean transmission of the Lyman series (Lyα, β, γ, δ line
  blanketing, his eq. 12 coefficients) and the photoelectric absorption shortward of the Lyman
  limit (the approximation of his footnote 3), as a function of observed wavelength and source
  redshift.
"""

from __future__ import annotations

import numpy as np

R_V = 4.05  # Calzetti et al. 2000, eq. 5
CALZETTI_RANGE_NM = (120.0, 2200.0)
LYMAN_LINES_NM = (121.567, 102.572, 97.254, 94.974)  # Lyα, β, γ, δ
LYMAN_COEFFS = (3.6e-3, 1.7e-3, 1.2e-3, 9.3e-4)  # Madau 1995, A_j
LYMAN_LIMIT_NM = 91.2


def calzetti_k(wave_nm: np.ndarray) -> np.ndarray:
    """k(λ) = A(λ)/E(B−V) of the Calzetti 2000 law at rest wavelengths `wave_nm` (nm)."""
    import extinction

    wave = np.clip(np.asarray(wave_nm, float), *CALZETTI_RANGE_NM)
    flat = np.ascontiguousarray(wave.ravel() * 10.0)  # Å
    return extinction.calzetti00(flat, R_V, R_V).reshape(wave.shape)  # A_V = R_V at E(B−V) = 1


def igm_transmission(wave_obs_nm: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(len(z), len(wave)) Madau 1995 mean IGM transmission exp(−τ) at observed wavelengths for
    sources at redshifts z; 1 longward of Lyα in the source frame."""
    lam = np.asarray(wave_obs_nm, float)[None, :]
    zp1 = 1.0 + np.asarray(z, float)[:, None]
    tau = np.zeros(np.broadcast_shapes(lam.shape, zp1.shape))
    for line, coeff in zip(LYMAN_LINES_NM, LYMAN_COEFFS):
        tau += np.where(lam < line * zp1, coeff * (lam / line) ** 3.46, 0.0)
    xc = lam / LYMAN_LIMIT_NM
    xem = np.broadcast_to(zp1, tau.shape)
    xc_b = np.broadcast_to(xc, tau.shape)
    below = xc_b < xem
    xc_s = np.where(below, xc_b, 1.0)
    cont = (0.25 * xc_s**3 * (xem**0.46 - xc_s**0.46) + 9.4 * xc_s**1.5 * (xem**0.18 - xc_s**0.18)
            - 0.7 * xc_s**3 * (xc_s**-1.32 - xem**-1.32) - 0.023 * (xem**1.68 - xc_s**1.68))
    tau += np.where(below, np.maximum(cont, 0.0), 0.0)
    return np.exp(-tau)
