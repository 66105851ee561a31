"""photoz against a real `mlflow server --serve-artifacts` (started by conftest.py): a CNN run logs
the same params, metrics and artifacts as it does to a local store, a sweep logs its parent and
child runs, photoz.predict run=... and photoz.compare read through the server, and an unreachable
server is one line naming the URI before anything is trained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from astropy.table import Table
from mlflow.tracking import MlflowClient
from servers import free_port
from tinydata import make_tiny_dataset

from photoz.data import Dataset

CNN = ["model=sequential", "model.depth=1", "model.width=8", "trainer.batch_size=16", "trainer.max_epochs=1",
       "trainer.progress=false", "trainer.patience=0"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=40)


def photoz(module: str, cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", f"photoz.{module}", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def record(client: MlflowClient, run_id: str) -> tuple[set[str], set[str], set[str]]:
    """Param keys, metric keys and artifact paths (two levels deep) of a run."""
    run = client.get_run(run_id)
    top = client.list_artifacts(run_id)
    paths = {a.path for a in top} | {b.path for a in top if a.is_dir for b in client.list_artifacts(run_id, a.path)}
    return set(run.data.params), set(run.data.metrics), paths


def only_run(client: MlflowClient, experiment: str):
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return run


def test_cnn_run_predict_and_compare_through_the_server(tiny, mlflow_server, tmp_path) -> None:
    data = ["data=directory", f"data.path={tiny.path}"]
    local_uri = f"sqlite:///{tmp_path / 'local.db'}"
    ok(photoz("train", tmp_path / "local", *data, *CNN, f"tracking.uri={local_uri}", "tracking.experiment=cnn"))
    ok(photoz("train", tmp_path / "remote", *data, *CNN, f"tracking.uri={mlflow_server.uri}", "tracking.experiment=cnn"))

    server = MlflowClient(mlflow_server.uri)
    remote = only_run(server, "cnn")
    local = only_run(MlflowClient(local_uri), "cnn")
    assert remote.info.status == "FINISHED"
    assert record(server, remote.info.run_id) == record(MlflowClient(local_uri), local.info.run_id)
    assert server.get_experiment_by_name("cnn").artifact_location.startswith("mlflow-artifacts:")
    assert any((mlflow_server.root / "artifacts").rglob("test_predictions.fits"))  # kept by the server
    assert not (tmp_path / "remote" / "mlruns").exists()  # nothing written beside the client

    out = tmp_path / "zphot.fits"
    tracking = f"tracking.uri={mlflow_server.uri}"
    ok(photoz("predict", tmp_path, f"run={remote.info.run_id}", f"input={tiny.path}", f"output={out}", tracking))
    assert len(Table.read(out)) == len(tiny)

    result = ok(photoz("compare", tmp_path, tracking, "tracking.experiment=cnn", f"output={tmp_path / 'cmp'}"))
    assert "sequential" in (tmp_path / "cmp" / "comparison.csv").read_text()
    assert "logged to MLflow run" in result.stdout


def test_sweep_logs_parent_and_trials_to_the_server(tiny, mlflow_server, tmp_path) -> None:
    ok(photoz(
        "train", tmp_path, "-m", "hydra/sweeper=photoz", "model.depth=range(1, 3)", "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler=grid",  # both depths, whatever the seed
        "hydra.sweeper.study_name=remote", "hydra.sweeper.plots=false", "data=directory", f"data.path={tiny.path}",
        *CNN[2:], f"tracking.uri={mlflow_server.uri}", "tracking.experiment=sweep",
    ))  # fmt: skip
    client = MlflowClient(mlflow_server.uri)
    runs = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("photoz.role") == "study"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and "best_value" in parent.data.metrics
    assert sorted(r.data.params["model.depth"] for r in children) == ["1", "2"]
    assert all("predictions/test_predictions.fits" in record(client, r.info.run_id)[2] for r in children)
    assert "study/best.yaml" in record(client, parent.info.run_id)[2]


@pytest.mark.parametrize("module", ["train", "predict"])
def test_unreachable_server_is_one_line(module, tiny, tmp_path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    args = ["data=directory", f"data.path={tiny.path}", *CNN] if module == "train" else ["run=abc", f"input={tiny.path}"]
    result = photoz(module, tmp_path, *args, f"tracking.uri={uri}", timeout=60)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("photoz: error:")]
    assert f"tracking.uri={uri}: no MLflow tracking server answers there" in line
    assert not (tmp_path / "checkpoints").exists() and not list(tmp_path.rglob("*.fits"))
