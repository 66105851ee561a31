"""The ensemble estimator (photoz.estimators.ensemble) on fitted members, without MLflow: its PDF
is the weighted mean of the members' on its grid, two identical members give the member, and what
cannot be an ensemble is one line. End to end (MLflow, entry points): tests/test_ensemble_e2e.py."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import model_cfg, template_dataset

from photoz.config import as_schema
from photoz.errors import ConfigError, DataError
from photoz.estimators.base import Estimator
from photoz.estimators.catalog_ml import KNNEstimator, RandomForestEstimator
from photoz.estimators.ensemble import EnsembleEstimator
from photoz.estimators.ensemble_members import Member, check_runs, label
from photoz.estimators.schema import EnsembleSchema
from photoz.predictions.pdf import regrid
from photoz.predictions.table import Predictions


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return template_dataset(tmp_path_factory.mktemp("ens") / "set", n=90, noise=True, rel_err=0.05)


def _member(run_id: str, weight: float = 1.0, name: str = "knn") -> Member:
    return Member(run_id, name, name, f"runs:/{run_id}/m", weight, 10.0, 2.0, float("nan"))


def _ensemble(members: list[tuple[Member, Estimator]], **cfg) -> EnsembleEstimator:
    ens = EnsembleEstimator(as_schema(EnsembleSchema, {"runs": [m.run_id for m, _ in members], **cfg}))
    ens.members, ens.estimators = [m for m, _ in members], [e for _, e in members]
    return ens


def _fitted(cls, data, **cfg):
    est = cls(model_cfg("knn" if cls is KNNEstimator else "random_forest", n_jobs=1, **cfg))
    est.fit(data, lambda *_: None)
    return est


def test_the_ensemble_of_two_identical_members_is_the_member(data) -> None:
    knn = _fitted(KNNEstimator, data, n_neighbors=5)
    test = data.split_index("test")
    alone, both = knn.predict(data, test), _ensemble([(_member("a"), knn), (_member("b"), knn)]).predict(data, test)
    np.testing.assert_array_equal(both.ids, alone.ids)
    np.testing.assert_allclose(both.pdf, alone.pdf, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(both.z_phot, alone.z_phot, rtol=1e-6)
    np.testing.assert_allclose(both.z_err, alone.z_err, rtol=1e-5)


def test_members_on_other_grids_are_weighted_and_averaged_on_the_ensembles_grid(data) -> None:
    knn = _fitted(KNNEstimator, data, n_neighbors=5, n_bins=90, z_max=3.0)
    rf = _fitted(RandomForestEstimator, data, n_estimators=20)
    ens = _ensemble([(_member("k", 3.0), knn), (_member("r", 1.0, "random_forest"), rf)], n_bins=120, z_max=3.5)
    test = data.split_index("test")
    a, b = knn.predict(data, test), rf.predict(data, test)
    want = (3 * regrid(a.pdf, a.z_grid, ens.grid) + regrid(b.pdf, b.z_grid, ens.grid)) / 4
    got = ens.predict(data, test)
    assert got.pdf.shape == (len(test), 120)
    np.testing.assert_allclose(got.pdf, want, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(got.z_phot, Predictions.from_pdf(a.ids, a.z_spec, want, ens.grid).z_phot, rtol=1e-6)
    assert ens.n_trainable_params() == 20 and ens.cost() == {"train_seconds": 4.0}  # FLOPs: not every member has them


class _NoPdf(Estimator):
    """A member whose predictions carry no PDF (as a CNN with the regression head)."""

    def fit(self, data, on_epoch): ...
    def n_trainable_params(self): return 0
    def log_model(self): ...
    @classmethod
    def from_model_folder(cls, folder, mlmodel, where): ...

    def predict(self, data, index):
        z = np.asarray(data.catalog["redshift"])[index]
        return Predictions(index, z, z, np.full(len(z), 0.1))


def test_a_member_without_a_pdf_is_refused_in_one_line(data) -> None:
    knn = _fitted(KNNEstimator, data, n_neighbors=5)
    ens = _ensemble([(_member("a"), knn), (_member("b"), _NoPdf())])
    with pytest.raises(DataError, match=r"^run b \(knn\) gives no PDF .*leave it out$"):
        ens.predict(data, data.split_index("test"))


@pytest.mark.parametrize("runs, extra, message", [
    ([], {}, "no member runs; give them"),
    (["a"], {}, "at least two member runs .*add model.calibration=pit"),
    (["a", "b", "a"], {}, "run a is a member twice"),
    (["a", "b"], {"weights": [1.0]}, r"model.weights=\[1.0\]: give one positive weight per member run \(2\)"),
    (["a", "b"], {"weights": [1.0, 0.0]}, "one positive weight"),
])  # fmt: skip
def test_member_lists_an_ensemble_cannot_be_made_of_are_one_line(runs, extra, message) -> None:
    with pytest.raises(ConfigError, match=message):
        check_runs(as_schema(EnsembleSchema, {"runs": runs, **extra}))
    check_runs(as_schema(EnsembleSchema, {"runs": ["a"], "calibration": "pit"}))  # one run, recalibrated: fine


def test_its_row_label_counts_the_members() -> None:
    seq = [_member(str(i), name="sequential") for i in range(5)]
    assert label(seq, False) == "ensemble-5xsequential"
    assert label([*seq[:2], _member("f", name="rail_flexzboost")], True) == "ensemble-rail_flexzboost-2xsequential-calibrated"
    assert label(seq[:1], True) == "sequential-calibrated"
