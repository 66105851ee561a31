"""Validate the simulated LSST set against the published LSST numbers (docs/references.md) and
against LSST DESC's cosmoDC2 sample that RAIL ships, and draw the figures of docs/data.md.

    python benchmarks/simulation_validation.py              # 5,000 stamps, 40,000 catalogue galaxies per model
    python benchmarks/simulation_validation.py --n 20000 --depth y1
    python benchmarks/simulation_validation.py --only-cosmodc2 --n-catalogue 60000
    python benchmarks/simulation_validation.py --only-cosmodc2 --seed 2   # another simulation, noise and split

Prints the 5σ point-source depth measured on simulated stamps per band next to the published
m5 (pass: within 0.3 mag), n(z) and magnitude summaries, and writes sim_nz_imag.png,
sim_colours.png and sim_montage.png. Then compares v8 (data.sed_model=empirical, the default: ugrizy fluxes
from the extreme-deconvolution density of the cosmoDC2 *training* file's photometry, on v6 galaxies matched by colour
rank), v6 (data.sed_model=cosmos, sed_population=cosmodc2: n(z | i) and SEDs calibrated on RAIL's cosmoDC2 *training* file), v5 (the
same SEDs with the LSST Science Book's n(z | i)), v4 (sed_population=physics) and v3 (realistic) with the held-out cosmoDC2 *validation* file catalogue-level (true magnitudes
with cosmoDC2's own noise, at cosmoDC2's i distribution; benchmarks/cosmodc2_reference.py says
exactly how): median colours per Δz = 0.1 bin (pass: within 0.1 mag wherever both have >= 50
galaxies, 0.2 < z < 2), blue fractions and a classifier two-sample test (pass: accuracy <= 0.60;
also on (i, z) alone, and for the training file itself: the floor), plus v6's SEDs placed at the
training galaxies' own (z, i) (the SED model's share of the C2ST), and writes
sim_vs_cosmodc2_tracks.png, sim_vs_cosmodc2_colour_colour.png, sim_vs_cosmodc2_blue_fraction.png.
Needs the rail extra for the COSMOS templates and the cosmoDC2 files.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table
from astropy.visualization import make_lupton_rgb
from omegaconf import OmegaConf

from photoz.data.schema import LsstSimData
from photoz.data.format import NJY_ZP
from photoz.data.simulate.lsst import target_m5
from photoz.data.simulate.render import Renderer, shape_array
from photoz.data.simulate.fluxes import TEMPLATES, Z_GRID, _template_grid
from photoz.data.simulate.truth import make_truth
from photoz.data.source import open_dataset

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
BANDS = list("ugrizy")


def measured_depth(depth: str, trials: int = 400) -> np.ndarray:
    """5σ depth per band: point sources at the published m5 are measured with the PSF-matched
    filter over `trials` noise draws; S/N scales linearly with flux when background-limited."""
    r = Renderer(BANDS, 32, depth, 1.0)
    m5 = np.array([target_m5(b, depth) for b in BANDS])
    point = Table({k: [v] for k, v in zip(("true_hlr", "true_q", "true_beta", "true_bulge_hlr", "true_bulge_q"), (1e-3, 1, 0, 1e-3, 1))})
    unit = r.noiseless(shape_array(point), np.zeros((1, 6)), np.ones((1, 6)))[0]  # (C, S, S), unit flux
    flux = 10 ** (-0.4 * (m5 - NJY_ZP))
    images, _ = r.observe(np.repeat((flux[:, None, None] * unit)[None], trials, 0), np.random.default_rng(0))
    weights = unit / (unit**2).sum(axis=(1, 2), keepdims=True)  # unbiased PSF-weighted flux
    est = (images * weights).sum(axis=(2, 3))
    snr = est.mean(0) / est.std(0)
    return m5 + 2.5 * np.log10(snr / 5.0)


def smail(z: np.ndarray, z0: float = 0.28, alpha: float = 0.90, beta: float = 2.0) -> np.ndarray:
    nz = z**beta * np.exp(-((z / z0) ** alpha))
    return nz / np.trapezoid(nz, z)


def plot_nz_imag(cat: Table, path: Path) -> None:
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    z = np.asarray(cat["redshift"])
    ax[0].hist(z, bins=60, range=(0, 3.5), density=True, histtype="step", lw=2, label="simulated")
    grid = np.linspace(0, 3.5, 200)
    ax[0].plot(grid, smail(grid), "--", label="LSST DESC SRD Y10 (z0=0.28, α=0.9, β=2)")
    ax[0].set(xlabel="redshift", ylabel="n(z)", title=f"n(z), median {np.median(z):.2f}")
    ax[0].legend(fontsize=8)
    mag = np.ma.filled(np.ma.asarray(cat["mag_i"], float), np.nan)
    bins = np.arange(17, 27, 0.25)
    ax[1].hist(np.asarray(cat["true_mag_i"]), bins=bins, histtype="step", lw=2, label="true i")
    ax[1].hist(mag[np.isfinite(mag)], bins=bins, histtype="step", label="measured i (1\" aperture)")
    ax[1].set(xlabel="i (AB)", ylabel="galaxies per 0.25 mag", yscale="log", title="i magnitudes")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_colours(cat: Table, path: Path) -> None:
    pairs = [("g", "r"), ("r", "i"), ("i", "z")]
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    z = np.asarray(cat["redshift"])
    for a, (b1, b2) in zip(ax, pairs):
        f1, f2 = np.asarray(cat[f"flux_{b1}"]), np.asarray(cat[f"flux_{b2}"])
        ok = (f1 > 5 * np.asarray(cat[f"flux_err_{b1}"])) & (f2 > 5 * np.asarray(cat[f"flux_err_{b2}"]))
        a.scatter(z[ok], -2.5 * np.log10(f1[ok] / f2[ok]), s=2, c=np.asarray(cat["true_bt"])[ok], cmap="coolwarm", vmin=0, vmax=1)
        for t in TEMPLATES:
            grid = _template_grid(t, (b1, b2))
            a.plot(Z_GRID, -2.5 * np.log10(grid[:, 0] / grid[:, 1]), lw=1.5, label=f"CWW {t}")
        a.set(xlim=(0, 3), ylim=(-0.5, 2.5), xlabel="redshift", ylabel=f"{b1} − {b2}", title=f"{b1}−{b2} (S/N>5; colour = B/T)")
    ax[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_montage(ds, path: Path, rows: int = 4, cols: int = 8) -> None:
    """gri composites of typical galaxies (21 < i < 23.5), columns in increasing redshift bins,
    each stamp scaled by its own i-band peak so that colour, not brightness, is compared."""
    cat, bands = ds.catalog, ds.bands
    z, i_mag = np.asarray(cat["redshift"]), np.asarray(cat["true_mag_i"])
    edges = np.quantile(z, np.linspace(0, 1, cols + 1))
    fig, ax = plt.subplots(rows, cols, figsize=(cols * 1.4, rows * 1.5))
    for c in range(cols):
        idx = np.flatnonzero((z >= edges[c]) & (z < edges[c + 1]) & (i_mag > 21) & (i_mag < 23.5))[:rows]
        for r, k in enumerate(idx):
            img = np.asarray(ds.images[k], float)
            img = img / img[bands.index("i")].max()
            rgb = make_lupton_rgb(img[bands.index("i")], img[bands.index("r")], img[bands.index("g")], stretch=0.5, Q=8, minimum=0)
            ax[r, c].imshow(rgb, origin="lower")
            ax[r, c].set_title(f"z={z[k]:.2f} i={i_mag[k]:.1f}", fontsize=7)
    for a in ax.ravel():
        a.axis("off")
    fig.suptitle("simulated LSST y10 gri composites, 21 < i < 23.5 (6.4\" stamps), redshift increasing to the right", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_morphology_colour(name: str, truth) -> None:
    """How much morphology follows colour: Pearson r of the true g − z with B/T and with the class."""
    gz = np.asarray(truth["true_mag_g"]) - np.asarray(truth["true_mag_z"])
    parts = [f"B/T {np.corrcoef(gz, truth['true_bt'])[0, 1]:+.3f}"]
    if "true_class" in truth.colnames:
        parts.append(f"class {np.corrcoef(gz, truth['true_class'])[0, 1]:+.3f}")
    print(f"{name}: correlation of the true g − z with " + ", ".join(parts) + f" ({len(gz)} galaxies)")


def compare_with_cosmodc2(n: int, seed: int = 1, sim_seed: int = 0) -> None:
    """v8, v6, v5, v4 and v3 populations beside cosmoDC2: median tracks, colour spread, blue fraction,
    C2ST, a random forest's σ_MAD on each sky (cosmodc2_tightness); figures."""
    import cosmodc2_figures as figs
    import cosmodc2_reference as ref
    import cosmodc2_tightness as tight

    z_ref, mag_ref, err_ref = ref.load_cosmodc2()  # the validation file: held out from the calibration
    z_tr, mag_tr, _ = ref.load_cosmodc2((ref.TRAINING,))
    relations = ref.relations_of(mag_ref, err_ref)
    med_ref, err_med_ref, cnt_ref = ref.median_tracks(z_ref, ref.colours(mag_ref))
    samples = {"cosmoDC2": (z_ref, mag_ref)}
    rows = (ref.Z_EDGES[:-1] >= 0.2 - 1e-9) & (ref.Z_EDGES[1:] <= 2.0 + 1e-9)
    print(f"\ncosmoDC2 (RAIL test_dc2_validation_9816, held out): {len(z_ref)} galaxies, median z {np.median(z_ref):.2f}")
    rng = np.random.default_rng(seed)
    acc, acc_err = ref.c2st(rng, ref.features(mag_tr, z_tr), ref.features(mag_ref, z_ref))
    print(f"C2ST of cosmoDC2's training file against it (two samples of one sky): {acc:.3f} ± {acc_err:.3f}")
    forest_rng = np.random.default_rng([seed, 7])  # its own stream: the statistics above and below stay as they were
    reference = tight.difficulty(forest_rng, (z_tr, mag_tr), (z_ref, mag_ref))
    print("random forest trained on the training file, scored on this one, σ_MAD per i bin: " + "; ".join(
        f"{lo:g}–{hi:g}: {s:.4f} ± {e:.4f} (N={n})" for (lo, hi), (s, e, n) in zip(tight.DIFFICULTY_I_BINS, reference)))
    models = {"v8 (empirical, default)": {"sed_model": "empirical"},
              "v6 (cosmos, cosmodc2)": {"sed_model": "cosmos", "sed_population": "cosmodc2"},
              "v5 (v6 with the Science Book n(z | i))": "v5",
              "v4 (cosmos, physics)": {"sed_model": "cosmos", "sed_population": "physics"},
              "v3 (realistic)": {"sed_model": "realistic"},
              "v6's SEDs at the training galaxies' (z, i)": "at training"}
    for name, over in models.items():
        rng = np.random.default_rng(seed)
        if isinstance(over, dict):
            cfg = OmegaConf.merge(OmegaConf.structured(LsstSimData), {"n_galaxies": n, "seed": sim_seed, **over})
            truth = make_truth(cfg, BANDS)[0]
            print_morphology_colour(name, truth)
        elif over == "v5":  # v5 exactly: the Science Book's z given i, then the calibrated SEDs
            truth = v5_truth(n, sim_seed)
        else:  # the SED model alone: v6's SEDs at cosmoDC2's own (z, i), so only the colours can differ
            truth = at_training_z_i(rng, z_tr, mag_tr["i"])
        z, mag = ref.observed_sample(rng, truth, mag_ref["i"], relations)
        samples[name] = (z, mag)
        med, err_med, cnt = ref.median_tracks(z, ref.colours(mag))
        used = (cnt >= 50) & (cnt_ref >= 50) & rows[:, None]
        delta = np.where(used, med - med_ref, np.nan)
        worst = np.nanargmax(np.abs(delta), axis=0)
        print(f"{name}: {n} drawn, {len(z)} after noise and i-matching; median colour − cosmoDC2's per Δz = 0.1 bin, 0.2 < z < 2:")
        for c, (a, b) in enumerate(ref.COLOURS):
            k = worst[c]
            print(f"  {a}−{b}: {int((np.abs(delta[:, c]) > 0.1).sum())}/{int(used[:, c].sum())} bins off by > 0.1 mag; worst "
                  f"{delta[k, c]:+.2f} ± {np.hypot(err_med[k, c], err_med_ref[k, c]):.2f} at z {ref.Z_EDGES[k]:.1f}–{ref.Z_EDGES[k + 1]:.1f}")
        off = int((np.abs(delta) > 0.1).sum())
        print(f"  all colours: {off}/{int(used.sum())} bins off by > 0.1 mag -> {'PASS' if off == 0 else 'FAIL'} (every bin within 0.1)")
        print("  per bin (u−g g−r r−i i−z z−y): " + "; ".join(
            f"{ref.Z_EDGES[k]:.1f} " + " ".join(f"{d:+.2f}" for d in delta[k]) for k in np.flatnonzero(rows)))
        tight.print_spread(z, mag, z_ref, mag_ref)
        acc, acc_err = ref.c2st(rng, ref.features(mag, z), ref.features(mag_ref, z_ref))
        acc_2d = ref.c2st(rng, ref.features(mag, z)[:, 5:], ref.features(mag_ref, z_ref)[:, 5:])[0]
        keep = ref.match_i_z(rng, mag["i"], z, mag_ref["i"], z_ref)
        acc_iz, acc_iz_err = ref.c2st(rng, ref.features(mag, z)[keep], ref.features(mag_ref, z_ref))
        print(f"  C2ST accuracy (colours + i + z): {acc:.3f} ± {acc_err:.3f} -> {'PASS' if acc <= 0.60 else 'FAIL'} (<= 0.60); "
              f"at matched (i, z): {acc_iz:.3f} ± {acc_iz_err:.3f} ({len(keep)} galaxies); on (i, z) alone: {acc_2d:.3f}")
        tight.print_difficulty(forest_rng, truth, relations, mag_ref["i"], len(z_tr), reference)
    samples.pop("v6's SEDs at the training galaxies' (z, i)")
    blue = {name: ref.blue_fraction(z, ref.colours(mag)) for name, (z, mag) in samples.items()}
    print("blue fraction per Δz = 0.2 from z = 0.2: " + "; ".join(f"{k} " + " ".join(f"{v:.2f}" for v in f) for k, f in blue.items()))
    if (seed, sim_seed) != (1, 0):  # the figures of docs/data.md are the default comparison's
        return
    figs.plot_tracks(samples, FIGURES / "sim_vs_cosmodc2_tracks.png")
    figs.plot_colour_colour(samples, FIGURES / "sim_vs_cosmodc2_colour_colour.png")
    figs.plot_blue_fraction(samples, FIGURES / "sim_vs_cosmodc2_blue_fraction.png")
    print(f"figures: {FIGURES}/sim_vs_cosmodc2_tracks.png, sim_vs_cosmodc2_colour_colour.png, sim_vs_cosmodc2_blue_fraction.png")


def at_training_z_i(rng: np.random.Generator, z: np.ndarray, i_mag: np.ndarray) -> Table:
    """Truth of v6 galaxies (calibrated SEDs) placed at cosmoDC2's training galaxies' (z, i), twice each."""
    from photoz.data.simulate.population import draw_morphology

    z, i_mag = np.tile(z, 2), np.tile(i_mag, 2)
    truth = draw_morphology(rng, i_mag, z)
    truth["redshift"], truth["true_mag_i"] = z, i_mag
    return calibrated_seds(rng, truth)


def v5_truth(n: int, seed: int = 0) -> Table:
    """Simulator version 5's galaxies, as make_truth drew them: i and the Science Book's z given i
    (photoz.data.simulate.population's default), then the calibrated SEDs, one random stream."""
    from photoz.data.simulate.population import draw_population
    from photoz.data.simulate.truth import TAG_POPULATION

    rng = np.random.default_rng([seed, TAG_POPULATION])
    cfg = LsstSimData()
    return calibrated_seds(rng, draw_population(rng, n, cfg.mag_min, cfg.mag_limit))


def calibrated_seds(rng: np.random.Generator, truth: Table) -> Table:
    """truth with true_mag_<band> of the calibrated SEDs (sed_population=cosmodc2) at its (z, i)."""
    from photoz.data.simulate.cosmos import cosmos_fluxes

    bulge, disk = cosmos_fluxes(truth, rng, BANDS, 1.0, "cosmodc2")
    for j, band in enumerate(BANDS):
        truth[f"true_mag_{band}"] = NJY_ZP - 2.5 * np.log10(bulge[:, j] + disk[:, j])
    return truth


def stamps_and_depths(n: int, depth: str) -> None:
    """Depths against LSST's m5, then n(z), magnitudes, colours and a montage of the default set."""
    print("5σ point-source depth (measured on simulated stamps vs published m5)")
    for d in ("y10", "y1", "single_visit"):
        got = measured_depth(d)
        want = np.array([target_m5(b, d) for b in BANDS])
        verdict = "PASS" if np.all(np.abs(got - want) <= 0.3) else "FAIL"
        print(f"  {d:>12}: " + "  ".join(f"{b} {g:.2f} ({g - r:+.2f})" for b, g, r in zip(BANDS, got, want)) + f"  -> {verdict} (|Δ| <= 0.3)")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = OmegaConf.merge(OmegaConf.structured(LsstSimData), {"root": tmp, "n_galaxies": n, "depth": depth})
        ds = open_dataset(cfg)
        cat = ds.catalog
        z = np.asarray(cat["redshift"])
        snr_i = np.asarray(cat["flux_i"]) / np.asarray(cat["flux_err_i"])
        print(
            f"{len(cat)} galaxies ({depth}, sed_model={cfg.sed_model}): median z {np.median(z):.2f}, mean z {z.mean():.2f}, "
            f"z > 1: {np.mean(z > 1):.0%}, z > 2: {np.mean(z > 2):.1%}; median i-band aperture S/N {np.median(snr_i):.0f}, "
            f"S/N < 5: {np.mean(snr_i < 5):.1%}; median true hlr {np.median(cat['true_hlr']):.2f}\"; "
            f"PSF FWHM i median {np.median(cat['psf_fwhm_i']):.3f}\" (16-84 %: {np.percentile(cat['psf_fwhm_i'], 16):.3f}-"
            f"{np.percentile(cat['psf_fwhm_i'], 84):.3f})"
        )
        print(f"SRD Y10 Smail n(z) median z {np.median(np.interp(np.random.default_rng(0).uniform(size=100000), *_cdf())):.2f}")
        plot_nz_imag(cat, FIGURES / "sim_nz_imag.png")
        plot_colours(cat, FIGURES / "sim_colours.png")
        plot_montage(ds, FIGURES / "sim_montage.png")
    print(f"figures: {FIGURES}/sim_nz_imag.png, sim_colours.png, sim_montage.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="stamps of the default set to render")
    ap.add_argument("--depth", default="y10")
    ap.add_argument("--n-catalogue", type=int, default=40000, help="galaxies per model drawn for the cosmoDC2 comparison")
    ap.add_argument("--only-cosmodc2", action="store_true", help="skip the stamps (depths, montage)")
    ap.add_argument("--seed", type=int, default=None,
                    help="cosmoDC2 comparison with data.seed and the noise/classifier seed both = SEED (default: 0 and 1)")
    args = ap.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    if not args.only_cosmodc2:
        stamps_and_depths(args.n, args.depth)
    if args.seed is None:
        compare_with_cosmodc2(args.n_catalogue)
    else:
        compare_with_cosmodc2(args.n_catalogue, args.seed, args.seed)


def _cdf() -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0, 5, 2001)
    cdf = np.cumsum(smail(grid))
    return cdf / cdf[-1], grid


if __name__ == "__main__":
    main()
