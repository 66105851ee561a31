"""Random forest and kNN baselines: they learn, give PDFs, handle non-detections, log and load."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from tinydata import make_tiny_dataset
from helpers import mlflow_store, model_cfg  # noqa: F401 (fixture)

from photoz.errors import DataError
from photoz.estimators.build import estimator_class
from photoz.estimators.catalog_ml import KNNEstimator, RandomForestEstimator
from photoz.data.features import asinh_magnitudes, magnitude_colour_features
from photoz.predictions.metrics import delta_z, sigma_mad

SMALL = {"random_forest": {"n_estimators": 20, "n_jobs": 1}, "knn": {"n_neighbors": 7, "n_jobs": 1}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("d") / "set", n=240, seed=2)


@pytest.mark.parametrize("name", ["random_forest", "knn"])
def test_learns_and_predicts_pdfs(name, data) -> None:
    est = estimator_class(name)(model_cfg(name, **SMALL[name]))
    reports = []
    est.fit(data, lambda epoch, m: reports.append((epoch, m)))
    assert [r[0] for r in reports] == [0] and set(reports[0][1]) == {"val_sigma_mad", "val_bias", "val_eta"}
    test = data.split_index("test")
    pred = est.predict(data, test)
    z = pred.z_spec
    constant = sigma_mad(delta_z(np.full_like(z, np.median(z)), z))
    assert sigma_mad(delta_z(pred.z_phot, z)) < 0.5 * constant  # colours carry z in this toy set
    assert pred.pdf.shape == (len(test), len(est.grid)) == (len(test), 180)
    np.testing.assert_allclose(pred.pdf.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(pred.z_err > 0)
    assert est.n_trainable_params() > 0


def test_parameter_counts(data) -> None:
    rf = RandomForestEstimator(model_cfg("random_forest", **SMALL["random_forest"]))
    rf.fit(data, lambda *_: None)
    assert rf.n_trainable_params() == sum(t.tree_.node_count for t in rf.model.estimators_)
    knn = KNNEstimator(model_cfg("knn", **SMALL["knn"]))
    knn.fit(data, lambda *_: None)
    n_train, n_features = len(data.split_index("train")), 2 * len(data.bands) - 1
    assert knn.n_trainable_params() == n_train * (n_features + 1)


def test_non_detections_give_finite_monotonic_features() -> None:
    flux = np.array([[-30.0, 0.0, 5.0, 1e4]])
    mags = asinh_magnitudes(flux, np.full(4, 10.0))
    assert np.all(np.isfinite(mags)) and np.all(np.diff(mags) < 0)
    assert abs(mags[0, -1] - (31.4 - 2.5 * np.log10(1e4))) < 1e-3  # bright: the AB magnitude
    assert magnitude_colour_features(flux, np.full(4, 10.0)).shape == (1, 7)


@pytest.mark.parametrize("cls,name", [(RandomForestEstimator, "random_forest"), (KNNEstimator, "knn")])
def test_logged_model_round_trips(cls, name, data, tmp_path, mlflow_store) -> None:
    est = cls(model_cfg(name, **SMALL[name]))
    est.fit(data, lambda *_: None)
    mlflow.set_tracking_uri(mlflow_store)
    with mlflow.start_run() as run:
        est.log_model()
    loaded = cls.load(f"runs:/{run.info.run_id}/model")
    idx = data.split_index("test")
    np.testing.assert_allclose(loaded.predict(data, idx).pdf, est.predict(data, idx).pdf)
    other = make_tiny_dataset(tmp_path / "gri", n=12, bands=list("gri"))
    with pytest.raises(DataError, match="bands"):
        loaded.predict(other, np.arange(12))
