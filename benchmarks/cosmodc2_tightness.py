"""How tight a population's colour–redshift relation is, beside cosmoDC2's (used by
benchmarks/simulation_validation.py; the samples, noise and i-matching of cosmodc2_reference).

Median colour tracks and the classifier two-sample test can pass while the relation is looser
than cosmoDC2's: a smooth density puts a little scatter into every colour at once. Two measures:

1. spread_ratios: per Δz = 0.2 bin and colour, the simulation's 1.4826 × MAD of the colour among
   galaxies in an i range over cosmoDC2's (1 = as broad);
2. difficulty: the photo-z a catalogue code reaches on each sky with the same training size. A
   random forest (scikit-learn, 200 trees, min_samples_leaf 3, seed 0) on i and the five colours
   (non-detections at 30 mag) is trained on cosmoDC2's training file (10,225 galaxies) and scored
   on its validation file; for a simulation, on as many of its galaxies (noisy and i-matched as in
   cosmodc2_reference, the acceptance ratio capped at its 95th percentile so that enough remain)
   and scored on the rest. σ_MAD of (z_phot − z) / (1 + z) per true-i bin, with its bootstrap
   standard error; a ratio above 1 means the simulation is the harder sky.
"""

from __future__ import annotations

import numpy as np

import cosmodc2_reference as ref
from photoz.predictions.metrics import delta_z, sigma_mad

SPREAD_I_BINS = ((17.0, 22.0), (22.0, 24.0), (24.0, 25.3))
DIFFICULTY_I_BINS = ((17.0, 22.0), (22.0, 23.0), (23.0, 24.0), (24.0, 25.3), (17.0, 25.3))


def nmad(v: np.ndarray) -> float:
    """1.4826 × the median absolute deviation of the finite values (a colour has NaN where undetected)."""
    return sigma_mad(v[np.isfinite(v)])


def spread_ratios(z: np.ndarray, col: np.ndarray, i_mag: np.ndarray, z_ref: np.ndarray, col_ref: np.ndarray,
                  i_ref: np.ndarray, i_range: tuple[float, float], min_count: int = 50) -> np.ndarray:
    """(Δz = 0.2 bins from 0.2 to 2, 5): the simulation's colour NMAD over cosmoDC2's at fixed z and
    i in i_range; NaN where either has fewer than min_count galaxies."""
    out = np.full((len(ref.BLUE_Z_EDGES) - 1, col.shape[1]), np.nan)
    for k, (lo, hi) in enumerate(zip(ref.BLUE_Z_EDGES[:-1], ref.BLUE_Z_EDGES[1:])):
        sim = (z >= lo) & (z < hi) & (i_mag >= i_range[0]) & (i_mag < i_range[1])
        obs = (z_ref >= lo) & (z_ref < hi) & (i_ref >= i_range[0]) & (i_ref < i_range[1])
        if sim.sum() >= min_count and obs.sum() >= min_count:
            out[k] = [nmad(col[sim, c]) / nmad(col_ref[obs, c]) for c in range(col.shape[1])]
    return out


def forest_features(mag: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 6): i and the five colours, a non-detection at 30 mag."""
    m = np.stack([np.where(mag[b] < 90, mag[b], 30.0) for b in ref.BANDS], axis=1)
    return np.concatenate([m[:, 3:4], m[:, :-1] - m[:, 1:]], axis=1)


def sigma_per_bin(rng: np.random.Generator, z_phot: np.ndarray, z: np.ndarray, i_mag: np.ndarray,
                  boots: int = 200) -> list[tuple[float, float, int]]:
    """Per DIFFICULTY_I_BINS: σ_MAD, its bootstrap standard error, the count."""
    dz = delta_z(z_phot, z)
    out = []
    for lo, hi in DIFFICULTY_I_BINS:
        d = dz[(i_mag >= lo) & (i_mag < hi)]
        draws = [sigma_mad(d[rng.integers(0, len(d), len(d))]) for _ in range(boots)]
        out.append((sigma_mad(d), float(np.std(draws)), len(d)))
    return out


def difficulty(rng: np.random.Generator, train: tuple[np.ndarray, dict], test: tuple[np.ndarray, dict]) -> list:
    """sigma_per_bin of a random forest trained on `train` (z, magnitudes) and scored on `test`."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(200, min_samples_leaf=3, n_jobs=1, random_state=0)
    forest.fit(forest_features(train[1]), train[0])
    return sigma_per_bin(rng, forest.predict(forest_features(test[1])), test[0], test[1]["i"])


def simulated_split(rng: np.random.Generator, truth, i_ref: np.ndarray, relations: dict, n_train: int):
    """A simulated truth table as cosmoDC2 would measure it (noise, i-matched with the ratio capped at
    its 95th percentile), shuffled and cut into n_train training galaxies and the rest: ((z, mag), (z, mag))."""
    z, mag = ref.observed_sample(rng, truth, i_ref, relations, cap=0.95)
    order = rng.permutation(len(z))
    return tuple((z[k], {b: mag[b][k] for b in ref.BANDS}) for k in (order[:n_train], order[n_train:]))


def print_spread(z: np.ndarray, mag: dict, z_ref: np.ndarray, mag_ref: dict) -> None:
    """The colour spread at fixed z against cosmoDC2's, per i range: median and widest ratio."""
    col, col_ref = ref.colours(mag), ref.colours(mag_ref)
    parts = []
    for i_range in SPREAD_I_BINS:
        r = spread_ratios(z, col, mag["i"], z_ref, col_ref, mag_ref["i"], i_range)
        k, c = np.unravel_index(np.nanargmax(r), r.shape)
        a, b = ref.COLOURS[c]
        parts.append(f"i {i_range[0]:g}–{i_range[1]:g}: median {np.nanmedian(r):.2f}, widest {r[k, c]:.2f} "
                     f"({a}−{b}, z {ref.BLUE_Z_EDGES[k]:.1f}–{ref.BLUE_Z_EDGES[k + 1]:.1f})")
    print("  colour spread at fixed z / cosmoDC2's (1.4826 MAD, Δz = 0.2, ≥ 50 galaxies each): " + "; ".join(parts))


def print_difficulty(rng: np.random.Generator, truth, relations: dict, i_ref: np.ndarray, n_train: int,
                     reference: list) -> None:
    """σ_MAD of a random forest trained on n_train simulated galaxies (as many as cosmoDC2's training
    file), per i bin, and its ratio to the forest's on cosmoDC2 (`reference`)."""
    sim_train, sim_test = simulated_split(rng, truth, i_ref, relations, n_train)
    ours = difficulty(rng, sim_train, sim_test)
    print(f"  random forest on {len(sim_train[0])} of them, scored on {len(sim_test[0])}, σ_MAD per i bin (/ cosmoDC2's): " + "; ".join(
        f"{lo:g}–{hi:g}: {s:.4f} ± {e:.4f} ({s / r[0]:.2f})"
        for (lo, hi), (s, e, _), r in zip(DIFFICULTY_I_BINS, ours, reference)))
