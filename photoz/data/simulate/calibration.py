"""The SED population of simulator version 5 (data.sed_population=cosmodc2), calibrated on the
training sample of LSST DESC's cosmoDC2 that RAIL ships (test_dc2_training_9816.hdf5; the
validation file is never read here: benchmarks/simulation_validation.py holds it out).

The simulator's own SED parametrisation, one point θ of a grid per galaxy:
- a position p on the COSMOS template list (0 = Ell1 … 18 = Sdm … 30 = SB11, 31–32 the young
  SSPs; photoz.data.simulate.templates), in steps of POS_STEP, mixing templates ⌊p⌋ and ⌊p⌋ + 1
  linearly in flux;
- Calzetti E(B−V) on the BC03 templates (EBV_FIT), only where the mixture has one;
- an emission-line strength (LINE_FIT, the factor of photoz.data.simulate.realistic's lines).

Each training galaxy's ugrizy fluxes (cosmoDC2's magnitudes and errors; a non-detection is flux 0
with the band's background error) are compared at its known redshift with every θ, the
normalisation fitted (χ² profiled over it). The distribution of θ given (z, i) is then the
deconvolved one: an EM (the non-parametric maximum likelihood of a mixture; Laird 1978) in cells of
Δz = Z_CELL × I_CELLS i-quantiles per z bin finds the prior π_cell(θ) whose noisy photometry best
explains the galaxies, and each galaxy's posterior π_cell(θ) L(θ) is kept. A simulated galaxy at
(z, i) picks one of its K_NEIGHBOURS nearest training galaxies in (z, i) and draws θ from that
galaxy's posterior (photoz.data.simulate.calibrated): so the drawn θ follow the calibrated
distribution, with cosmoDC2's noise deconvolved rather than added twice.

Deterministic; ~15 s on a loaded 2-core machine, so photoz.data.simulate.calibration_cache keeps it
by a hash of every input and of this code. `Calibration.sha256` is the training file's hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoz.data.format import NJY_ZP
from photoz.data.simulate.realistic import LINES, OII_PER_UV_NM, STAR_OVER_GAS, UV_NM
from photoz.data.simulate.templates import EBV_GRID, Z_GRID, cosmos_library, photons_at, rail_sed_dir, tables
from photoz.physics.attenuation import calzetti_k
from photoz.physics.sed import band_table, throughput

TRAINING_FILE = "test_dc2_training_9816.hdf5"
BANDS = tuple("ugrizy")
POS_STEP = 0.5
EBV_FIT = EBV_GRID[EBV_GRID <= 0.6 + 1e-9]  # 0 … 0.6 in steps of 0.05
LINE_FIT = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
Z_CELL, I_CELLS, EM_ITERATIONS = 0.1, 3, 30
CHUNK = 1024
# template repair: ln correction at rest-frame wavelengths (nm), per group of template positions
REPAIR_NODES = np.exp(np.linspace(np.log(90.0), np.log(1100.0), 16))
GROUP_EDGES = np.array([7.5, 18.5])  # Ell1–S0 | Sa–Sdm | BC03 starbursts and SSPs
REPAIR_ITERATIONS, REPAIR_MIN_SNR, REPAIR_CLIP = 3, 5.0, 0.5
POSTERIOR_FLOOR = 1e-5


@dataclass(frozen=True, eq=False)
class Calibration:
    """Training galaxies' (z, i), the θ grid and each galaxy's posterior over it."""

    z: np.ndarray  # (N,)
    i_mag: np.ndarray  # (N,)
    pos: np.ndarray  # (G,) template-list position
    ebv: np.ndarray  # (G,)
    lines: np.ndarray  # (G,) line strength
    posterior: np.ndarray  # (N, G) float32, rows sum to 1
    cell: np.ndarray  # (N,) EM cell of each galaxy
    prior: np.ndarray  # (cells, G) the deconvolved distribution per cell
    repair: np.ndarray  # (len(GROUP_EDGES) + 1, len(REPAIR_NODES)) ln correction of the templates
    sha256: str


def training_path() -> Path:
    """The cosmoDC2 training file inside the installed RAIL package."""
    return rail_sed_dir().parents[2] / "testdata" / TRAINING_FILE


def theta_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pos, ebv, lines), each (G,): every position × line strength, × E(B−V) only where the mix has a BC03 template."""
    lib = cosmos_library()
    rows = []
    for p in np.arange(0.0, len(lib.templates) - 1 + 1e-9, POS_STEP):
        lo = min(int(p), len(lib.templates) - 2)
        dusty = lib.dusty[lo] or (p > lo and lib.dusty[lo + 1])
        rows += [(p, e, s) for e in (EBV_FIT if dusty else [0.0]) for s in LINE_FIT]
    return tuple(np.array(c, float) for c in zip(*rows))  # type: ignore[return-value]


def read_training(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Redshift, i magnitude, (N, 6) fluxes and flux errors in nJy of a cosmoDC2 file (99 = not
    detected: flux 0, error = the band's median background error σ_F = F σ_m / 1.0857)."""
    import h5py

    with h5py.File(path, "r") as h5:
        cat = {k: v[:] for k, v in h5["photometry"].items()}
    mag = np.stack([cat[f"mag_{b}_lsst"] for b in BANDS], axis=1).astype(float)
    err = np.stack([cat[f"mag_err_{b}_lsst"] for b in BANDS], axis=1).astype(float)
    detected = mag < 90
    flux = np.where(detected, 10 ** (-0.4 * (np.where(detected, mag, 0.0) - NJY_ZP)), 0.0)
    sigma = flux * err / 1.0857
    background = np.array([np.median(sigma[detected[:, c], c]) for c in range(len(BANDS))])
    sigma = np.where(detected, np.maximum(sigma, 1e-3 * flux), background)
    return cat["redshift"].astype(float), mag[:, BANDS.index("i")], flux, sigma


def _line_unit(z: np.ndarray) -> np.ndarray:
    """(E, n, C) band flux of the emission lines per unit rest-frame UV photon density and unit
    strength, for each E(B−V) of EBV_FIT (nebular attenuation E(B−V)/0.44)."""
    out = np.zeros((len(EBV_FIT), len(z), len(BANDS)))
    for wave, ratio in LINES.values():
        gas = 10.0 ** (-0.4 * float(calzetti_k(np.array(wave))) * EBV_FIT / STAR_OVER_GAS)
        band = np.stack([throughput(b, wave * (1.0 + z)) for b in BANDS], axis=1) * (1.0 + z)[:, None]
        out += (ratio * OII_PER_UV_NM * wave / UV_NM) * gas[:, None, None] * band[None]
    return out


def _bases(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuum band fluxes (K, n, C) of every (template, E(B−V)) pair K, the index of the pair
    per (template, E(B−V) index) (T, E), and the lines per unit UV photon density (E, n, C)."""
    lib = cosmos_library()
    zz = np.clip(z, Z_GRID[0], Z_GRID[-1] - 1e-6) / (Z_GRID[1] - Z_GRID[0])
    z0, fz = zz.astype(int), (zz - zz.astype(int))[None, :, None]
    n_e = len(EBV_FIT)
    cont, index = [], np.zeros((len(lib.templates), n_e), int)
    for t, g in enumerate(tables(lib, BANDS)):
        rows = g[:n_e] if lib.dusty[t] else g[:1]
        index[t] = len(cont) + (np.arange(n_e) if lib.dusty[t] else 0)
        cont.extend(rows[:, z0] * (1 - fz) + rows[:, z0 + 1] * fz)
    return np.array(cont, np.float32), index, _line_unit(z).astype(np.float32)


def model_fluxes(z: np.ndarray, grid: slice = slice(None)) -> np.ndarray:
    """(n, G, C) band fluxes of the θ of theta_grid()[grid] at redshifts z (templates normalised alike)."""
    lib = cosmos_library()
    pos, ebv, lines = (a[grid] for a in theta_grid())
    cont, index, unit = _bases(z)
    e = np.rint(ebv / (EBV_GRID[1] - EBV_GRID[0])).astype(int)
    lo = np.minimum(pos.astype(int), len(lib.templates) - 2)
    f = (pos - lo).astype(np.float32)[:, None, None]
    uv = photons_at(lib, UV_NM)
    line_w = (lines * ((1 - f[:, 0, 0]) * uv[lo] + f[:, 0, 0] * uv[lo + 1])).astype(np.float32)[:, None, None]
    out = (1 - f) * cont[index[lo, e]] + f * cont[index[lo + 1, e]] + line_w * unit[e]  # (G, n, C)
    return out.transpose(1, 0, 2)


def effective_nm(band: str) -> float:
    """Photon-weighted mean wavelength (nm) of an LSST band."""
    wave, thru = band_table(band)
    return float(np.trapezoid(thru * wave, wave) / np.trapezoid(thru, wave))


def repair_factors(repair: np.ndarray, z: np.ndarray, bands: tuple[str, ...]) -> np.ndarray:
    """(n, groups, C) multiplicative template corrections at each band's rest-frame effective wavelength."""
    rest = np.log(np.array([effective_nm(b) for b in bands])[None, :] / (1.0 + z[:, None]))
    return np.exp(np.stack([np.interp(rest, np.log(REPAIR_NODES), r) for r in repair], axis=1))


def group_of(pos: np.ndarray) -> np.ndarray:
    """Template group (repair curve) of template-list positions."""
    return np.searchsorted(GROUP_EDGES, pos)


def log_likelihood(z: np.ndarray, flux: np.ndarray, sigma: np.ndarray, repair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, G) −χ²/2 of each galaxy against each θ, the normalisation profiled out (≥ 0):
    χ² = Σ f²/σ² − max(Σ f m/σ², 0)² / Σ m²/σ²; and (N, C) the best θ's model flux, scaled."""
    group = group_of(theta_grid()[0])
    iv = (1.0 / sigma**2).astype(np.float32)
    fiv = (flux * iv).astype(np.float32)
    ff = (flux**2 * iv).sum(1)
    out, best = np.empty((len(z), len(group)), np.float32), np.empty(flux.shape)
    for s in range(0, len(z), CHUNK):
        rows = slice(s, s + CHUNK)
        m = model_fluxes(z[rows]) * repair_factors(repair, z[rows], BANDS)[:, group].astype(np.float32)  # (n, G, C)
        fm = np.einsum("ngc,nc->ng", m, fiv[rows])
        mm = np.einsum("ngc,ngc,nc->ng", m, m, iv[rows])
        out[rows] = -0.5 * (ff[rows, None] - np.maximum(fm, 0.0) ** 2 / mm)
        k = np.argmax(out[rows], axis=1)
        n = np.arange(len(k))
        best[rows] = m[n, k] * (np.maximum(fm[n, k], 0.0) / mm[n, k])[:, None]
    return out, best


def update_repair(repair: np.ndarray, z: np.ndarray, flux: np.ndarray, sigma: np.ndarray, loglike: np.ndarray,
                  best: np.ndarray) -> np.ndarray:
    """Template repair (Budavári et al. 2000): per group, the weighted mean ln(observed / best-fit
    model flux) of detections with S/N > REPAIR_MIN_SNR, in bins of rest-frame wavelength around
    REPAIR_NODES, added to the correction."""
    group = group_of(theta_grid()[0][np.argmax(loglike, axis=1)])
    rest = np.log(np.array([effective_nm(b) for b in BANDS])[None, :] / (1.0 + z[:, None]))
    good = (flux > REPAIR_MIN_SNR * sigma) & (best > 0)
    ratio = np.clip(np.log(np.where(good, flux, 1.0) / np.where(good, best, 1.0)), -REPAIR_CLIP, REPAIR_CLIP)
    weight = np.where(good, (flux / sigma) ** 2, 0.0)
    node = np.clip(np.rint(np.interp(rest, np.log(REPAIR_NODES), np.arange(len(REPAIR_NODES)))).astype(int), 0, len(REPAIR_NODES) - 1)
    out = repair.copy()
    for gi in range(len(repair)):
        w = weight * (group == gi)[:, None]
        num = np.bincount(node.ravel(), (w * ratio).ravel(), len(REPAIR_NODES))
        den = np.bincount(node.ravel(), w.ravel(), len(REPAIR_NODES))
        out[gi] += np.where(den > 0, num / np.maximum(den, 1e-300), 0.0)
    return out


def cells(z: np.ndarray, i_mag: np.ndarray) -> np.ndarray:
    """(N,) EM cell: z bin of Z_CELL, then I_CELLS i-quantile bins within it (ties by order)."""
    zbin = np.floor(z / Z_CELL).astype(int)
    out = np.empty(len(z), int)
    for b in np.unique(zbin):
        idx = np.flatnonzero(zbin == b)
        rank = np.empty(len(idx), int)
        rank[np.lexsort((idx, i_mag[idx]))] = np.arange(len(idx))
        out[idx] = b * I_CELLS + rank * I_CELLS // len(idx)
    return np.unique(out, return_inverse=True)[1]


def deconvolve(loglike: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EM for the per-cell prior over θ: π ← mean over the cell of π L / Σ π L. Returns (prior, posterior)."""
    order = np.argsort(cell, kind="stable")
    like = np.exp(loglike[order] - loglike[order].max(axis=1, keepdims=True))
    cell = cell[order]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    counts = np.diff(np.r_[starts, len(cell)]).astype(np.float32)[:, None]
    prior = np.full((len(starts), like.shape[1]), 1.0 / like.shape[1], np.float32)
    for _ in range(EM_ITERATIONS):
        post = prior[cell] * like
        post /= post.sum(axis=1, keepdims=True)
        prior = np.add.reduceat(post, starts, axis=0) / counts
    post = np.empty_like(like)
    post[order] = prior[cell] * like
    return prior, post / post.sum(axis=1, keepdims=True)


def calibrate(path: Path, n_rows: int | None = None) -> Calibration:
    """The calibration from a cosmoDC2 file (deterministic); n_rows: its first rows only (tests)."""
    z, i_mag, flux, sigma = (a[:n_rows] for a in read_training(path))
    pos, ebv, lines = theta_grid()
    repair = np.zeros((len(GROUP_EDGES) + 1, len(REPAIR_NODES)))
    for _ in range(REPAIR_ITERATIONS):
        repair = update_repair(repair, z, flux, sigma, *log_likelihood(z, flux, sigma, repair))
    cell = cells(z, i_mag)
    prior, post = deconvolve(log_likelihood(z, flux, sigma, repair)[0], cell)
    post = np.where(post < POSTERIOR_FLOOR, 0.0, post)  # negligible tails dropped: the cache compresses
    post /= post.sum(axis=1, keepdims=True)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Calibration(z, i_mag, pos, ebv, lines, post.astype(np.float32), cell, prior, repair, sha)
