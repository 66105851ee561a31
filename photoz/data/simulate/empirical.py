"""Simulator version 7's colours, which version 8 (`data.sed_model=empirical`, the default;
photoz.data.simulate.matched) puts on version 6's galaxies: band fluxes from the deconvolved
distribution of cosmoDC2's training photometry, not from a template family.

Versions 5 and 6 fit cosmoDC2's training galaxies with COSMOS template mixtures, and that family
cannot reproduce cosmoDC2's colours (its galaxies are Galacticus bulge + disk star-formation
histories through FSPS): C2ST 0.67 against the held-out validation file (docs/data.md). Here the
training file's own photometry defines the population, with its noise removed:

- each training galaxy is a point x = (z, i, f_u/f_i, f_g/f_i, f_r/f_i, f_z/f_i, f_y/f_i) (its true
  redshift, its i magnitude, its flux ratios to i; a non-detection is flux 0 with the band's
  background error, as in photoz.data.simulate.calibration.read_training) with the Gaussian noise
  covariance its flux errors give (propagated to the ratios, correlated through f_i; 1e-6 on z);
- extreme deconvolution (photoz.data.simulate.deconvolution; Bovy, Hogg & Roweis 2011) finds the
  N_COMPONENTS-Gaussian mixture whose convolution with each galaxy's noise best explains them: the
  noise-free joint density of (z, i, ratios). N_COMPONENTS maximises the held-out likelihood of a
  two-fold split of the training file (docs/data.md);
- a simulated galaxy with redshift z (version 6's kernel estimate of the training n(z | i):
  photoz.data.simulate.calibrated.draw_redshift) and true i draws its ratios from the mixture
  conditioned on (z, i) (draw_fluxes); ratios below RATIO_FLOOR (the Gaussian tails of undetected
  bands) are set to it.

Only LSST's ugrizy exist. The validation file is never read here. The fit (~3.5 min on a loaded
2-core machine) ships with photoz as SHIPPED (weights, means, covariances; no pickle), recorded
with the training file's sha256, the fit's settings and a digest of the code that fits it
(fit_digest): it is used only when all three match, else the mixture is refitted and cached
(photoz.data.simulate.calibration_cache). `python -m photoz.data.simulate.empirical` refits and
rewrites SHIPPED.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from photoz.data.format import NJY_ZP
from photoz.data.simulate import deconvolution
from photoz.data.simulate.calibration import BANDS, read_training

N_COMPONENTS, ITERATIONS, SEED = 64, 100, 0
REDSHIFT_NOISE = 1e-3  # σ on the (exact) true redshift, so every covariance is invertible
RATIO_FLOOR = 1e-4  # f_band / f_i (10 mag fainter than i)
MAG_PER_LN = 2.5 / np.log(10.0)  # 1.0857
RATIO_BANDS = tuple(b for b in BANDS if b != "i")
SHIPPED = Path(__file__).with_name("empirical_mixture.npz")


@dataclass(frozen=True, eq=False)
class EmpiricalCalibration:
    """Training galaxies' (z, i) (for n(z | i)) and the deconvolved mixture over (z, i, ratios)."""

    z: np.ndarray  # (N,)
    i_mag: np.ndarray  # (N,)
    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, 7)
    covs: np.ndarray  # (K, 7, 7)
    sha256: str


def features(z: np.ndarray, flux: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 7) points (z, i magnitude, RATIO_BANDS flux ratios to i) and their (N, 7, 7) noise
    covariances, from (N, 6) ugrizy fluxes and errors in nJy (i detected)."""
    ii = BANDS.index("i")
    others = [BANDS.index(b) for b in RATIO_BANDS]
    fi, si = flux[:, ii], sigma[:, ii]
    ratio = flux[:, others] / fi[:, None]
    jac = np.zeros((len(z), len(others), len(BANDS)))  # d ratio / d flux
    rows = np.arange(len(z))
    for j, b in enumerate(others):
        jac[rows, j, b] = 1.0 / fi
    jac[:, :, ii] = -ratio / fi[:, None]
    cov = np.zeros((len(z), 7, 7))
    cov[:, 0, 0] = REDSHIFT_NOISE**2
    cov[:, 1, 1] = (MAG_PER_LN * si / fi) ** 2
    cov[:, 2:, 2:] = np.einsum("nib,nb,njb->nij", jac, sigma**2, jac)
    cov[:, 1, 2:] = cov[:, 2:, 1] = MAG_PER_LN * ratio * (si / fi)[:, None] ** 2  # m_i and the ratios share f_i's noise
    return np.column_stack([z, NJY_ZP - 2.5 * np.log10(fi), ratio]), cov


def calibrate(path: Path, n_rows: int | None = None, k: int = N_COMPONENTS, iterations: int = ITERATIONS) -> EmpiricalCalibration:
    """The deconvolved mixture of a cosmoDC2 file's photometry (deterministic); n_rows: first rows only."""
    z, i_mag, flux, sigma = (a[:n_rows] for a in read_training(path))
    keep = flux[:, BANDS.index("i")] > 0
    x, noise = features(z[keep], flux[keep], sigma[keep])
    mix = deconvolution.fit(x, noise, k, iterations, SEED)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return EmpiricalCalibration(z, i_mag, mix.weights, mix.means, mix.covs, sha)


def mixture(cal: EmpiricalCalibration) -> deconvolution.Mixture:
    """The calibration's mixture."""
    return deconvolution.Mixture(cal.weights, cal.means, cal.covs)


def draw_fluxes(rng: np.random.Generator, cal: EmpiricalCalibration, z: np.ndarray, i_mag: np.ndarray,
                bands: list[str]) -> np.ndarray:
    """(n, C) true fluxes in nJy in `bands` (of ugrizy) of galaxies at (z, true i magnitude)."""
    ratio = deconvolution.sample_conditional(rng, mixture(cal), np.column_stack([z, i_mag]), 2)
    ratio = np.insert(np.maximum(ratio, RATIO_FLOOR), BANDS.index("i"), 1.0, axis=1)
    f_i = 10 ** (-0.4 * (np.asarray(i_mag, float) - NJY_ZP))
    return (ratio * f_i[:, None])[:, [BANDS.index(b) for b in bands]]


def settings() -> np.ndarray:
    """What the fit depends on besides the training file and its code: K, iterations, seed, z noise."""
    return np.array([N_COMPONENTS, ITERATIONS, SEED, REDSHIFT_NOISE], float)


def fit_digest() -> str:
    """sha256 of the code the fit runs: the EM module and the functions that read and prepare the
    training galaxies (their source, so that a docstring elsewhere in this module changes nothing)."""
    digest = hashlib.sha256(Path(deconvolution.__file__).read_bytes())
    for function in (read_training, features, calibrate):
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()


def write_shipped(cal: EmpiricalCalibration, file: Path = SHIPPED) -> None:
    """Save the mixture of `cal` (fitted with this module's settings and code) as the shipped one,
    atomically (temp file renamed into place)."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, weights=cal.weights, means=cal.means, covs=cal.covs, sha256=np.array(cal.sha256),
                            settings=settings(), code=np.array(fit_digest()))
    tmp.replace(file)


@cache
def shipped_calibration(path: Path, file: Path = SHIPPED) -> EmpiricalCalibration | None:
    """The shipped mixture with `path`'s (z, i), if it was fitted on this very file with these
    settings and this code; else None (the caller refits), also for a missing or damaged file."""
    try:
        with np.load(file) as data:  # plain arrays only: allow_pickle stays False
            shipped = {k: data[k] for k in ("weights", "means", "covs", "sha256", "settings", "code")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if (str(shipped["sha256"]), str(shipped["code"])) != (sha, fit_digest()) or not np.array_equal(shipped["settings"], settings()):
        return None
    z, i_mag, _, _ = read_training(path)
    return EmpiricalCalibration(z, i_mag, shipped["weights"], shipped["means"], shipped["covs"], sha)


if __name__ == "__main__":  # python -m photoz.data.simulate.empirical: refit on RAIL's training file, rewrite SHIPPED
    from photoz.data.simulate.calibration import training_path

    write_shipped(calibrate(training_path()))
    print(f"wrote {SHIPPED}")
