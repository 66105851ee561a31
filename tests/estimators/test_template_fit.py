"""The template fit: physics of the flux grid, recovery of template photometry, errors, logging."""

from __future__ import annotations

from pathlib import Path

import galsim
import numpy as np
import pytest
from helpers import mlflow_store, model_cfg, template_dataset  # noqa: F401 (fixture)

from photoz.errors import ConfigError
from photoz.predictions.table import z_grid
from photoz.estimators.template_fit import TemplateFitEstimator, smail_prior
from photoz.predictions.metrics import delta_z
from photoz.physics.sed import band_fluxes


def test_colours_match_galsim() -> None:
    share = galsim.meta_data.share_dir
    sed = galsim.SED(f"{share}/SEDs/CWW_Scd_ext.sed", wave_type="Angstrom", flux_type="flambda")
    z = np.array([0.0, 0.7, 2.0])
    for b1, b2 in ["gr", "zy", "ui"]:
        bp = [galsim.Bandpass(f"{share}/bandpasses/LSST_{b}.dat", "nm").withZeropoint("AB") for b in (b1, b2)]
        expected = [sed.atRedshift(zz).calculateMagnitude(bp[0]) - sed.atRedshift(zz).calculateMagnitude(bp[1]) for zz in z]
        flux = band_fluxes("CWW_Scd_ext", [b1, b2], z)
        ours = -2.5 * np.log10(flux[:, 0] / flux[:, 1])
        np.testing.assert_allclose(ours, expected, atol=5e-4)


def test_recovers_noiseless_template_redshifts(tmp_path) -> None:
    data = template_dataset(tmp_path / "tpl", n=60, rel_err=0.01)
    est = TemplateFitEstimator(model_cfg("template_fit", prior="none", sys_err=0.0, n_interp=1, pairs=False))
    reports = []
    est.fit(data, lambda epoch, m: reports.append((epoch, m)))
    pred = est.predict(data, np.arange(len(data)))
    dz = np.abs(delta_z(pred.z_phot, pred.z_spec))
    assert dz.max() < 0.01, f"worst |Δz| {dz.max():.4f} at z={pred.z_spec[dz.argmax()]:.2f}"
    assert len(reports) == 1 and reports[0][0] == 0
    assert set(reports[0][1]) == {"val_sigma_mad", "val_bias", "val_eta"}
    assert est.n_trainable_params() == 0
    np.testing.assert_allclose(pred.pdf.sum(axis=1), 1.0, rtol=1e-5)


def test_pairs_fit_bulge_plus_disk_photometry(tmp_path) -> None:
    data = template_dataset(tmp_path / "bd", n=45, rel_err=0.01, bulge=0.5, seed=4)
    idx = np.arange(len(data))
    errors = {}
    for pairs in (False, True):
        est = TemplateFitEstimator(model_cfg("template_fit", prior="none", sys_err=0.0, pairs=pairs))
        est.fit(data, lambda *_: None)
        pred = est.predict(data, idx)
        errors[pairs] = np.abs(delta_z(pred.z_phot, pred.z_spec))
    assert np.median(errors[True]) < 0.005 and np.mean(errors[True] > 0.05) < 0.05
    assert np.mean(errors[True]) < 0.5 * np.mean(errors[False])  # single templates miss these colours


def test_noisy_fit_is_calibrated_enough(tmp_path) -> None:
    data = template_dataset(tmp_path / "tpl", n=90, rel_err=0.05, noise=True, seed=3)
    est = TemplateFitEstimator(model_cfg("template_fit", prior="none"))
    est.fit(data, lambda *_: None)
    pred = est.predict(data, np.arange(len(data)))
    pull = (pred.z_phot - pred.z_spec) / pred.z_err
    assert np.median(np.abs(pull)) < 2.0  # z_err is of the size of the actual errors
    assert np.median(np.abs(delta_z(pred.z_phot, pred.z_spec))) < 0.05


def test_smail_prior_median_grows_with_magnitude() -> None:
    grid = z_grid(300, 3.0)
    prior = smail_prior(np.array([22.0, 24.0, 26.0]), grid, 1.0, 2.0, 0.0417, -0.744, (21.5, 27.0))
    medians = grid[(np.cumsum(prior, axis=1) < 0.5).sum(axis=1)]
    assert np.all(np.diff(medians) > 0.05)


def test_unknown_band_and_template_are_config_errors(tiny_dataset) -> None:
    est = TemplateFitEstimator(model_cfg("template_fit", templates=["CWW_E_ext", "NoSuchSED"]))
    with pytest.raises(ConfigError, match="NoSuchSED"):
        est.fit(tiny_dataset, lambda *_: None)
    tiny_dataset.meta["bands"] = list("ugrizw")
    with pytest.raises(ConfigError, match="no bandpass for band 'w'"):
        TemplateFitEstimator(model_cfg("template_fit")).fit(tiny_dataset, lambda *_: None)


def test_logged_model_loads_back(tmp_path, mlflow_store) -> None:
    import mlflow

    data = template_dataset(tmp_path / "tpl", n=12)
    est = TemplateFitEstimator(model_cfg("template_fit", n_interp=3))
    est.fit(data, lambda *_: None)
    mlflow.set_tracking_uri(mlflow_store)
    with mlflow.start_run() as run:
        est.log_model()
    loaded = TemplateFitEstimator.load(f"runs:/{run.info.run_id}/model")
    assert loaded.model_cfg.n_interp == 3 and loaded.bands == list("ugrizy")
    idx = np.arange(len(data))
    np.testing.assert_allclose(loaded.predict(data, idx).z_phot, est.predict(data, idx).z_phot)
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model", dst_path=str(tmp_path / "m")))
    assert not [p for p in folder.rglob("*.pkl")] and (folder / "template_pyfunc.py").is_file()  # no pickle
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")  # serving runs the code file
    import pandas as pd

    flux, err = data.fluxes(idx)
    frame = pd.DataFrame({**{f"flux_{b}": flux[:, j] for j, b in enumerate("ugrizy")},
                          **{f"flux_err_{b}": err[:, j] for j, b in enumerate("ugrizy")}})
    np.testing.assert_allclose(served.predict(frame)["z_phot"], est.predict(data, idx).z_phot)


def test_benitez_prior_is_normalised_and_deepens_with_magnitude() -> None:
    from photoz.estimators.template_fit import benitez_prior

    grid = z_grid(180, 3.5)
    prior = benitez_prior(np.array([20.0, 23.0, 26.0]), grid, (20.0, 27.0))
    np.testing.assert_allclose(prior.sum(axis=1), 1.0)
    medians = [grid[np.searchsorted(np.cumsum(p), 0.5)] for p in prior]
    assert medians[0] < medians[1] < medians[2]


def test_benitez_type_fractions_by_hand() -> None:
    """Benítez 2000 Table 1 at i = 24: E/S0 0.35 e^(-0.450*4), spirals 0.50 e^(-0.147*4), Irr the rest."""
    from photoz.estimators.template_fit import benitez_type_fractions

    got = benitez_type_fractions(np.array([20.0, 24.0]), (20.0, 27.0))
    e, s = 0.35 * np.exp(-1.8), 0.50 * np.exp(-0.588)
    np.testing.assert_allclose(got, [[0.35, 0.50, 0.15], [e, s, 1 - e - s]], rtol=1e-12)


def test_benitez_prior_matches_bpz_own_code() -> None:
    """Our prior against BPZ's own HDF-N prior (desc_bpz, shipped with RAIL's BPZ): 1 E, 2 spirals, 1 Irr
    template; BPZ zeroes its tails below 1e-2/n_z of a type's peak normalisation, hence the tolerance."""
    bpz = pytest.importorskip("desc_bpz.prior_hdfn_gen", reason="the optional rail extra (desc_bpz) is not installed")
    from photoz.estimators.template_fit import benitez_prior

    grid = z_grid(300, 3.0)
    for mag in (21.0, 24.0, 26.5):
        theirs = bpz.function(grid, mag, (1, 2, 1)).sum(axis=1)
        ours = benitez_prior(np.array([mag]), grid, (20.0, 32.0))[0]
        np.testing.assert_allclose(ours, theirs / theirs.sum(), atol=2e-4)


def test_reddening_grid_fits_reddened_templates(tmp_path) -> None:
    from photoz.data import write_dataset
    from photoz.estimators.template_fit import template_fluxes
    from astropy.table import Table

    rng = np.random.default_rng(2)
    z = rng.uniform(0.2, 2.0, 30)
    flux = 1000.0 * template_fluxes("CWW_Scd_ext", list("ugrizy"), z, (0.3,), igm=True)[0]
    flux /= flux[:, 3:4] / 1000.0
    cat = Table({"id": np.arange(30), "redshift": z, "split": np.array(["train", "val", "test"])[np.arange(30) % 3]})
    for j, b in enumerate("ugrizy"):
        cat[f"flux_{b}"], cat[f"flux_err_{b}"] = flux[:, j], 0.01 * flux[:, j]
    data = write_dataset(tmp_path / "red", np.zeros((30, 6, 4, 4), np.float32), cat, {"bands": list("ugrizy")})
    worst = {}
    for grid in ([], [0.1, 0.2, 0.3]):
        est = TemplateFitEstimator(model_cfg("template_fit", prior="none", sys_err=0.0, ebv_grid=grid))
        est.fit(data, lambda *_: None)
        pred = est.predict(data, np.arange(30))
        worst[len(grid)] = np.abs(delta_z(pred.z_phot, pred.z_spec)).max()
    assert worst[3] < 0.02 and worst[0] > 3 * worst[3], worst  # within a bin of the truth with the grid
    with pytest.raises(ConfigError, match="negative E"):
        TemplateFitEstimator(model_cfg("template_fit", ebv_grid=[-0.1])).fit(data, lambda *_: None)


def test_a_data_set_of_other_filters_is_refused_in_one_line(tmp_path) -> None:
    """An SDSS-band set (or one imported without filters=) is not fitted through LSST curves."""
    from photoz.errors import DataError

    data = template_dataset(tmp_path / "tpl", n=12)
    est = TemplateFitEstimator(model_cfg("template_fit"))
    est.check(data)  # written without a record and not by photoz.ingest: LSST, as photoz.simulate's
    data.meta["filters"] = "sdss"
    with pytest.raises(DataError, match="its bands are sdss's filters but template_fit fits lsst filter curves only; re-import it with "
                                         "filter_curves=<a folder of its bands' curves> or use model=random_forest"):
        est.check(data)
    with pytest.raises(DataError, match="sdss's filters"):
        est.fit(data, lambda *_: None)
    data.meta["filters"] = None
    with pytest.raises(DataError, match="records no photometric system.*re-import it with filters=lsst, else with filter_curves="):
        est.predict(data, np.arange(3))
    data.meta["filters"] = "lsst"
    assert est.predict(data, np.arange(3)).z_phot.shape == (3,)
