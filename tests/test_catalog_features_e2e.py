"""model.catalog_features end to end: `python -m photoz.train` logs a two-input model (signature
images + catalog) and its FLOPs, `python -m photoz.predict` feeds both inputs and reproduces the
logged test metrics; a missing column or a missing timm extra is one line before any run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from mlflow.tracking import MlflowClient
from test_train_e2e import assert_one_error_line, runs_of, train, uri

from tinydata import make_tiny_dataset
from photoz.data import Dataset, read_dataset, write_dataset
from photoz.predictions.metrics import point_metrics
from photoz.estimators.logged import run_model_uri

CNN = ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.max_epochs=1"]
WITH_CATALOG = "model.catalog_features=[photometry,ebv]"


def _with_ebv(data: Dataset, target: Path) -> Dataset:
    catalog = data.catalog.copy()
    catalog["ebv"] = np.linspace(0.0, 0.1, len(catalog))
    return write_dataset(target, np.asarray(data.images), catalog, dict(data.meta))


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Dataset]:
    tmp = tmp_path_factory.mktemp("data")
    plain = make_tiny_dataset(tmp / "plain", n=48)
    return {"plain": plain, "ebv": _with_ebv(plain, tmp / "ebv")}


def test_train_and_predict_feed_images_and_catalogue(sets, store: Path, tmp_path: Path) -> None:
    data = sets["ebv"]
    res = train(tmp_path, store, "data=directory", f"data.path={data.path}", *CNN, WITH_CATALOG, "tracking.experiment=cat")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Warning" not in res.stderr, res.stderr[-3000:]  # the two-input example validated, no type-hint warning
    (run,) = runs_of(store, "cat")
    run_id = run.info.run_id
    assert run.info.status == "FINISHED" and run.data.params["model.catalog_features"] == "['photometry', 'ebv']"
    assert run.data.metrics["flops_per_galaxy"] > 0
    mlflow.set_tracking_uri(uri(store))
    signature = mlflow.models.get_model_info(run_model_uri(MlflowClient(uri(store)), run_id)).signature
    assert signature.inputs.input_names() == ["images", "catalog"]
    assert [s.shape for s in signature.inputs.inputs] == [(-1, 6, 16, 16), (-1, 7)]

    out = tmp_path / "zphot.fits"
    cmd = [sys.executable, "-m", "photoz.predict", f"run={run_id}", f"input={data.path}", f"output={out}",
           f"tracking.uri={uri(store)}", f"hydra.run.dir={tmp_path / 'predict'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = Table.read(out, hdu="PHOTOZ")
    test = data.split_index("test")
    logged = run.data.metrics["test_sigma_mad"]
    assert point_metrics(table["z_phot"][test], table["z_spec"][test])["sigma_mad"] == pytest.approx(logged, rel=1e-5)

    from photoz.estimators.cnn import CNNEstimator

    moved = read_dataset(data.path)
    moved.catalog["ebv"] = moved.catalog["ebv"] + 1.0  # the catalogue column changes the prediction
    shifted = CNNEstimator.load(run_model_uri(MlflowClient(uri(store)), run_id)).predict(moved, test)
    assert not np.allclose(shifted.z_phot, table["z_phot"][test])

    cmd[4] = f"input={sets['plain'].path}"  # a set without the ebv column the model reads
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert_one_error_line(proc, "has no column ebv")


def test_a_column_the_data_set_lacks_is_one_line_before_any_run(sets, store: Path, tmp_path: Path) -> None:
    res = train(tmp_path, store, "data=directory", f"data.path={sets['plain'].path}", *CNN, WITH_CATALOG,
                "tracking.experiment=nocol")  # fmt: skip
    assert_one_error_line(res, "catalog.fits has no column ebv that model.catalog_features")
    assert runs_of(store, "nocol") == []


@pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed here")
def test_model_timm_without_the_extra_is_one_line_before_any_run(sets, store: Path, tmp_path: Path) -> None:
    res = train(tmp_path, store, "data=directory", f"data.path={sets['plain'].path}", "model=timm",
                "trainer.max_epochs=1", "tracking.experiment=notimm")  # fmt: skip
    assert_one_error_line(res, "pip install 'photoz[timm]'")
    assert runs_of(store, "notimm") == []
