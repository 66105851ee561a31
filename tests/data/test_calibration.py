"""Simulator versions 5 and 6 (data.sed_population=cosmodc2): the population calibrated on cosmoDC2's
training sample. The calibration reads only the training file, is deterministic and cached by content
(stale cache files pruned); the fitted model is the simulator's own; drawn SED parameters and (v6)
redshifts follow the calibrated distributions."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

pytest.importorskip("rail", reason="the calibration reads RAIL's templates and cosmoDC2 sample (the rail extra)")

from photoz.data.simulate import calibrated, calibration, calibration_cache, cosmos  # noqa: E402
from photoz.data.simulate.cosmos import _weights  # noqa: E402
from photoz.data.simulate.population import draw_i_mag, science_book_redshift  # noqa: E402
from photoz.data.simulate.realistic import sed_fluxes  # noqa: E402
from photoz.data.simulate.templates import cosmos_library  # noqa: E402

N_ROWS = 300


@pytest.fixture(scope="module")
def small(training_copy: Path) -> calibration.Calibration:
    return calibration.calibrate(training_copy, N_ROWS)


def test_calibration_reads_the_training_file_only_and_is_deterministic(training_copy: Path, small) -> None:
    assert calibration.training_path().name == "test_dc2_training_9816.hdf5"
    assert small.sha256 == calibration.calibrate(training_copy, 10).sha256  # the hash of that file
    again = calibration.calibrate(training_copy, N_ROWS)
    for name in ("posterior", "prior", "repair", "z", "i_mag"):
        np.testing.assert_array_equal(getattr(small, name), getattr(again, name))
    assert small.posterior.shape == (N_ROWS, len(small.pos))
    np.testing.assert_allclose(small.posterior.sum(axis=1), 1.0, rtol=1e-5)


def test_cache_is_keyed_by_the_inputs(training_copy: Path, tmp_path: Path) -> None:
    """A cached calibration is reused for the same file and never for a changed one."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / calibration.TRAINING_FILE
    shutil.copy(training_copy, path)
    (tmp_path / "cache").mkdir()
    stale, recent = tmp_path / "cache" / "cosmodc2-stale.npz", tmp_path / "cache" / "cosmodc2-recent.npz"
    stale.write_bytes(b"old"), recent.write_bytes(b"new")
    month = time.time() - (calibration_cache.STALE_DAYS + 1) * 86400.0
    os.utime(stale, (month, month))
    first = calibration_cache.cached_calibration(path, tmp_path / "cache", 200)
    assert not stale.exists() and recent.exists()  # pruned when the new one is written: unused for STALE_DAYS
    recent.unlink()
    assert len(list((tmp_path / "cache").glob("cosmodc2-*.npz"))) == 1
    written = next((tmp_path / "cache").glob("cosmodc2-*.npz"))
    os.utime(written, (month, month))
    calibration_cache._MEMO.clear()
    loaded = calibration_cache.cached_calibration(path, tmp_path / "cache", 200)
    np.testing.assert_array_equal(first.posterior, loaded.posterior)
    assert written.stat().st_mtime > month + 86400.0  # loading marks it as in use
    import h5py

    with h5py.File(path, "r+") as h5:  # another sample: one redshift changed
        h5["photometry/redshift"][0] += 0.5
    calibration_cache._MEMO.clear()
    changed = calibration_cache.cached_calibration(path, tmp_path / "cache", 200)
    assert len(list((tmp_path / "cache").glob("cosmodc2-*.npz"))) == 2
    assert changed.z[0] == pytest.approx(first.z[0] + 0.5)


def test_fitted_model_is_the_simulators_sed() -> None:
    """The fluxes the fit compares with are those the simulator renders for the same θ."""
    pos, ebv, lines = calibration.theta_grid()
    rng = np.random.default_rng(0)
    g, z = rng.integers(0, len(pos), 40), rng.uniform(0.05, 3.0, 40)
    model = calibration.model_fluxes(z)[np.arange(40), g]
    w = _weights(pos[g], len(cosmos_library().templates))
    params = {"bulge_w": w, "disk_w": w, "ebv": ebv[g], "lines": lines[g]}
    disk = sed_fluxes(Table({"redshift": z}), params, calibration.BANDS, cosmos_library())[1]
    np.testing.assert_allclose(model, disk, rtol=1e-5)


def test_drawn_parameters_follow_the_calibrated_distribution(small) -> None:
    """Draws at one (z, i) follow the mean posterior of its nearest training galaxies (total variation
    over template positions < 0.04 with 20,000 draws), and differ from those at another (z, i)."""
    rng = np.random.default_rng(1)
    n = 20000

    def position_histogram(z: float, i_mag: float) -> tuple[np.ndarray, np.ndarray]:
        grid, _ = calibrated.draw_theta(rng, small, np.full(n, z), np.full(n, i_mag))
        nn = calibrated.neighbours(small, np.array([z]), np.array([i_mag]))[0]
        expected = small.posterior[nn].mean(axis=0)
        bins = np.arange(0, small.pos.max() + 1.0, 1.0)
        return (np.histogram(small.pos[grid], bins)[0] / n, np.histogram(small.pos, bins, weights=expected)[0])

    drawn_low, expected_low = position_histogram(float(small.z[0]), float(small.i_mag[0]))
    assert 0.5 * np.abs(drawn_low - expected_low).sum() < 0.04
    far = int(np.argmax(np.abs(small.z - small.z[0])))
    drawn_far, expected_far = position_histogram(float(small.z[far]), float(small.i_mag[far]))
    assert 0.5 * np.abs(drawn_far - expected_far).sum() < 0.04
    assert 0.5 * np.abs(expected_far - expected_low).sum() > 0.1  # the test can tell distributions apart


def test_calibrated_truth_is_physical(small) -> None:
    """Galaxies drawn from the calibration: jittered θ inside the grid's range, bulge = disk SED."""
    rng = np.random.default_rng(2)
    truth = Table({"redshift": rng.uniform(0.1, 2.5, 200), "true_mag_i": rng.uniform(20, 25, 200)})
    params = cosmos.draw_calibrated_params(rng, truth, 1.0, list("gri"), small)
    assert np.all((params["disk_pos"] >= 0) & (params["disk_pos"] <= len(cosmos_library().templates) - 1))
    assert np.all((params["ebv"] >= 0) & (params["ebv"] <= calibration.EBV_FIT[-1]))
    np.testing.assert_array_equal(params["bulge_w"], params["disk_w"])
    assert params["repair"].shape == (200, 3) and np.all(params["repair"] > 0)


def kernel_cdf(cal: calibration.Calibration, i_mag: float, z: np.ndarray) -> np.ndarray:
    """CDF at z of the calibrated n(z | i): the training galaxies of the i window, each a Gaussian of
    width Z_BANDWIDTH (1 + z_k) reflected at 0."""
    from scipy.stats import norm

    order, lo, hi = calibrated.redshift_sources(cal, np.array([i_mag]))
    zk = cal.z[order[lo[0] : hi[0]]][None, :]
    s = calibrated.Z_BANDWIDTH * (1.0 + zk)
    return (norm.cdf((z[:, None] - zk) / s) - norm.cdf((-z[:, None] - zk) / s)).mean(axis=1)


def test_drawn_redshifts_follow_the_training_n_z_given_i(small, training_copy: Path) -> None:
    """v6's redshifts at a given i follow the kernel estimate of the training file's n(z | i) (KS
    distance < 0.02 with 20,000 draws), built from that file's rows only; they differ at another i
    and from the Science Book n(z | i) (so the test can tell)."""
    z_file, i_file = calibration.read_training(training_copy)[:2]
    np.testing.assert_array_equal(small.z, z_file[:N_ROWS])
    np.testing.assert_array_equal(small.i_mag, i_file[:N_ROWS])
    rng = np.random.default_rng(3)
    grid = np.linspace(0.0, 3.5, 701)
    cdfs = {}
    for i_mag in (21.5, 24.8):
        z = calibrated.draw_redshift(rng, small, np.full(20000, i_mag))
        expected = kernel_cdf(small, i_mag, grid)
        assert np.abs(np.searchsorted(np.sort(z), grid) / len(z) - expected).max() < 0.02
        book = np.sort(science_book_redshift(rng, np.full(20000, i_mag)))
        assert np.abs(np.searchsorted(book, grid) / len(book) - expected).max() > 0.08
        cdfs[i_mag] = expected
    assert np.abs(cdfs[21.5] - cdfs[24.8]).max() > 0.1


def test_default_population_draws_the_calibrated_redshifts() -> None:
    """make_truth with sed_population=cosmodc2 takes its redshifts from the training calibration
    (replayed draw for draw), physics from the Science Book's n(z | i); the default empirical model
    the same as cosmodc2 (the same training galaxies)."""
    from omegaconf import OmegaConf

    from photoz.data.schema import LsstSimData
    from photoz.data.simulate.truth import TAG_POPULATION, make_truth

    cfg = OmegaConf.merge(OmegaConf.structured(LsstSimData), {"n_galaxies": 200, "bands": ["g", "r", "i"]})
    for model, population, law in (("cosmos", "cosmodc2", cosmos.draw_calibrated_redshift), ("cosmos", "physics", science_book_redshift),
                                   ("empirical", "cosmodc2", cosmos.draw_calibrated_redshift)):
        truth = make_truth(OmegaConf.merge(cfg, {"sed_model": model, "sed_population": population}), ["g", "r", "i"])[0]
        rng = np.random.default_rng([cfg.seed, TAG_POPULATION])
        i_mag = draw_i_mag(rng, 200, cfg.mag_min, cfg.mag_limit)
        np.testing.assert_array_equal(np.asarray(truth["redshift"]), law(rng, i_mag))
