"""RAIL's cosmoDC2 sample beside photoz's simulated populations, at matched i magnitude and with
cosmoDC2's own photometric noise (used by benchmarks/simulation_validation.py).

The reference: the cosmoDC2 v1.1.4 validation catalogue that LSST DESC's RAIL ships (the training
one calibrates the default population (simulator v5 and v6), so it is held out of every comparison here; the two are
pz-rail-base's examples_data/testdata/test_dc2_training_9816.hdf5 and test_dc2_validation_9816.hdf5:
30,674 galaxies of one healpix pixel, i < 25.3, ugrizy magnitudes with 10-year LSST errors; 99 =
not detected). photoz's galaxies are compared catalogue-level (their true magnitudes, no stamps):

1. noise: per band, cosmoDC2's median magnitude error in 0.2 mag bins of its magnitude (linear in
   log error beyond the last bin with ≥ 20 galaxies) gives a flux error σ_F(m) = F(m) σ_m / 1.0857
   at the true magnitude; the observed flux is F + N(0, σ_F); flux ≤ 0 is 'not detected' (99);
2. selection: observed i < 25.3 as in cosmoDC2, then galaxies are kept with probability ∝ the ratio
   of cosmoDC2's to the simulation's observed-i histogram (0.1 mag bins), so both samples have the
   same i distribution;
3. statistics on both: median colour per Δz = 0.1 bin (colours where both bands are detected), the
   blue fraction per z bin (the colour across the 4000 Å break bluer than midway between the
   COSMOS Ell4 and Sc templates' colours at that z), and a classifier two-sample test: a
   gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier, default settings)
   on u−g, g−r, r−i, i−z, z−y, i and z (NaN where a band is not detected) learns to tell the two
   samples apart on a random half (equal numbers from each) and is scored on the other half;
   accuracy 0.5 = indistinguishable (Lopez-Paz & Oquab 2017), error from the binomial scatter.
   A second C2ST first matches the joint (i, z) distribution too (0.5 mag × 0.1 cells, the
   acceptance ratio capped at its 95th percentile), so that only colours at given (i, z) differ.
"""

from __future__ import annotations

from functools import cache

import numpy as np

BANDS = "ugrizy"
COLOURS = [(a, b) for a, b in zip(BANDS[:-1], BANDS[1:])]
TRAINING, VALIDATION = "test_dc2_training_9816.hdf5", "test_dc2_validation_9816.hdf5"
MAG_LIMIT, NOT_DETECTED = 25.3, 99.0
Z_EDGES = np.round(np.arange(0.0, 3.01, 0.1), 2)


def load_cosmodc2(files: tuple[str, ...] = (VALIDATION,)) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Redshift, magnitudes and magnitude errors per band of RAIL's cosmoDC2 example files (by
    default the validation file only: the training file calibrates the default population, simulator v5 and v6)."""
    import h5py

    from photoz.data.simulate.templates import rail_sed_dir

    testdata = rail_sed_dir().parents[2] / "testdata"
    parts = []
    for name in files:
        with h5py.File(testdata / name) as h5:
            parts.append({k: v[:] for k, v in h5["photometry"].items()})
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    mag = {b: cat[f"mag_{b}_lsst"].astype(float) for b in BANDS}
    err = {b: cat[f"mag_err_{b}_lsst"].astype(float) for b in BANDS}
    return cat["redshift"].astype(float), mag, err


def error_relation(mag: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, median log10 error) of one band, bins of 0.2 mag with >= 20 detected galaxies."""
    ok = mag < 90
    edges = np.arange(14.0, 32.0, 0.2)
    idx = np.digitize(mag[ok], edges)
    centres, med = [], []
    for k in np.unique(idx):
        sel = idx == k
        if sel.sum() >= 20:
            centres.append(edges[k - 1] + 0.1)
            med.append(np.median(np.log10(err[ok][sel])))
    return np.array(centres), np.array(med)


def mag_error(m: np.ndarray, relation: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Magnitude error at magnitudes m: interpolated, extrapolated linearly in log10 error."""
    x, y = relation
    slope_hi = (y[-1] - y[-6]) / (x[-1] - x[-6])
    out = np.interp(m, x, y)
    out = np.where(m > x[-1], y[-1] + slope_hi * (m - x[-1]), out)
    return 10 ** out


def add_noise(rng: np.random.Generator, true_mag: dict[str, np.ndarray], relations: dict) -> dict[str, np.ndarray]:
    """Observed magnitudes (99 where the noisy flux is <= 0) from true ones with cosmoDC2's errors."""
    out = {}
    for b in BANDS:
        flux = 10 ** (-0.4 * true_mag[b])
        sigma = flux * mag_error(true_mag[b], relations[b]) / 1.0857
        noisy = flux + rng.normal(0.0, 1.0, len(flux)) * sigma
        out[b] = np.where(noisy > 0, -2.5 * np.log10(np.maximum(noisy, 1e-300)), NOT_DETECTED)
    return out


def match_histogram(rng: np.random.Generator, sim: np.ndarray, ref: np.ndarray, edges: list[np.ndarray],
                    cap: float = 1.0) -> np.ndarray:
    """Indices of simulated rows (n, d) kept with probability ∝ the reference's (m, d) histogram over
    the simulation's on the grid `edges`, so that the kept ones follow the reference's distribution.
    cap < 1: the ratio is capped at that quantile over the simulated rows (cells the simulation
    hardly fills are then under-represented, instead of the whole sample being thinned for them)."""
    h_ref, _ = np.histogramdd(ref, edges)
    h_sim, _ = np.histogramdd(sim, edges)
    ratio = np.where(h_sim > 0, h_ref / np.maximum(h_sim, 1), 0.0)
    cell = tuple(np.clip(np.digitize(sim[:, d], edges[d]) - 1, 0, len(edges[d]) - 2) for d in range(sim.shape[1]))
    top = ratio.max() if cap >= 1.0 else np.quantile(ratio[cell], cap)
    accept = np.minimum(ratio / top, 1.0)
    inside = np.all([(sim[:, d] >= edges[d][0]) & (sim[:, d] < edges[d][-1]) for d in range(sim.shape[1])], axis=0)
    return np.flatnonzero(inside & (rng.uniform(size=len(sim)) < accept[cell]))


def match_i(rng: np.random.Generator, i_sim: np.ndarray, i_ref: np.ndarray, cap: float = 1.0) -> np.ndarray:
    """Indices of simulated galaxies with i < 25.3 kept so that their i histogram (0.1 mag) follows the
    reference's (cap: as match_histogram's)."""
    return match_histogram(rng, i_sim[:, None], i_ref[:, None], [np.arange(14.0, MAG_LIMIT + 1e-9, 0.1)], cap)


def match_i_z(rng: np.random.Generator, i_sim: np.ndarray, z_sim: np.ndarray, i_ref: np.ndarray, z_ref: np.ndarray) -> np.ndarray:
    """Rows kept so that the joint (i, z) histogram (0.5 mag × 0.1) follows the reference's (ratio
    capped at its 95th percentile)."""
    edges = [np.arange(14.0, MAG_LIMIT + 1e-9, 0.5), np.arange(0.0, 3.61, 0.1)]
    return match_histogram(rng, np.column_stack([i_sim, z_sim]), np.column_stack([i_ref, z_ref]), edges, cap=0.95)


def colours(mag: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 5) colours, NaN where either band is not detected."""
    cols = [np.where((mag[a] < 90) & (mag[b] < 90), mag[a] - mag[b], np.nan) for a, b in COLOURS]
    return np.stack(cols, axis=1)


def median_tracks(z: np.ndarray, col: np.ndarray, min_count: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per Δz = 0.1 bin and colour (bins, 5): median (NaN below min_count galaxies), its standard
    error (1.2533 × 1.4826 MAD / √n, the Gaussian one) and the count."""
    med = np.full((len(Z_EDGES) - 1, col.shape[1]), np.nan)
    err, cnt = np.full_like(med, np.nan), np.zeros_like(med)
    for k, (lo, hi) in enumerate(zip(Z_EDGES[:-1], Z_EDGES[1:])):
        sel = (z >= lo) & (z < hi)
        for c in range(col.shape[1]):
            v = col[sel, c]
            v = v[np.isfinite(v)]
            cnt[k, c] = len(v)
            if len(v) >= min_count:
                med[k, c] = np.median(v)
                err[k, c] = 1.2533 * 1.4826 * np.median(np.abs(v - med[k, c])) / np.sqrt(len(v))
    return med, err, cnt


# the pair of bands across the 4000 Å break per redshift range (upper edges), as indices into COLOURS
BREAK_TOPS, BREAK_COLOURS = np.array([0.73, 1.05, 1.34]), np.array([1, 2, 3, 4])  # g−r, r−i, i−z, z−y above 1.34
BLUE_Z_EDGES = np.round(np.arange(0.2, 2.01, 0.2), 2)


def break_colour(z: np.ndarray) -> np.ndarray:
    """Index into COLOURS of the pair across the 4000 Å break at each redshift."""
    return BREAK_COLOURS[np.searchsorted(BREAK_TOPS, z, side="right")]


@cache
def blue_threshold() -> tuple[np.ndarray, np.ndarray]:
    """(z grid, threshold) of the break colour midway between the COSMOS Ell4 and Sc templates."""
    from photoz.data.simulate.templates import Z_GRID, cosmos_library, tables

    lib = cosmos_library()
    tabs = tables(lib, tuple(BANDS))
    cols = {}
    for name in ("Ell4_A_0", "Sc_A_0"):
        f = tabs[lib.templates.index(name)][0]
        with np.errstate(divide="ignore", invalid="ignore"):  # an elliptical has no flux blueward of Lyα at high z
            cols[name] = -2.5 * np.log10(f[:, :-1] / f[:, 1:])  # (Z, 5)
    mid = 0.5 * (cols["Ell4_A_0"] + cols["Sc_A_0"])
    return Z_GRID, mid[np.arange(len(Z_GRID)), break_colour(Z_GRID)]


def blue_fraction(z: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Fraction per BLUE_Z_EDGES bin whose break colour is bluer than the Ell4/Sc midpoint."""
    grid, thr = blue_threshold()
    c = col[np.arange(len(z)), break_colour(z)]
    blue = c < np.interp(z, grid, thr)
    out = []
    for lo, hi in zip(BLUE_Z_EDGES[:-1], BLUE_Z_EDGES[1:]):
        sel = (z >= lo) & (z < hi) & np.isfinite(c)
        out.append(blue[sel].mean() if sel.sum() else np.nan)
    return np.array(out)


def c2st(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Held-out accuracy (and its binomial error) of a gradient-boosted classifier telling a from b."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    n = min(len(a), len(b))
    x = np.concatenate([a[rng.permutation(len(a))[:n]], b[rng.permutation(len(b))[:n]]])
    y = np.repeat([0, 1], n)
    order = rng.permutation(2 * n)
    train, test = order[: n], order[n:]
    clf = HistGradientBoostingClassifier(random_state=0).fit(x[train], y[train])
    acc = float((clf.predict(x[test]) == y[test]).mean())
    return acc, float(np.sqrt(acc * (1 - acc) / len(test)))


def features(mag: dict[str, np.ndarray], z: np.ndarray) -> np.ndarray:
    """C2ST features: five colours, i and z."""
    return np.column_stack([colours(mag), mag["i"], z])


def observed_sample(rng: np.random.Generator, truth, ref_i: np.ndarray, relations: dict,
                    cap: float = 1.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A simulated truth table as cosmoDC2 would have measured it: noisy, i-matched (cap < 1: the
    acceptance ratio capped at that quantile, so that more galaxies remain)."""
    noisy = add_noise(rng, {b: np.asarray(truth[f"true_mag_{b}"], float) for b in BANDS}, relations)
    keep = match_i(rng, noisy["i"], ref_i, cap)
    return np.asarray(truth["redshift"], float)[keep], {b: noisy[b][keep] for b in BANDS}


def relations_of(mag: dict[str, np.ndarray], err: dict[str, np.ndarray]) -> dict:
    return {b: error_relation(mag[b], err[b]) for b in BANDS}
