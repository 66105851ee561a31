"""Galaxy evolution for simulator version 4 (data.sed_model=cosmos): which galaxies are quiescent,
star-forming or starbursts, how much they form stars, how dusty and how large they are.

Every number is a published one (docs/data.md lists them):

- Cosmology: flat ΛCDM, H0 = 70 km/s/Mpc, Ω_m = 0.3 (astropy).
- Quiescent vs star-forming: the red and blue rest-frame B-band luminosity functions of Herbel et
  al. 2017 (JCAP 08, 035; the values SkyPy ships): Schechter, M*(z) = a_M z + b_M, φ*(z) = b_φ
  exp(a_φ z); red a_M = −0.708, b_M = −20.372, a_φ = −0.706, b_φ = 3.51e−3 Mpc⁻³, α = −0.5; blue
  a_M = −0.941, b_M = −20.405, a_φ = −0.103, b_φ = 3.70e−3 Mpc⁻³, α = −1.3 (h = 0.7). At a galaxy's
  (i, z) the quiescent probability is φ_red / (φ_red + φ_blue), each at the B-band absolute magnitude
  its type's k-correction gives (a representative COSMOS template per type).
- Starbursts: 2 % of star-forming galaxies lie more than 4× (0.6 dex) above the main sequence
  (Rodighiero et al. 2011, ApJL 739, L40; nearly constant with z, Schreiber et al. 2015).
- Star formation: the main sequence of Speagle et al. 2014 (ApJS 214, 15), log SFR = (0.84 −
  0.026 t) log M* − (6.51 − 0.11 t), t the age of the Universe in Gyr, 0.2 dex scatter, with the
  slope of 1 (constant sSFR) below log M* = 10.5 that Leja et al. 2015 (ApJ 798, 115) found the
  star-forming sequence must have there (Whitaker et al. 2014 measure it); Speagle's compilation
  constrains masses above ~10^9.5 and its shallow slope extrapolated to dwarfs would overstate
  their sSFR.
- Stellar mass: rest-frame r luminosity (M_sun,r = 4.65 AB, Willmer 2018, ApJS 236, 47) × the
  colour–M/L relation of Roediger & Courteau 2015 (MNRAS 452, 3209; BC03, Chabrier IMF),
  log M/L_r = −0.792 + 1.629 (g − r).
- Dust of star-forming galaxies: Garn & Best 2010 (MNRAS 409, 421), A_Hα = 0.91 + 0.77 X + 0.11 X²
  − 0.09 X³, X = log(M*/10¹⁰ M_sun), 0.3 mag scatter; stellar E(B−V) = 0.44 A_Hα / k(Hα) (Calzetti 2000).
- Sizes: van der Wel et al. 2014 (ApJ 788, 28) Table 1, R_eff = A (M*/5×10¹⁰ M_sun)^α (major axis,
  kpc) for early (quiescent) and late types, log-normal scatter σ, A, α, σ interpolated in z.
"""

from __future__ import annotations

from functools import cache

import numpy as np

H0, OMEGA_M = 70.0, 0.3
# Herbel et al. 2017: (a_M, b_M, a_phi, b_phi, alpha), B band, h = 0.7
LF_RED = (-0.70798041, -20.37196157, -0.70597, 0.0035097, -0.5)
LF_BLUE = (-0.9408582, -20.40492365, -0.10268, 0.00370253, -1.3)
STARBURST_FRACTION, STARBURST_OFFSET_DEX = 0.02, 0.6  # Rodighiero et al. 2011
MS_SCATTER_DEX = 0.2  # Speagle et al. 2014
MS_LOW_MASS_BREAK = 10.5  # Leja et al. 2015: SFR ∝ M* (constant sSFR) below this log mass
ML_R = (-0.792, 1.629)  # Roediger & Courteau 2015, BC03: log M/L_r = a + b (g - r)
M_SUN_R = 4.65  # Willmer 2018, AB
A_HALPHA = (0.91, 0.77, 0.11, -0.09)  # Garn & Best 2010, polynomial in log(M*/1e10)
A_HALPHA_SCATTER = 0.3  # mag, Garn & Best 2010 ("~0.3 mag")
# van der Wel et al. 2014 Table 1: z, then (log A, alpha, sigma log R) for early and late types
VDW_Z = np.array([0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
VDW_EARLY = np.array([[0.60, 0.75, 0.10], [0.42, 0.71, 0.11], [0.22, 0.76, 0.12], [0.09, 0.76, 0.14], [-0.05, 0.76, 0.14], [0.04, 0.79, 0.14]])
VDW_LATE = np.array([[0.86, 0.25, 0.16], [0.78, 0.22, 0.16], [0.70, 0.22, 0.17], [0.65, 0.23, 0.18], [0.55, 0.22, 0.19], [0.51, 0.18, 0.19]])
QUIESCENT, STAR_FORMING, STARBURST = 0, 1, 2


@cache
def _cosmology() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """z grid and, on it, distance modulus, angular diameter distance (kpc per arcsec) and age (Gyr)."""
    from astropy.cosmology import FlatLambdaCDM

    cosmo = FlatLambdaCDM(H0=H0, Om0=OMEGA_M)
    z = np.linspace(0.005, 4.0, 800)
    kpc_per_arcsec = cosmo.angular_diameter_distance(z).to_value("kpc") * np.pi / (180 * 3600)
    return z, cosmo.distmod(z).value, kpc_per_arcsec, cosmo.age(z).to_value("Gyr")


def distance_modulus(z: np.ndarray) -> np.ndarray:
    zg, dm, _, _ = _cosmology()
    return np.interp(z, zg, dm)


def kpc_per_arcsec(z: np.ndarray) -> np.ndarray:
    zg, _, scale, _ = _cosmology()
    return np.interp(z, zg, scale)


def age_gyr(z: np.ndarray) -> np.ndarray:
    zg, _, _, age = _cosmology()
    return np.interp(z, zg, age)


def schechter(mag: np.ndarray, z: np.ndarray, lf: tuple[float, ...]) -> np.ndarray:
    """Galaxies per unit volume and absolute magnitude of a Herbel et al. 2017 luminosity function."""
    a_m, b_m, a_phi, b_phi, alpha = lf
    x = 10.0 ** (-0.4 * (mag - (a_m * z + b_m)))
    return 0.4 * np.log(10.0) * b_phi * np.exp(a_phi * z) * x ** (alpha + 1.0) * np.exp(-x)


def absolute_magnitude(m_obs: np.ndarray, z: np.ndarray, flux_obs: np.ndarray, flux_rest: np.ndarray) -> np.ndarray:
    """Rest-frame absolute magnitude in band Q from the observed magnitude in band R: M_Q = m_R −
    DM(z) + 2.5 log10(1 + z) + 2.5 log10(F_R(z) / F_Q(0)), F the SED's AB band fluxes (photoz.physics.sed)."""
    return m_obs - distance_modulus(z) + 2.5 * np.log10(1.0 + z) + 2.5 * np.log10(flux_obs / flux_rest)


def class_probabilities(m_b_red: np.ndarray, m_b_blue: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities of QUIESCENT, STAR_FORMING, STARBURST for galaxies whose B-band absolute
    magnitude would be m_b_red as a red and m_b_blue as a blue galaxy."""
    red, blue = schechter(m_b_red, z, LF_RED), schechter(m_b_blue, z, LF_BLUE)
    p_q = red / np.maximum(red + blue, 1e-300)
    return np.stack([p_q, (1.0 - p_q) * (1.0 - STARBURST_FRACTION), (1.0 - p_q) * STARBURST_FRACTION], axis=1)


def draw_class(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """(n,) class per galaxy from (n, 3) probabilities."""
    return (rng.uniform(size=len(probabilities))[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1).clip(0, 2)


def log_stellar_mass(m_r_abs: np.ndarray, g_minus_r: np.ndarray) -> np.ndarray:
    """log10 M*/M_sun from rest-frame absolute r magnitude and g − r (Roediger & Courteau 2015)."""
    return -0.4 * (m_r_abs - M_SUN_R) + ML_R[0] + ML_R[1] * g_minus_r


def main_sequence_ssfr(log_mstar: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log10 specific SFR (per yr) on the Speagle et al. 2014 main sequence (Kroupa IMF), constant
    below log M* = MS_LOW_MASS_BREAK (Leja et al. 2015)."""
    t, m = age_gyr(z), np.maximum(log_mstar, MS_LOW_MASS_BREAK)
    return (0.84 - 0.026 * t) * m - (6.51 - 0.11 * t) - m


def draw_ssfr(rng: np.random.Generator, log_mstar: np.ndarray, z: np.ndarray, starburst: np.ndarray) -> np.ndarray:
    """log sSFR of star-forming galaxies: main sequence + 0.2 dex; starbursts ≥ 0.6 dex above it."""
    scatter = rng.normal(0.0, MS_SCATTER_DEX, len(z))
    return main_sequence_ssfr(log_mstar, z) + np.where(starburst, STARBURST_OFFSET_DEX + np.abs(scatter), scatter)


def draw_ebv(rng: np.random.Generator, log_mstar: np.ndarray, k_halpha: float) -> np.ndarray:
    """Stellar E(B−V) of star-forming galaxies from Garn & Best 2010's A_Hα(M*) with its scatter."""
    x = np.clip(log_mstar - 10.0, -2.0, 1.5)  # their fit spans ~10^8.5-10^11.5 M_sun
    a_halpha = sum(c * x**k for k, c in enumerate(A_HALPHA)) + rng.normal(0.0, A_HALPHA_SCATTER, len(x))
    return 0.44 * np.clip(a_halpha, 0.0, None) / k_halpha


def draw_size_kpc(rng: np.random.Generator, log_mstar: np.ndarray, z: np.ndarray, early: np.ndarray) -> np.ndarray:
    """Half-light radius (major axis, kpc) from van der Wel et al. 2014's size–mass relations."""
    out = np.empty(len(z))
    for flag, table in ((True, VDW_EARLY), (False, VDW_LATE)):
        s = early == flag
        log_a, alpha, sigma = (np.interp(z[s], VDW_Z, table[:, k]) for k in range(3))
        out[s] = 10.0 ** (log_a + alpha * (log_mstar[s] - np.log10(5e10)) + rng.normal(0.0, 1.0, s.sum()) * sigma)
    return out
