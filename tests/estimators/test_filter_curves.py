"""The template fit fits the filter curves a data set names (issue 24, item 6): its own curves when
it has them (photoz.ingest filter_curves=), GalSim's LSST curves for an LSST set, and a model made
with one set of curves predicts only on data observed through the same ones."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from helpers import declared, mlflow_store, model_cfg, shifted_lsst_curves, template_dataset  # noqa: F401 (fixture)
from hydra import compose, initialize_config_dir

from photoz.errors import DataError, PhotozError
from photoz.estimators.template_fit import TemplateFitEstimator, model_flux_grid
from photoz.predictions.metrics import delta_z

BANDS = "ugriz"  # an SDSS-like band set: LSST's names would be no reason to use LSST's curves
CHEAP = {"prior": "none", "sys_err": 0.0, "n_interp": 1, "pairs": False}
CONF = str(Path(__file__).resolve().parents[2] / "conf")


def _fit(data) -> tuple[TemplateFitEstimator, np.ndarray]:
    est = TemplateFitEstimator(model_cfg("template_fit", **CHEAP))
    est.fit(data, lambda *_: None)
    return est, est.predict(data, np.arange(len(data))).z_phot


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict:
    """Photometry through curves shifted 40 nm redwards of LSST's (recorded as the set's own), the
    same catalogue declared LSST, and LSST photometry declared with the shifted curves."""
    tmp = tmp_path_factory.mktemp("curves")
    own = shifted_lsst_curves(BANDS, 40.0)
    shifted = template_dataset(tmp / "shifted", n=36, bands=BANDS, curves=own)
    lsst = template_dataset(tmp / "lsst", n=36, bands=BANDS, seed=2)
    return {"own": own, "shifted": shifted, "lsst": lsst,
            "shifted_as_lsst": declared(tmp / "shifted_as_lsst", shifted.catalog, list(BANDS), None),
            "lsst_as_shifted": declared(tmp / "lsst_as_shifted", lsst.catalog, list(BANDS), own)}  # fmt: skip


def test_the_fit_uses_the_data_sets_own_curves(sets) -> None:
    est, z_own = _fit(sets["shifted"])
    assert est.curves == sets["own"]
    models, lsst_models = est._models(list(BANDS)), TemplateFitEstimator(est.model_cfg)._models(list(BANDS))
    assert np.median(np.abs(models / lsst_models - 1)) > 0.05  # other curves, other model fluxes
    dz_own = np.abs(delta_z(z_own, sets["shifted"].catalog["redshift"]))
    assert np.median(dz_own) < 0.01  # recovered through the curves it was observed through
    _, z_lsst = _fit(sets["shifted_as_lsst"])  # the same fluxes taken for LSST's
    assert np.median(np.abs(delta_z(z_lsst, sets["shifted"].catalog["redshift"]))) > 3 * np.median(dz_own) + 0.02


def test_lsst_photometry_declared_with_other_curves_gives_other_redshifts(sets) -> None:
    _, z_lsst = _fit(sets["lsst"])
    _, z_declared = _fit(sets["lsst_as_shifted"])
    assert np.mean(np.abs(z_declared - z_lsst) > 0.05) > 0.5


def test_the_lsst_model_fluxes_are_unchanged() -> None:
    """Frozen on main before filter curves existed (GalSim's LSST_<b>.dat through photoz.physics.sed):
    an LSST set's template fit keeps its numbers."""
    grid = model_flux_grid(tuple("ugrizy"), ("CWW_E_ext", "CWW_Im_ext"), 1, (0.1, 1.3, 2.9), (0.0, 0.2), True)
    expected = [[1785.0116118606784, 3621.465652004399, 14346.67845375437, 65380.013664611644, 119285.52068610599, 290735.665274541],
                [72971.73454832057, 93157.40290964063, 108709.70786868311, 153897.7056978994, 247069.38122848907, 379923.30469652114],
                [11582.26136296149, 18875.983198388683, 27664.215667331795, 46737.82338615676, 85276.97542889742, 144546.74619025603]]  # fmt: skip
    np.testing.assert_allclose(grid[[0, 1, 4], 1], expected, rtol=1e-12)


def test_a_model_predicts_only_on_data_through_its_own_curves(sets, tmp_path: Path, mlflow_store) -> None:
    est, z_own = _fit(sets["shifted"])
    for other in ("lsst", "shifted_as_lsst"):
        with pytest.raises(DataError, match=r"its filters \(lsst's built-in curves\) are not those this template_fit model was made with \(u\.dat sha256 "):
            est.predict(sets[other], np.arange(3))
    lsst_est, _ = _fit(sets["lsst"])
    with pytest.raises(DataError, match=r"lsst_as_shifted: its filters \(u\.dat sha256 \w{10}, g\.dat .*\) are not those .* \(lsst's built-in curves\); predict on data observed"):
        lsst_est.predict(sets["lsst_as_shifted"], np.arange(3))
    mlflow.set_tracking_uri(mlflow_store)
    with mlflow.start_run() as run:
        est.log_model()
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model", dst_path=str(tmp_path / "m")))
    loaded = TemplateFitEstimator.load(str(folder))
    assert loaded.curves == sets["own"]
    np.testing.assert_allclose(loaded.predict(sets["shifted"], np.arange(len(z_own))).z_phot, z_own)
    from photoz.predict import predict

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = {name: compose("predict", overrides=[f"model_uri={folder}", f"input={sets[name].path}",
                                                   f"output={tmp_path / name}.fits", f"tracking.uri={mlflow_store}"]) for name in ("lsst", "lsst_as_shifted")}
    with pytest.raises(DataError, match=r"lsst: its filters \(lsst's built-in curves\) are not those"):
        predict(cfg["lsst"])
    assert predict(cfg["lsst_as_shifted"]).is_file()  # the same curves: predicted
    assert not (tmp_path / "lsst.fits").exists()
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["metadata"]["photoz"]["state"]["filter_curves"]["g"] = "500 1\n450 1\n"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(PhotozError, match=r"its filter curve of band g: wavelength is not strictly increasing") as err:
        TemplateFitEstimator.load(str(folder))
    assert "\n" not in str(err.value)


def test_bpz_fits_the_data_sets_own_curves(sets) -> None:
    """rail_bpz gets the set's curves in a BPZ data folder of its own (RAIL's SEDs linked, its
    filters written in BPZ's format) and BPZ's ABflux computes their template fluxes there; nothing of RAIL's is copied."""
    pytest.importorskip("rail.estimation.algos.bpz_lite", reason='the [rail] extra is not installed: pip install -e ".[rail]"')
    import gc

    from photoz.config import compose, to_typed
    from photoz.estimators.build import estimator_class

    def bpz(data):
        est = estimator_class("rail_bpz")(to_typed(compose("model=rail_bpz")).model)
        est.fit(data, lambda *_: None)
        return est, est.predict(data, np.arange(len(data))).z_phot

    est, z_own = bpz(sets["shifted"])
    folder = est.curve_folder()
    assert sorted(p.name for p in (folder / "FILTER").iterdir()) == sorted(
        f"photoz_{b}_{c.sha256[:16]}.res" for b, c in sets["own"].items())
    assert (folder / "SED").is_symlink() and len(list((folder / "AB").iterdir())) == len(list((folder / "AB").glob("*.AB"))) == 8 * len(BANDS)
    assert _bpz_colour(folder, "photoz_g_{}", "photoz_r_{}", sets["own"]) == pytest.approx(_our_colour(folder, sets["own"]), abs=1e-3)
    _, z_lsst = bpz(sets["shifted_as_lsst"])  # the same fluxes through RAIL's LSST curves
    assert abs(_bpz_colour(folder, "DC2LSST_g", "DC2LSST_r", None) - _our_colour(folder, sets["own"])) > 0.1
    z = np.asarray(sets["shifted"].catalog["redshift"])
    dz_own, dz_lsst = np.abs(delta_z(z_own, z)), np.abs(delta_z(z_lsst, z))
    assert np.median(dz_own) < 0.8 * np.median(dz_lsst), (np.median(dz_own), np.median(dz_lsst))
    with pytest.raises(DataError, match=r"its filters \(lsst's built-in curves\) are not those this rail_bpz model"):
        est.predict(sets["lsst"], np.arange(3))
    del est
    gc.collect()
    assert not folder.exists()  # the BPZ folder goes with the estimator


def _bpz_colour(folder: Path, g: str, r: str, curves: dict | None) -> float:
    """g − r of BPZ's Sbc template at z = 1 from the AB files BPZ wrote: in the estimator's own folder,
    or for DC2LSST in RAIL's (RAIL ships none: the rail_bpz run on the LSST curves makes them)."""
    from photoz.estimators.bpz_templates import ab_name, rail_bpz_data

    ab = (folder if curves else rail_bpz_data()) / "AB"
    if curves:
        g, r = g.format(curves["g"].sha256[:16]), r.format(curves["r"].sha256[:16])
    flux = [np.loadtxt(ab / ab_name("Sbc_B2004a", name, "no")) for name in (g, r)]
    return float(-2.5 * np.log10(flux[0][100, 1] / flux[1][100, 1]))  # row 100: z = 1.00


def _our_colour(folder: Path, curves: dict) -> float:
    """The same colour by photoz.physics.sed through the set's curves (nm; photons ∝ λ f_λ)."""
    from photoz.physics.sed import band_flux_table

    wave, flam = np.loadtxt(folder / "SED" / "Sbc_B2004a.sed", unpack=True)  # Å, f_λ
    flux = band_flux_table([lambda nm: np.interp(nm * 10, wave, flam) * nm], [curves["g"], curves["r"]],
                           np.array([1.0]), (0.0,), False)[0, 0, 0]
    return float(-2.5 * np.log10(flux[0] / flux[1]))
