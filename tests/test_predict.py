"""photoz.predict: a logged model round-trips through the real entry point; bad input is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from conftest import make_tiny_dataset
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from photoz.errors import DataError, PhotozError
from photoz.estimators.catalog_ml import KNNEstimator
from photoz.predict import predict

CONF = str(Path(__file__).resolve().parents[1] / "conf")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A kNN fitted on a tiny set and logged to a fresh SQLite store, plus a run without a model."""
    tmp = tmp_path_factory.mktemp("predict")
    data = make_tiny_dataset(tmp / "set", n=60)
    cfg = OmegaConf.create({"model": {"name": "knn", "n_bins": 50, "z_max": 2.0, "n_neighbors": 5,
                                      "weights": "distance", "pdf_smoothing": 0.02, "n_jobs": 1}, "seed": 0})
    est = KNNEstimator(cfg)
    est.fit(data, lambda *_: None)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("tiny", artifact_location=(tmp / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=exp, tags={"model": "knn"}) as run:
        est.log_model()
    with mlflow.start_run(experiment_id=exp, tags={"model": "knn"}) as empty:
        pass
    return {"tmp": tmp, "data": data, "est": est, "uri": uri, "run": run.info.run_id, "empty": empty.info.run_id}


def _cfg(**kw):
    overrides = [f"{k}={v}" for k, v in kw.items()]
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("predict", overrides=overrides)


def test_round_trip_through_entry_point(logged) -> None:
    out = logged["tmp"] / "zphot.fits"
    cmd = [sys.executable, "-m", "photoz.predict", f"run={logged['run']}", f"input={logged['data'].path}",
           f"output={out}", "pdf=true", "batch_size=7", f"tracking.uri={logged['uri']}",
           f"hydra.run.dir={logged['tmp'] / 'hydra'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "galaxies/s" in proc.stdout
    table = Table.read(out, hdu="PHOTOZ")
    data = logged["data"]
    expected = logged["est"].predict(data, np.arange(len(data)))
    np.testing.assert_array_equal(table["id"], expected.ids)
    np.testing.assert_allclose(table["z_phot"], expected.z_phot, rtol=1e-12)
    np.testing.assert_allclose(table["z_q50"], expected.quantiles()[:, 1], rtol=1e-12)
    np.testing.assert_allclose(table["pdf"], expected.pdf, rtol=1e-6)
    assert table.meta["PDF_NBIN"] == 50 and abs(table.meta["PDF_ZMAX"] - 2.0) < 1e-12
    assert not list(out.parent.glob(".zphot.fits.tmp-*"))


def test_run_without_model_is_one_line(logged) -> None:
    cmd = [sys.executable, "-m", "photoz.predict", f"run={logged['empty']}", f"input={logged['data'].path}",
           f"tracking.uri={logged['uri']}", f"hydra.run.dir={logged['tmp'] / 'hydra2'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("photoz: error:")]
    assert len(lines) == 1 and "has no loadable model" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_other_bands_and_bad_arguments(logged) -> None:
    other = make_tiny_dataset(logged["tmp"] / "gri", n=12, bands=list("gri"))
    out = logged["tmp"] / "never.fits"
    with pytest.raises(DataError, match="bands"):
        predict(_cfg(run=logged["run"], input=other.path, output=out, **{"tracking.uri": logged["uri"]}))
    assert not out.exists() and not list(out.parent.glob(".never.fits.tmp-*"))
    with pytest.raises(PhotozError, match="exactly one of"):
        predict(_cfg(input=other.path, output=out))
    with pytest.raises(PhotozError, match="input="):
        predict(_cfg(run=logged["run"]))
