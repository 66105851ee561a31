"""Simulator version 8 (data.sed_model=empirical, the default): version 7's ugrizy fluxes drawn from
the extreme-deconvolution density of cosmoDC2's training photometry, on version 6 galaxies matched by
colour rank. The deconvolution removes known noise, conditional draws follow the analytic
conditional Gaussian, the calibration is deterministic and reads the training file only, the noise
model of a galaxy is the hand-propagated one, bulge + disk add up to the drawn i magnitude in the
ratio true_bt, the galaxies are version 6's handed out by colour rank, and the shipped mixture is
used only for the file it was fitted on."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

pytest.importorskip("rail", reason="the empirical model reads RAIL's cosmoDC2 training sample (the rail extra)")

from photoz.data.format import NJY_ZP  # noqa: E402
from photoz.data.schema import LsstSimData  # noqa: E402
from photoz.data.simulate import build, calibration, deconvolution, empirical, evolution, matched  # noqa: E402
from photoz.data.simulate.truth import make_truth  # noqa: E402

N_ROWS, K_SMALL, ITERATIONS_SMALL = 400, 4, 15
BANDS = list("ugrizy")


@pytest.fixture(scope="module")
def small(training_copy: Path) -> empirical.EmpiricalCalibration:
    return empirical.calibrate(training_copy, N_ROWS, K_SMALL, ITERATIONS_SMALL)


def test_deconvolution_removes_known_noise() -> None:
    """2-D Gaussian (σ 1 and 0.5, correlation 0.6) observed with per-point noise σ 0.5–1.5: the
    one-component fit recovers the noise-free covariance within 0.1, where the noisy sample's is ~2× it."""
    rng = np.random.default_rng(0)
    true_cov = np.array([[1.0, 0.3], [0.3, 0.25]])
    x = rng.multivariate_normal([1.0, -2.0], true_cov, 4000)
    s = rng.uniform(0.5, 1.5, (4000, 2))
    noisy = x + s * rng.normal(size=x.shape)
    noise = np.zeros((4000, 2, 2))
    noise[:, 0, 0], noise[:, 1, 1] = s[:, 0] ** 2, s[:, 1] ** 2
    mix = deconvolution.fit(noisy, noise, 1, 60)
    np.testing.assert_allclose(mix.covs[0], true_cov, atol=0.1)
    np.testing.assert_allclose(mix.means[0], [1.0, -2.0], atol=0.06)
    assert np.cov(noisy.T)[0, 0] > 1.8  # what a fit ignoring the noise would give


def test_conditional_draws_follow_the_conditional_gaussian() -> None:
    """Two components far apart in the given dimension: at a given value the draws come from the
    nearer one, with mean m_o + V_og V_gg⁻¹ (g − m_g) and variance V_oo − V_og² / V_gg."""
    cov = np.array([[1.0, 0.8], [0.8, 2.0]])
    mix = deconvolution.Mixture(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [50.0, 10.0]]), np.stack([cov, cov]))
    draws = deconvolution.sample_conditional(np.random.default_rng(1), mix, np.full((20000, 1), 1.5), 1)[:, 0]
    assert abs(draws.mean() - 0.8 * 1.5) < 0.03
    assert abs(draws.var() - (2.0 - 0.8**2)) < 0.06


def test_calibration_reads_the_training_file_only_and_is_deterministic(training_copy: Path, small) -> None:
    again = empirical.calibrate(training_copy, N_ROWS, K_SMALL, ITERATIONS_SMALL)
    for name in ("weights", "means", "covs", "z", "i_mag"):
        np.testing.assert_array_equal(getattr(small, name), getattr(again, name))
    assert small.means.shape == (K_SMALL, 7) and small.covs.shape == (K_SMALL, 7, 7)
    np.testing.assert_allclose(small.weights.sum(), 1.0)
    z_file, i_file = calibration.read_training(training_copy)[:2]
    np.testing.assert_array_equal(small.z, z_file[:N_ROWS])
    assert small.sha256 == hashlib.sha256(training_copy.read_bytes()).hexdigest()


def test_features_and_their_noise_by_hand() -> None:
    """One galaxy: i = 1000 nJy ± 20, u = 100 ± 50: x has z, i = 23.9 − 2.5 log10(1000) and u/i =
    0.1; var(u/i) = (50/1000)² + 0.1² (20/1000)²; cov(m_i, u/i) = 1.0857 × 0.1 × (20/1000)²."""
    flux = np.array([[100.0, 200.0, 400.0, 1000.0, 1200.0, 1300.0]])
    sigma = np.array([[50.0, 10.0, 10.0, 20.0, 30.0, 60.0]])
    x, cov = empirical.features(np.array([0.7]), flux, sigma)
    np.testing.assert_allclose(x[0], [0.7, NJY_ZP - 7.5, 0.1, 0.2, 0.4, 1.2, 1.3])
    np.testing.assert_allclose(cov[0, 2, 2], 0.05**2 + 0.1**2 * 0.02**2)
    np.testing.assert_allclose(cov[0, 2, 3], 0.1 * 0.2 * 0.02**2)  # u/i and g/i share f_i's noise
    np.testing.assert_allclose(cov[0, 1, 1], (1.0857 * 0.02) ** 2, rtol=1e-4)
    np.testing.assert_allclose(cov[0, 1, 2], 1.0857 * 0.1 * 0.02**2, rtol=1e-4)


def _empirical_cfg(**over: object):
    return OmegaConf.merge(OmegaConf.structured(LsstSimData), {"n_galaxies": 300, "sed_model": "empirical", **over})


def test_empirical_truth_is_deterministic_and_its_components_add_up() -> None:
    """make_truth with sed_model=empirical (the shipped mixture): same seed, same fluxes; another
    seed, others; bulge + disk in i is the drawn true i magnitude, bulge / disk = true_bt /
    (1 − true_bt) in every band; the galaxies carry version 6's SED columns; version 8, the default."""
    truth, bulge, disk = make_truth(_empirical_cfg(), BANDS)
    again = make_truth(_empirical_cfg(), BANDS)
    np.testing.assert_array_equal(bulge, again[1])
    np.testing.assert_array_equal(disk, again[2])
    other = make_truth(_empirical_cfg(seed=1), BANDS)
    assert not np.allclose(bulge + disk, other[1] + other[2])
    total = bulge + disk
    np.testing.assert_allclose(NJY_ZP - 2.5 * np.log10(total), np.column_stack([truth[f"true_mag_{b}"] for b in BANDS]))
    bt = np.asarray(truth["true_bt"], float)[:, None]
    np.testing.assert_allclose(bulge, bt * total, rtol=1e-12)
    np.testing.assert_allclose(disk, (1.0 - bt) * total, rtol=1e-12)
    # the i flux is the population's true i: replay the draw of make_truth's stream
    from photoz.data.simulate.population import draw_i_mag
    from photoz.data.simulate.truth import TAG_POPULATION

    i_mag = draw_i_mag(np.random.default_rng([0, TAG_POPULATION]), 300, 17.0, 25.3)
    np.testing.assert_allclose(total[:, BANDS.index("i")], 10 ** (-0.4 * (i_mag - NJY_ZP)), rtol=1e-10)
    assert np.all(total > 0) and np.all(np.isfinite(total))
    assert np.isfinite(truth["true_sed"]).all() and np.isfinite(truth["true_logmstar"]).all()  # the donors' SEDs
    assert build.config_key(_empirical_cfg())["sim_version"] == 8
    assert build.config_key(OmegaConf.structured(LsstSimData))["sim_version"] == 8  # the default
    assert build.config_key(_empirical_cfg(sed_model="cosmos"))["sim_version"] == build.SIM_VERSION == 6


def test_rank_match_pairs_ranks_within_cells() -> None:
    """Cell 0: recipients 10, 30, 20 get the donors of values 1, 3, 2 (ranks kept); cell 1: 7, 8 get 4, 5."""
    got = matched.rank_match(np.array([0, 0, 0, 1, 1]), np.array([3.0, 1.0, 2.0, 5.0, 4.0]), np.array([10.0, 30.0, 20.0, 7.0, 8.0]))
    np.testing.assert_array_equal(got, [1, 0, 2, 4, 3])


def test_version_8_gives_version_6_galaxies_by_colour_rank() -> None:
    """The same seed draws the same (z, i) and version 6 galaxies under sed_model=cosmos and
    empirical: per (z, i) cell, the empirical galaxies sorted by their g − z carry the cosmos
    galaxies' class, B/T and mass sorted by theirs, and the bulge size at the same physical length;
    so colour and B/T correlate again (version 7: not at all)."""
    n = 3000
    v8, b8, d8 = make_truth(_empirical_cfg(n_galaxies=n), BANDS)
    v6, b6, d6 = make_truth(_empirical_cfg(n_galaxies=n, sed_model="cosmos"), BANDS)
    np.testing.assert_array_equal(v8["redshift"], v6["redshift"])
    assert not np.allclose(b8 + d8, b6 + d6)  # other colours
    z, i_mag = np.asarray(v8["redshift"]), np.asarray(v8["true_mag_i"])
    cell = matched.cells(z, i_mag)
    order8 = np.lexsort((matched.colour(b8 + d8), cell))
    order6 = np.lexsort((matched.colour(b6 + d6), cell))
    for name in ("true_class", "true_bt", "true_logmstar", "true_sed"):
        np.testing.assert_array_equal(np.asarray(v8[name])[order8], np.asarray(v6[name])[order6])
    kpc = evolution.kpc_per_arcsec
    bulge8, bulge6 = np.asarray(v8["true_bulge_hlr"])[order8], np.asarray(v6["true_bulge_hlr"])[order6]
    low, high = np.array(matched.BULGE_HLR_RANGE) * [1 + 1e-9, 1 - 1e-9]
    inside = (bulge8 > low) & (bulge8 < high)  # not clipped
    assert inside.mean() > 0.99
    np.testing.assert_allclose((bulge8 * kpc(z[order8]))[inside], (bulge6 * kpc(z[order6]))[inside], rtol=1e-9)
    np.testing.assert_allclose(v8["true_hlr"], 2.0 * v8["true_bulge_hlr"])
    assert np.corrcoef(matched.colour(b8 + d8), v8["true_bt"])[0, 1] > 0.3


def test_the_shipped_mixture_is_used_only_for_the_file_it_was_fitted_on(training_copy: Path, tmp_path: Path) -> None:
    """The installed training file's bytes, today's settings and fit code: the shipped mixture (no
    fit); one byte changed, other settings, other code or a damaged file: None, so photoz refits
    instead of using a stale mixture."""
    shipped = empirical.shipped_calibration(training_copy)
    assert shipped is not None and shipped.means.shape == (empirical.N_COMPONENTS, 7)
    np.testing.assert_allclose(shipped.weights.sum(), 1.0)
    np.testing.assert_array_equal(shipped.z, calibration.read_training(training_copy)[0])
    changed = tmp_path / training_copy.name
    changed.write_bytes(training_copy.read_bytes() + b"\0")
    assert empirical.shipped_calibration(changed) is None
    with np.load(empirical.SHIPPED) as data:
        arrays = {k: data[k] for k in data.files}
    for name, changed_value in (("settings", arrays["settings"] + 1), ("code", np.array("0" * 64))):
        other = tmp_path / f"other_{name}.npz"
        np.savez(other, **{**arrays, name: changed_value})
        assert empirical.shipped_calibration(training_copy, other) is None  # refitted instead
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(empirical.SHIPPED.read_bytes()[:1000])
    assert empirical.shipped_calibration(training_copy, damaged) is None  # a damaged file is refitted, no traceback


def test_draw_fluxes_is_the_conditional_draw_scaled_to_i(small) -> None:
    """draw_fluxes = the mixture's conditional draw of the ratios at (z, i), floored at RATIO_FLOOR,
    with f_i / f_i = 1 put back, times the i flux; then the requested bands in their order."""
    z, i_mag = np.linspace(0.2, 2.0, 50), np.linspace(20.0, 25.0, 50)
    got = empirical.draw_fluxes(np.random.default_rng(4), small, z, i_mag, ["z", "g", "i"])
    ratio = deconvolution.sample_conditional(np.random.default_rng(4), empirical.mixture(small), np.column_stack([z, i_mag]), 2)
    ratio = np.maximum(ratio, empirical.RATIO_FLOOR)  # u g r z y
    f_i = 10 ** (-0.4 * (i_mag - NJY_ZP))
    np.testing.assert_allclose(got, np.column_stack([ratio[:, 3], ratio[:, 1], np.ones(50)]) * f_i[:, None], rtol=1e-12)


def test_an_unknown_sed_model_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "photoz.simulate", "data.sed_model=empiric", f"data.root={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1, res.stderr[-2000:]
    assert "data.sed_model=empiric is not a valid choice; choose one of: cosmos, realistic, cww, empirical" in lines[0]
    assert not any(tmp_path.glob("lsst_sim-*"))  # nothing built


def test_sed_population_with_another_sed_model_is_refused() -> None:
    """data.sed_population=physics says which population sed_model=cosmos draws; with the default
    empirical model it would change nothing but the set's hash, so it is refused in one line."""
    from photoz.errors import ConfigError

    with pytest.raises(ConfigError, match="data.sed_population=physics applies to data.sed_model=cosmos only"):
        build.check_config(_empirical_cfg(sed_population="physics"))
    build.check_config(_empirical_cfg(sed_model="cosmos", sed_population="physics"))  # accepted


def test_a_magnitude_limit_beyond_the_training_galaxies_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    """The mixture knows cosmoDC2's training galaxies (i < 25.3): a fainter data.mag_limit is said once."""
    matched.warn_beyond_training(25.3)
    assert not caplog.records
    matched.warn_beyond_training(26.5)
    assert len(caplog.records) == 1 and "data.mag_limit=26.5 is fainter than cosmoDC2's training galaxies" in caplog.text
