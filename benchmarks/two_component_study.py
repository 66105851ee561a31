"""Study (not a simulator option): two-component SEDs, an old population plus a young one per galaxy,
calibrated on cosmoDC2's training file the way simulator version 6's one-template mixture is, and
compared with the held-out validation file as benchmarks/simulation_validation.py compares v6.

    python benchmarks/two_component_study.py            # 40,000 galaxies; ≈ 2 min
    python benchmarks/two_component_study.py --spirals  # old component also Sa, Sb, Sc

cosmoDC2's galaxies are sums of a bulge and a disk star-formation history (Galacticus through FSPS;
Korytov et al. 2019), so the hypothesis was that old + young fits them better than one COSMOS
template mixture. θ = (old template, young template, E(B−V) of the young one, its line strength,
young fraction):

- old: a dust-free Polletta et al. 2007 early type (OLD_TEMPLATES: Ell1, Ell3, Ell5, Ell7, S0);
- young: a BC03 starburst SB0–SB11 or young SSP (YOUNG_TEMPLATES) with Calzetti E(B−V) (EBV_TWO)
  and emission lines (LINE_TWO, photoz.data.simulate.realistic's factor, set by the young UV);
- young fraction f (FRACTIONS) of the dust-free rest-frame 4000–6000 Å light (the templates are
  normalised there: photoz.data.simulate.templates), the old one carrying 1 − f.

f = 0 and f = 1 appear once (their other component would be degenerate): 6,515 grid points. Each
training galaxy's likelihood over the grid (normalisation profiled), the EM per (z, i) cell for the
deconvolved prior (photoz.data.simulate.calibration.deconvolve), each galaxy's posterior kept
sparse (its TOP_K most probable points); a simulated galaxy draws θ from a random one of its 16
nearest training galaxies in (z, i), jittered inside the grid cell. No template repair. Prints,
for the SEDs at the training galaxies' own (z, i) and for galaxies drawn with v6's n(z | i): the
median-colour bins off by > 0.1 mag and the C2ST (docs/data.md has the numbers).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoz.data.simulate.calibration import BANDS, CHUNK, EBV_FIT, _bases, cells, deconvolve, read_training
from photoz.data.simulate.realistic import UV_NM
from photoz.data.simulate.templates import cosmos_library, photons_at

OLD_TEMPLATES = (0, 2, 4, 6, 7)  # Ell1, Ell3, Ell5, Ell7, S0
YOUNG_TEMPLATES = tuple(range(19, 33))  # SB0 … SB11, 25 Myr and 5 Myr SSPs
EBV_TWO = (0.0, 0.1, 0.2, 0.35, 0.5)  # on calibration.EBV_FIT
LINE_TWO = (0.0, 1.0, 3.0)
FRACTIONS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 1.0)
TOP_K = 64


@dataclass(frozen=True, eq=False)
class TwoComponentCalibration:
    """Training galaxies' (z, i), the θ grid and each galaxy's sparse posterior over it."""

    z: np.ndarray  # (N,)
    i_mag: np.ndarray  # (N,)
    old: np.ndarray  # (G,) template index of the old component
    young: np.ndarray  # (G,) template index of the young component
    ebv: np.ndarray  # (G,) E(B−V) of the young component
    lines: np.ndarray  # (G,) line strength of the young component
    frac: np.ndarray  # (G,) young fraction of the 4000–6000 Å light
    post_index: np.ndarray  # (N, TOP_K) int32 grid indices, most probable first
    post_weight: np.ndarray  # (N, TOP_K) float32, rows sum to 1
    cell: np.ndarray  # (N,)
    prior: np.ndarray  # (cells, G)
    sha256: str


def grid() -> tuple[np.ndarray, ...]:
    """(old, young, ebv, lines, frac), each (G,): see the module docstring."""
    rows = [(o, YOUNG_TEMPLATES[0], 0.0, 0.0, 0.0) for o in OLD_TEMPLATES]
    young = [(y, e, s) for y in YOUNG_TEMPLATES for e in EBV_TWO for s in LINE_TWO]
    rows += [(OLD_TEMPLATES[0], y, e, s, 1.0) for y, e, s in young]
    rows += [(o, y, e, s, f) for f in FRACTIONS[1:-1] for o in OLD_TEMPLATES for y, e, s in young]
    cols = list(zip(*rows))
    return (np.array(cols[0], int), np.array(cols[1], int), *(np.array(c, float) for c in cols[2:]))


def component_fluxes(z: np.ndarray, old: np.ndarray, young: np.ndarray, ebv: np.ndarray,
                     lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, G, C) band fluxes of unit old and unit young components (young with dust and lines) at
    redshifts z (n,), for the G grid points given by their template, E(B−V) and line arrays (G,)."""
    cont, index, unit = _bases(z)
    e = np.rint(ebv / (EBV_FIT[1] - EBV_FIT[0])).astype(int)
    uv = photons_at(cosmos_library(), UV_NM).astype(np.float32)
    old_f = cont[index[old, 0]]  # (G, n, C)
    young_f = cont[index[young, e]] + (lines * uv[young]).astype(np.float32)[:, None, None] * unit[e]
    return old_f.transpose(1, 0, 2), young_f.transpose(1, 0, 2)


def model_fluxes(z: np.ndarray) -> np.ndarray:
    """(n, G, C) band fluxes of every grid point: (1 − f) old + f young."""
    old, young, ebv, lines, frac = grid()
    fo, fy = component_fluxes(z, old, young, ebv, lines)
    f = frac.astype(np.float32)[None, :, None]
    return (1.0 - f) * fo + f * fy


def log_likelihood(z: np.ndarray, flux: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(N, G) −χ²/2 against every grid point, the normalisation profiled out (≥ 0)."""
    iv = (1.0 / sigma**2).astype(np.float32)
    fiv = (flux * iv).astype(np.float32)
    ff = (flux**2 * iv).sum(1)
    out = None
    for s in range(0, len(z), CHUNK):
        rows = slice(s, s + CHUNK)
        m = model_fluxes(z[rows])
        fm = np.einsum("ngc,nc->ng", m, fiv[rows])
        mm = np.einsum("ngc,ngc,nc->ng", m, m, iv[rows])
        if out is None:
            out = np.empty((len(z), m.shape[1]), np.float32)
        out[rows] = -0.5 * (ff[rows, None] - np.maximum(fm, 0.0) ** 2 / mm)
    return out


def sparse(post: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of each row (most probable first, ties by index), renormalised."""
    k = min(k, post.shape[1])
    idx = np.argpartition(-post, k - 1, axis=1)[:, :k]
    val = np.take_along_axis(post, idx, axis=1)
    order = np.lexsort((idx, -val), axis=1)
    idx, val = np.take_along_axis(idx, order, axis=1), np.take_along_axis(val, order, axis=1)
    return idx.astype(np.int32), (val / val.sum(axis=1, keepdims=True)).astype(np.float32)


def calibrate(path: Path, n_rows: int | None = None) -> TwoComponentCalibration:
    """The two-component calibration from a cosmoDC2 file (deterministic); n_rows: first rows only."""
    z, i_mag, flux, sigma = (a[:n_rows] for a in read_training(path))
    cell = cells(z, i_mag)
    prior, post = deconvolve(log_likelihood(z, flux, sigma), cell)
    idx, val = sparse(post)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return TwoComponentCalibration(z, i_mag, *grid(), idx, val, cell, prior.astype(np.float32), sha)


def draw_grid(rng: np.random.Generator, cal: TwoComponentCalibration, z: np.ndarray, i_mag: np.ndarray) -> np.ndarray:
    """(n,) grid index from the sparse posterior of a random one of the K_NEIGHBOURS nearest training
    galaxies in (z, i) (photoz.data.simulate.calibrated.neighbours)."""
    from photoz.data.simulate.calibrated import K_NEIGHBOURS, neighbours

    nn = neighbours(cal, z, i_mag)  # type: ignore[arg-type]  # reads cal.z and cal.i_mag only
    source = nn[np.arange(len(z)), rng.integers(0, K_NEIGHBOURS, len(z))]
    cdf = np.cumsum(cal.post_weight[source], axis=1, dtype=float)
    pick = np.minimum((cdf < rng.uniform(size=len(z))[:, None] * cdf[:, -1:]).sum(axis=1), cdf.shape[1] - 1)
    return cal.post_index[source, pick]


def _within(rng: np.random.Generator, values: np.ndarray, steps: tuple[float, ...]) -> np.ndarray:
    """Uniform draws between the midpoints around each value on the sorted grid `steps` (ends kept inside)."""
    grid_ = np.asarray(steps, float)
    mids = np.r_[grid_[0], 0.5 * (grid_[1:] + grid_[:-1]), grid_[-1]]
    k = np.searchsorted(grid_, values - 1e-9)
    return rng.uniform(mids[k], mids[k + 1])


def draw_params(rng: np.random.Generator, cal: TwoComponentCalibration, z: np.ndarray, i_mag: np.ndarray,
                line_ew_scale: float) -> dict[str, np.ndarray]:
    """Per galaxy: old and young template weights (n, T) with their shares (1 − f, f) in them,
    young E(B−V) and line strength, jittered within the grid cell; f in "frac"."""
    from photoz.data.simulate.calibrated import LINE_JITTER_DEX
    from photoz.data.simulate.cosmos import _weights

    n_t = len(cosmos_library().templates)
    g = draw_grid(rng, cal, z, i_mag)
    frac = _within(rng, cal.frac[g], FRACTIONS)
    ebv = _within(rng, cal.ebv[g], EBV_TWO)
    lines = cal.lines[g] * 10 ** rng.uniform(-LINE_JITTER_DEX, LINE_JITTER_DEX, len(g))
    old_pos = np.clip(cal.old[g] + rng.uniform(-0.5, 0.5, len(g)), OLD_TEMPLATES[0], OLD_TEMPLATES[-1])
    young_pos = np.clip(cal.young[g] + rng.uniform(-0.5, 0.5, len(g)), YOUNG_TEMPLATES[0], YOUNG_TEMPLATES[-1])
    return {"bulge_w": (1.0 - frac)[:, None] * _weights(old_pos, n_t), "disk_w": frac[:, None] * _weights(young_pos, n_t),
            "ebv": ebv, "lines": line_ew_scale * lines, "frac": frac, "old_pos": old_pos, "young_pos": young_pos}


def evaluate(name: str, cal: TwoComponentCalibration, z: np.ndarray, i_mag: np.ndarray, rng: np.random.Generator,
             seed: int = 1) -> None:
    """Noise, i-matching, median tracks and C2ST against the validation file, as simulation_validation
    does (θ drawn with `rng`; noise, matching and classifier on a fresh generator of `seed`, as there)."""
    import cosmodc2_reference as ref
    from astropy.table import Table

    from photoz.data.format import NJY_ZP
    from photoz.data.simulate.realistic import sed_fluxes

    z_ref, mag_ref, err_ref = ref.load_cosmodc2()
    med_ref, _, cnt_ref = ref.median_tracks(z_ref, ref.colours(mag_ref))
    truth = Table({"redshift": z})
    old, young = sed_fluxes(truth, draw_params(rng, cal, z, i_mag, 1.0), BANDS, cosmos_library())
    total = (old + young) * (10 ** (-0.4 * (i_mag - NJY_ZP)) / (old + young)[:, BANDS.index("i")])[:, None]
    for j, band in enumerate(BANDS):
        truth[f"true_mag_{band}"] = NJY_ZP - 2.5 * np.log10(total[:, j])
    rng = np.random.default_rng(seed)
    zz, mag = ref.observed_sample(rng, truth, mag_ref["i"], ref.relations_of(mag_ref, err_ref))
    med, _, cnt = ref.median_tracks(zz, ref.colours(mag))
    rows = (ref.Z_EDGES[:-1] >= 0.2 - 1e-9) & (ref.Z_EDGES[1:] <= 2.0 + 1e-9)
    used = (cnt >= 50) & (cnt_ref >= 50) & rows[:, None]
    delta = np.where(used, med - med_ref, 0.0)
    off = (np.abs(delta) > 0.1).sum(axis=0)
    worst = np.argmax(np.abs(delta), axis=0)
    acc, err = ref.c2st(rng, ref.features(mag, zz), ref.features(mag_ref, z_ref))
    print(f"{name}: {len(zz)} after noise and i-matching; {int(off.sum())}/{int(used.sum())} bins off by > 0.1 mag "
          f"(u−g g−r r−i i−z z−y: {' '.join(str(int(o)) for o in off)}); C2ST {acc:.3f} ± {err:.3f}; worst Δ median: "
          + ", ".join(f"{delta[k, c]:+.2f} (z {ref.Z_EDGES[k]:.1f})" for c, k in enumerate(worst)), flush=True)


def main() -> None:
    global OLD_TEMPLATES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40000, help="galaxies drawn with v6's n(z | i)")
    ap.add_argument("--spirals", action="store_true", help="old component also Sa, Sb, Sc (10,298 grid points)")
    args = ap.parse_args()
    if args.spirals:
        OLD_TEMPLATES = (*OLD_TEMPLATES, 8, 10, 12)
    from photoz.data.schema import LsstSimData
    from photoz.data.simulate import calibrated
    from photoz.data.simulate.calibration import training_path
    from photoz.data.simulate.population import draw_i_mag

    from photoz.data.simulate.truth import TAG_POPULATION

    cal = calibrate(training_path())
    print(f"two-component calibration: {len(cal.old)} grid points, {len(cal.z)} training galaxies")
    rng = np.random.default_rng(1)
    evaluate("SEDs at the training galaxies' own (z, i)", cal, np.tile(cal.z, 2), np.tile(cal.i_mag, 2), rng)
    rng = np.random.default_rng([0, TAG_POPULATION])  # make_truth's stream: the same i as v6's 40,000 in the benchmark
    i_mag = draw_i_mag(rng, args.n, LsstSimData.mag_min, LsstSimData.mag_limit)
    evaluate(f"{args.n} drawn with v6's n(z | i)", cal, calibrated.draw_redshift(rng, cal, i_mag), i_mag, rng)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
