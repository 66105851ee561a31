"""No redshift of an unlabelled galaxy reaches any estimator.

Two data sets that differ only in the redshifts of the galaxies data.labels leaves unlabelled
(the same images, photometry and labelled redshifts) must give every estimator, fitted through
the view photoz.data.source hands it, exactly the same predictions. The control shows the test
can fail: a random forest that does read those redshifts (the train and unlabelled rows of the
data set itself) predicts differently on the two."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tinydata import make_tiny_dataset

from photoz.config import compose, to_typed
from photoz.data import Dataset, write_dataset
from photoz.data.source import open_dataset
from photoz.estimators.build import build_estimator

LABELS = ["data.labels.n=16"]
ESTIMATORS = {
    "random_forest": ["model=random_forest", "model.n_estimators=10", "model.n_jobs=1"],
    "knn": ["model=knn", "model.n_neighbors=5", "model.n_jobs=1"],
    "template_fit": ["model=template_fit"],
    "sequential": ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.max_epochs=2",
                   "trainer.num_threads=1", "trainer.precision=fp32", "trainer.progress=false"],
}  # fmt: skip


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> tuple[Path, Path]:
    """Two data sets identical but for the redshifts of the galaxies LABELS leaves unlabelled."""
    root = tmp_path_factory.mktemp("twins")
    a = make_tiny_dataset(root / "a", n=64)
    hidden = open_dataset(to_typed(compose("data=directory", f"data.path={a.path}", *LABELS)).data).split_index("unlabelled")
    catalog = a.catalog.copy()
    z = np.asarray(catalog["redshift"], float)
    z[hidden] = 1.55 - z[hidden]  # another redshift for each, in the same range
    catalog["redshift"] = z
    b = write_dataset(root / "b", np.asarray(a.images), catalog, a.meta)
    return a.path, b.path


def _fit_predict(path: Path, overrides: list[str], workdir: Path) -> np.ndarray:
    cfg = to_typed(compose("data=directory", f"data.path={path}", *LABELS, *overrides))
    data = open_dataset(cfg.data)
    estimator = build_estimator(cfg, str(workdir))
    estimator.check(data)
    estimator.fit(data, lambda epoch, metrics: None)
    return estimator.predict(data, data.split_index("test")).z_phot


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_unlabelled_redshifts_never_change_an_estimator(twins: tuple[Path, Path], name: str, tmp_path: Path) -> None:
    a, b = (_fit_predict(p, ESTIMATORS[name], tmp_path / p.name) for p in twins)
    if name == "sequential":  # its fast inference path may pick another backend between the two
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(a, b)


def test_the_control_a_leak_would_be_seen(twins: tuple[Path, Path]) -> None:
    from photoz.data import read_dataset
    from photoz.estimators.catalog_ml import RandomForestEstimator
    from photoz.estimators.schema import RandomForestSchema

    predictions = []
    for path in twins:
        data = read_dataset(path)  # the data set itself: every train row keeps its redshift
        est = RandomForestEstimator(RandomForestSchema(n_estimators=10, n_jobs=1))
        est.fit(data, lambda epoch, metrics: None)
        predictions.append(est.predict(data, data.split_index("test")).z_phot)
    assert not np.allclose(*predictions)


def test_the_view_holds_no_unlabelled_redshift(twins: tuple[Path, Path]) -> None:
    views = [open_dataset(to_typed(compose("data=directory", f"data.path={p}", *LABELS)).data) for p in twins]
    for column in views[0].catalog.colnames:
        if column not in ("split",):
            np.testing.assert_array_equal(np.asarray(views[0].catalog[column]), np.asarray(views[1].catalog[column]))
