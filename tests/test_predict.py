"""photoz.predict: a model trained by photoz.train round-trips through the real entry point;
bad input is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from tinydata import make_tiny_dataset
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

from photoz.errors import ConfigError, DataError, PhotozError
from photoz.estimators.catalog_ml import KNNEstimator
from photoz.predictions.metrics import point_metrics
from photoz.predict import predict

CONF = str(Path(__file__).resolve().parents[1] / "conf")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A kNN trained by `python -m photoz.train` on a tiny set, plus a run that logged no model."""
    tmp = tmp_path_factory.mktemp("predict")
    data = make_tiny_dataset(tmp / "set", n=60)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "photoz.train", "model=knn", "model.n_neighbors=5", "model.n_jobs=1",
           "data=directory", f"data.path={data.path}", f"tracking.uri={uri}", "tracking.experiment=tiny",
           f"tracking.artifact_root={tmp / 'artifacts'}", f"hydra.run.dir={tmp / 'train'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("tiny").experiment_id
    (run,) = client.search_runs([exp])
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=exp, tags={"model": "knn"}) as empty:
        pass
    return {"tmp": tmp, "data": data, "uri": uri, "run": run, "empty": empty.info.run_id}


def _cfg(**kw):
    overrides = [f"{k}={v}" for k, v in kw.items()]
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("predict", overrides=overrides)


def test_round_trip_through_entry_point(logged) -> None:
    out = logged["tmp"] / "zphot.fits"
    run_id = logged["run"].info.run_id
    cmd = [sys.executable, "-m", "photoz.predict", f"run={run_id}", f"input={logged['data'].path}",
           f"output={out}", "pdf=true", "batch_size=7", f"tracking.uri={logged['uri']}",
           f"hydra.run.dir={logged['tmp'] / 'hydra'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "galaxies/s" in proc.stdout and "NumExpr" not in proc.stdout  # pandas' numexpr says nothing
    table = Table.read(out, hdu="PHOTOZ")
    data = logged["data"]
    mlflow.set_tracking_uri(logged["uri"])
    expected = KNNEstimator.load(f"runs:/{run_id}/knn").predict(data, np.arange(len(data)))  # named after the run
    np.testing.assert_array_equal(table["id"], data.catalog["id"])
    np.testing.assert_allclose(table["z_phot"], expected.z_phot, rtol=1e-12)
    np.testing.assert_allclose(table["z_q50"], expected.quantiles()[:, 1], rtol=1e-12)
    np.testing.assert_allclose(table["pdf"], expected.pdf, rtol=1e-6)
    assert table.meta["PDF_NBIN"] == 180 and abs(table.meta["PDF_ZMAX"] - 3.5) < 1e-12
    test = data.split_index("test")  # the same numbers photoz.train logged for the test split
    logged_sigma = logged["run"].data.metrics["test_sigma_mad"]
    assert point_metrics(table["z_phot"][test], table["z_spec"][test])["sigma_mad"] == pytest.approx(logged_sigma)
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
        predict(_cfg(run=logged["run"].info.run_id, input=other.path, output=out, **{"tracking.uri": logged["uri"]}))
    assert not out.exists() and not list(out.parent.glob(".never.fits.tmp-*"))
    with pytest.raises(PhotozError, match="exactly one of"):
        predict(_cfg(input=other.path, output=out))
    with pytest.raises(ConfigError, match="precision=int8 applies to the CNNs; .* drop precision=int8"):
        predict(_cfg(run=logged["run"].info.run_id, input=logged["data"].path, output=out, precision="int8",
                     **{"tracking.uri": logged["uri"]}))  # fmt: skip
    assert not out.exists()


def test_without_input_it_predicts_the_runs_own_data_set(logged) -> None:
    run_id, out = logged["run"].info.run_id, logged["tmp"] / "own.fits"
    assert logged["run"].data.tags["data"] == str(logged["data"].path)  # photoz.train recorded it
    cmd = [sys.executable, "-m", "photoz.predict", f"run={run_id}", f"output={out}", f"tracking.uri={logged['uri']}",
           f"hydra.run.dir={logged['tmp'] / 'hydra3'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_array_equal(Table.read(out, hdu="PHOTOZ")["id"], logged["data"].catalog["id"])
    client = MlflowClient(logged["uri"])
    client.delete_tag(run_id, "data")  # a run that does not say what it trained on
    try:
        with pytest.raises(PhotozError, match="records no data set .* give input="):
            predict(_cfg(run=run_id, output=out, **{"tracking.uri": logged["uri"]}))
    finally:
        client.set_tag(run_id, "data", str(logged["data"].path))


def test_a_model_folder_sent_without_its_store_predicts_and_creates_no_store(logged, tmp_path: Path) -> None:
    """model_uri=<a model folder copied from elsewhere>, tracking.uri naming no store: the folder's
    MLmodel is read as YAML (MLflow's get_model_info would create the store to look its id up)."""
    mlflow.set_tracking_uri(logged["uri"])
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{logged['run'].info.run_id}/knn", dst_path=str(tmp_path / "sent")))
    nowhere = tmp_path / "no_store"
    out = predict(_cfg(model_uri=str(folder), input=logged["data"].path, output=tmp_path / "z.fits",
                       **{"tracking.uri": f"sqlite:///{nowhere}/mlflow.db"}))  # fmt: skip
    assert len(Table.read(out, hdu="PHOTOZ")) == len(logged["data"]) and not nowhere.exists()
    with pytest.raises(ConfigError, match="records no data set .* give input="):  # no store, so no run tag 'data'
        predict(_cfg(model_uri=str(folder), output=tmp_path / "z2.fits", **{"tracking.uri": f"sqlite:///{nowhere}/mlflow.db"}))
    assert not nowhere.exists()


def test_a_table_left_by_a_killed_predict_is_removed(tmp_path: Path) -> None:
    import socket

    from photoz.predict import FitsTableStream

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    stale = tmp_path / f".z.fits.tmp-{socket.gethostname()}-{dead}-0"
    stale.write_bytes(b"half a table")
    stream = FitsTableStream(tmp_path / "z.fits", 1, np.dtype([("id", ">i8")]), {})
    stream.write(np.zeros(1, stream.dtype))
    stream.close()
    assert not stale.exists() and Table.read(tmp_path / "z.fits", hdu="PHOTOZ")["id"][0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.fits"]


def test_a_qp_file_left_by_a_killed_predict_is_removed(tmp_path: Path) -> None:
    """A killed `format=qp` predict leaves .<name>.tmp-<host>-<pid>-0; the next one removes it."""
    pytest.importorskip("qp", reason='the [rail] extra is not installed: pip install -e ".[rail]"')
    import socket

    from photoz.predictions.qpio import QpStream
    from photoz.predictions.table import Predictions

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    stale = tmp_path / f".z.hdf5.tmp-{socket.gethostname()}-{dead}-0"
    stale.write_bytes(b"half an ensemble")
    live = tmp_path / f".z.hdf5.tmp-{socket.gethostname()}-{os.getppid()}-0"  # a live writer's: kept
    live.write_bytes(b"still writing")
    stream = QpStream(tmp_path / "z.hdf5", 2)
    stream.write(Predictions(ids=np.array([1, 2]), z_spec=np.array([0.1, 0.2]), z_phot=np.array([0.1, 0.3]),
                             z_err=np.array([0.05, 0.05])))
    stream.close()
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "z.hdf5"]


def _predict_to(logged, output: Path, data: Path | None = None, **extra) -> Path:
    return predict(_cfg(run=logged["run"].info.run_id, input=data or logged["data"].path, output=output,
                        **{"tracking.uri": logged["uri"]}, **extra))


def test_merge_refuses_shards_of_another_data_set_model_or_place(logged, tmp_path: Path) -> None:
    from photoz.merge import merge

    other = make_tiny_dataset(tmp_path / "other", n=60, seed=7)  # same bands and size, other galaxies
    out = tmp_path / "z.fits"
    _predict_to(logged, out, shard="0/2")
    _predict_to(logged, out, data=other.path, shard="1/2")
    with pytest.raises(PhotozError, match=r"z\.shard-1-of-2\.fits: another data set \(content checksum\).*rerun every shard"):
        merge(out)
    assert not out.exists()
    _predict_to(logged, out, shard="1/2")
    assert merge(out) == 60 and Table.read(out, hdu="PHOTOZ").meta["DATASUM"] == logged["data"].meta["checksum"]

    shard1 = tmp_path / "z.shard-1-of-2.fits"
    shard1.write_bytes((tmp_path / "z.shard-0-of-2.fits").read_bytes())  # shard 0 under shard 1's name
    with pytest.raises(PhotozError, match=r"z\.shard-1-of-2\.fits: holds shard 0/2 from row 0, not shard 1/2 from row 30"):
        merge(out)
    shard1.write_bytes(b"not a table at all")
    proc = subprocess.run([sys.executable, "-m", "photoz.merge", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"photoz: error: {shard1} is not a photoz prediction table")


def test_predict_replaces_only_a_file_photoz_wrote(logged, tmp_path: Path) -> None:
    thesis = tmp_path / "thesis.fits"
    thesis.write_text("chapter 1")
    with pytest.raises(PhotozError, match=r"thesis\.fits exists and is not a prediction file photoz wrote.*overwrite=true"):
        _predict_to(logged, thesis)
    assert thesis.read_text() == "chapter 1" and sorted(p.name for p in tmp_path.iterdir()) == ["thesis.fits"]
    mine = _predict_to(logged, tmp_path / "z.fits")
    _predict_to(logged, mine)  # its own table: replaced without asking
    _predict_to(logged, thesis, overwrite="true")
    assert len(Table.read(thesis, hdu="PHOTOZ")) == 60
    with pytest.raises(PhotozError, match=r"is a directory; name a file in it"):
        _predict_to(logged, tmp_path)


def test_predict_into_a_read_only_folder_is_one_line(logged, tmp_path: Path) -> None:
    from disks import small_disk

    with small_disk(tmp_path / "ro", "64k", read_only=True) as folder:
        with pytest.raises(PhotozError, match=r"ro is a read-only file system; choose an output= in a folder you can write"):
            _predict_to(logged, folder / "sub" / "z.fits")


class Payload:
    """Unpickling this creates `marker` (the audit's `touch` payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant_cloudpickle(folder: Path, marker: Path) -> None:
    """The audit's attack: the MLmodel edited to name a cloudpickle, and the payload beside it."""
    import pickle

    mlmodel = folder / "MLmodel"
    text = mlmodel.read_text().replace("serialization_format: skops", "serialization_format: cloudpickle")
    mlmodel.write_text(text.replace("model.skops", "model.pkl"))
    (folder / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))


def test_a_pickle_an_edited_mlmodel_names_never_runs(logged, tmp_path: Path) -> None:
    """For run=<id> (the store's own model edited) and model_uri=<a folder someone sent>: one line,
    nothing unpickled. The payload is live: MLflow's own sklearn loader runs it."""
    import shutil

    (skops,) = (logged["tmp"] / "artifacts").rglob("model.skops")
    logged_folder, sent, marker = skops.parent, tmp_path / "sent", tmp_path / "pwned"
    shutil.copytree(logged_folder, sent)
    _plant_cloudpickle(sent, marker)
    mlflow.sklearn.load_model(str(sent))  # what photoz.predict did before: it follows the MLmodel
    assert marker.exists()
    marker.unlink()
    shutil.copytree(logged_folder, tmp_path / "backup")
    _plant_cloudpickle(logged_folder, marker)
    try:
        for model in (f"run={logged['run'].info.run_id}", f"model_uri={sent}"):
            cmd = [sys.executable, "-m", "photoz.predict", model, f"input={logged['data'].path}", f"output={tmp_path / 'z.fits'}",
                   f"tracking.uri={logged['uri']}", f"hydra.run.dir={tmp_path / 'hydra'}"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
            (line,) = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            assert "serialization_format: 'cloudpickle'" in line and "retrain it" in line, line
            assert not marker.exists() and not (tmp_path / "z.fits").exists()
    finally:
        shutil.rmtree(logged_folder)
        shutil.copytree(tmp_path / "backup", logged_folder)


def test_an_edited_or_missing_model_folder_is_one_line_about_the_folder(logged, tmp_path: Path) -> None:
    """model_uri=<folder>: an MLmodel whose metadata is not photoz's mapping (was AttributeError's
    traceback) and a folder without MLmodel are one line naming the folder, not a store or a run."""
    import yaml

    mlflow.set_tracking_uri(logged["uri"])
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{logged['run'].info.run_id}/knn", dst_path=str(tmp_path / "sent")))
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    nowhere = {"tracking.uri": f"sqlite:///{tmp_path / 'no_store'}/mlflow.db"}
    for metadata in ("x", {"photoz": "knn"}, {"photoz_model": ["knn"]}):
        (folder / "MLmodel").write_text(yaml.safe_dump({**mlmodel, "metadata": metadata}))
        with pytest.raises(PhotozError, match="cannot tell which photoz estimator logged it") as err:
            predict(_cfg(model_uri=str(folder), input=logged["data"].path, **nowhere))
        assert "\n" not in str(err.value)
    with pytest.raises(PhotozError) as err:
        predict(_cfg(model_uri=str(tmp_path / "nope"), input=logged["data"].path, **nowhere))
    message = str(err.value)
    assert message.startswith(f"model_uri={tmp_path / 'nope'}: ") and "give the folder of a model photoz logged" in message
    assert "no_store" not in message and "\n" not in message and not (tmp_path / "no_store").exists()
