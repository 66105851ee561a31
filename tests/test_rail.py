"""RAIL's estimators through photoz.train, qp output read back by qp and scored by RAIL's own
metrics, and the one-line errors (no extra, a RAIL failure). Needs the [rail] extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from mlflow.tracking import MlflowClient
from tinydata import make_tiny_dataset

pytest.importorskip("rail.estimation.algos.flexzboost", reason='the [rail] extra is not installed: pip install -e ".[rail]"')
qp = pytest.importorskip("qp", reason='the [rail] extra is not installed: pip install -e ".[rail]"')

from photoz.config import compose, to_typed  # noqa: E402
from photoz.estimators.build import estimator_class  # noqa: E402
from photoz.estimators.logged import run_model_uri  # noqa: E402
from photoz.job.run import run  # noqa: E402

# tiny-set settings: seconds per estimator (the yaml defaults are sized for 16,000 galaxies)
SMALL = {
    "rail_flexzboost": ["model.inform.max_basis=5", "model.inform.nbump=2", "model.inform.nsharp=2",
                        "model.inform.regression_params.max_depth=2", "model.inform.regression_params.n_estimators=10",
                        "model.inform.retrain_full=false"],
    "rail_bpz": [],
    "rail_knn": ["model.inform.nneigh_max=5", "model.inform.ngrid_sigma=3"],
    "rail_cmnn": ["model.estimate.min_n=5"],
    "knn": ["model.n_neighbors=5", "model.n_jobs=1"],
}
N, N_TRAIN = 60, 36  # tinydata: 60 % train, 20 % val, 20 % test


def common(tmp: Path, data_path: Path) -> list[str]:
    return ["data=directory", f"data.path={data_path}", f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
            f"tracking.artifact_root={tmp / 'artifacts'}", "tracking.experiment=rail", "trainer.progress=false",
            f"trainer.checkpoint_dir={tmp / 'ckpt'}"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every RAIL estimator and photoz's knn trained by photoz.train's run() on one tiny set."""
    tmp = tmp_path_factory.mktemp("rail")
    data = make_tiny_dataset(tmp / "set", n=N)
    for name, over in SMALL.items():
        run(to_typed(compose(*common(tmp, data.path), f"model={name}", *over)))
    client = MlflowClient(f"sqlite:///{tmp / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("rail").experiment_id])
    return {"tmp": tmp, "data": data, "client": client, "runs": {r.data.tags["model"]: r for r in runs}}


def test_each_rail_estimator_trains_predicts_and_logs(trained) -> None:
    client, runs, data = trained["client"], trained["runs"], trained["data"]
    assert set(runs) == set(SMALL)
    for name, r in runs.items():
        assert r.info.status == "FINISHED", (name, r.data.tags.get("error"))
        m = r.data.metrics
        assert {"val_sigma_mad", "best_val_sigma_mad", "test_sigma_mad", "test_sigma_iqr", "test_outlier_rate",
                "train_seconds", "test_galaxies_per_s", "n_trainable_params"} <= set(m), name
        files = {f.path for f in client.list_artifacts(r.info.run_id, "predictions")}
        assert {"predictions/test_predictions.fits", "predictions/test_predictions.hdf5"} <= files, name
        assert client.search_logged_models([r.info.experiment_id], filter_string=f"source_run_id = '{r.info.run_id}'"), name
    params = {name: runs[name].data.metrics["n_trainable_params"] for name in runs}
    assert params["rail_bpz"] == 0  # the HDFN prior: nothing fitted
    assert params["rail_knn"] == N_TRAIN * 5 + N_TRAIN + 2  # KD-tree (5 colours), redshifts, σ and k
    assert params["rail_cmnn"] == N_TRAIN * 5 * 2 + N_TRAIN  # colours, their errors, redshifts
    assert params["rail_flexzboost"] > 2
    # the logged model predicts what the run logged (the path photoz.predict takes)
    for name in ("rail_flexzboost", "rail_knn"):
        est = estimator_class(name).load(run_model_uri(client, runs[name].info.run_id), trust_pickles=True)
        local = client.download_artifacts(runs[name].info.run_id, "predictions/test_predictions.fits", str(trained["tmp"]))
        np.testing.assert_allclose(est.predict(data, data.split_index("test")).z_phot, Table.read(local)["z_phot"], rtol=1e-6)
    # and its MLflow pyfunc face (mlflow models serve) takes fluxes
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(f"sqlite:///{trained['tmp'] / 'mlflow.db'}")
    pyfunc = mlflow.pyfunc.load_model(run_model_uri(client, runs["rail_knn"].info.run_id))
    test = data.split_index("test")
    flux, err = data.fluxes(test)
    frame = pd.DataFrame({**{f"flux_{b}": flux[:, j] for j, b in enumerate(data.bands)},
                          **{f"flux_err_{b}": err[:, j] for j, b in enumerate(data.bands)}})
    np.testing.assert_allclose(pyfunc.predict(frame)["z_phot"], est.predict(data, test).z_phot, rtol=1e-6)


def test_rail_estimators_take_the_configured_point_estimate(trained, tmp_path) -> None:
    """model.point_estimate picks z_phot from RAIL's PDF as for photoz's own PDF estimators (it
    was once ignored: every rail_* run scored z* whatever the config said)."""
    run(to_typed(compose(*common(tmp_path, trained["data"].path), "model=rail_knn", *SMALL["rail_knn"],
                         "model.point_estimate=mean")))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (r,) = client.search_runs([client.get_experiment_by_name("rail").experiment_id])
    table = Table.read(client.download_artifacts(r.info.run_id, "predictions/test_predictions.fits", str(tmp_path)))
    np.testing.assert_allclose(table["z_phot"], table["z_mean"], rtol=1e-6)
    assert np.abs(table["z_phot"] - table["z_zstar"]).max() > 1e-3  # not z*, the default


def test_compare_lists_the_rail_estimators(trained) -> None:
    tmp = trained["tmp"]
    proc = subprocess.run([sys.executable, "-m", "photoz.compare", f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
                           "tracking.experiment=rail", f"output={tmp / 'compare'}", "log_run=false",
                           f"hydra.run.dir={tmp / 'hydra-compare'}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = Table.read(tmp / "compare" / "comparison.csv")
    assert set(SMALL) <= set(rows["model"])


def test_qp_file_gives_rails_metrics_equal_to_photoz(trained) -> None:
    from rail.evaluation.metrics.pointestimates import PointBias, PointOutlierRate, PointSigmaIQR, PointSigmaMAD

    client = trained["client"]
    for name in ("rail_bpz", "knn"):  # a RAIL estimator and a photoz one: every run writes qp
        r = trained["runs"][name]
        path = client.download_artifacts(r.info.run_id, "predictions/test_predictions.hdf5", str(trained["tmp"] / name))
        ens = qp.read(path)
        assert ens.npdf == len(trained["data"].split_index("test"))
        z_phot, z_spec = ens.ancil["z_phot"].ravel(), ens.ancil["redshift"].ravel()
        m = r.data.metrics
        assert PointSigmaMAD(z_phot, z_spec).evaluate() == pytest.approx(m["test_sigma_mad"], rel=1e-9)
        assert PointSigmaIQR(z_phot, z_spec).evaluate() == pytest.approx(m["test_sigma_iqr"], rel=1e-9)
        assert PointBias(z_phot, z_spec).evaluate() == pytest.approx(m["test_bias_median"], rel=1e-9, abs=1e-12)
        assert PointOutlierRate(z_phot, z_spec).evaluate() == pytest.approx(m["test_outlier_rate"], abs=1e-12)
        table = Table.read(client.download_artifacts(r.info.run_id, "predictions/test_predictions.fits", str(trained["tmp"] / name)))
        grid = (np.arange(180) + 0.5) * 3.5 / 180
        mean = (ens.pdf(grid) * grid).sum(1) / ens.pdf(grid).sum(1)  # the PDF itself round-trips
        np.testing.assert_allclose(mean, table["z_mean"], rtol=1e-6)


def test_predict_format_qp_through_the_entry_point(trained) -> None:
    tmp, r = trained["tmp"], trained["runs"]["rail_bpz"]
    out = tmp / "zphot.hdf5"
    cmd = [sys.executable, "-m", "photoz.predict", f"run={r.info.run_id}", f"input={trained['data'].path}",
           "format=qp", f"output={out}", "batch_size=25", f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
           f"hydra.run.dir={tmp / 'hydra-predict'}"]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300)  # RAIL's models are pickles
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "pickles" in refused.stderr and "trust_pickles=true" in refused.stderr and not out.exists()
    proc = subprocess.run([*cmd, "trust_pickles=true"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ens = qp.read(str(out))
    assert ens.npdf == N and list(ens.ancil["id"].ravel()) == list(trained["data"].catalog["id"])
    assert not list(tmp.glob(".zphot.tmp-*"))


def test_a_rail_failure_ends_the_run_failed_in_one_line(trained, tmp_path) -> None:
    from photoz.estimators.rail import RailError

    cfg = compose(*common(tmp_path, trained["data"].path), "model=rail_knn", "model.inform.nneigh_max=500")
    with pytest.raises(RailError, match="KNearNeighInformer failed") as err:
        run(to_typed(cfg))
    assert "\n" not in str(err.value)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (failed,) = client.search_runs([client.get_experiment_by_name("rail").experiment_id])
    assert failed.info.status == "FAILED" and "KNearNeighInformer failed" in failed.data.tags["error"]
    assert "\n" not in failed.data.tags["error"]


def test_unknown_rail_option_is_one_line(trained, tmp_path) -> None:
    from omegaconf import open_dict

    from photoz.errors import ConfigError

    cfg = compose("model=rail_knn")
    with open_dict(cfg):
        cfg.model.inform.nneigh = 3  # a typo of nneigh_min: RAIL itself would ignore it
    with pytest.raises(ConfigError, match="model.inform.nneigh is not an option of RAIL's KNearNeighInformer"):
        estimator_class("rail_knn")(to_typed(cfg).model)


def test_without_the_extra_model_rail_is_one_line(trained, tmp_path) -> None:
    code = ("import runpy, sys; sys.modules['rail'] = None; "  # as if pz-rail-* were not installed
            "runpy.run_module('photoz.train', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, "model=rail_flexzboost", *common(tmp_path, trained["data"].path),
                           f"hydra.run.dir={tmp_path / 'hydra'}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("photoz: error:")]
    assert 'model=rail_flexzboost needs LSST DESC RAIL' in line and 'pip install -e ".[rail]"' in line
    assert not (tmp_path / "mlflow.db").exists()  # refused before any data set or MLflow run


def test_bpz_makes_its_template_fluxes_when_desc_bpz_was_imported_first(trained, tmp_path) -> None:
    """BPZ_lite computes each template × filter flux table (AB file) on first use with desc_bpz,
    which reads BPZDATAPATH once, at import, while RAIL sets it later. In a process that imported
    desc_bpz first (as tests/estimators/test_template_fit.py does), the first rail_bpz run on a
    fresh install failed with "Either set BPZDATAPATH or call set_sed_dir". Here the data folder
    is a copy of RAIL's without the AB files, so they must be made."""
    from photoz.estimators.bpz_templates import rail_bpz_data

    shipped = rail_bpz_data()
    ref = tmp_path / "bpz_data"
    for sub in ("SED", "FILTER"):
        shutil.copytree(shipped / sub, ref / sub)
    code = ("import os, runpy; os.environ.pop('BPZDATAPATH', None); import desc_bpz.paths; "
            "runpy.run_module('photoz.train', run_name='__main__')")
    over = [f"+model.inform.bpz_ref_data_path={ref}", f"+model.estimate.bpz_ref_data_path={ref}"]
    proc = subprocess.run([sys.executable, "-c", code, "model=rail_bpz", *over, *common(tmp_path, trained["data"].path),
                           f"hydra.run.dir={tmp_path / 'hydra'}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "finished run rail_bpz" in proc.stdout
    assert len(list((ref / "AB").glob("*.AB"))) == 8 * 6  # CWWSB4's 8 templates × ugrizy
