"""A full disk, for real (a small tmpfs, tests/disks.py): at the MLflow store, at the artifact
root, or filled by the run itself. Each is one `photoz: error:` line, the run ends FAILED (never
RUNNING, never FINISHED by MLflow's exit hook), and no half-created store is left behind: once
space is freed, the next run works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from disks import fill, small_disk
from mlflow.tracking import MlflowClient
from tinydata import SMALL_CNN, make_tiny_dataset

from photoz.config import TrackingConfig
from photoz.tracking.store import forget_engine, open_store
from photoz.tracking.tracker import Tracker


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("full") / "tiny", n=32)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """A complete empty MLflow store, made once (making one takes seconds); tests copy it."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    open_store(f"sqlite:///{path}")
    forget_engine(f"sqlite:///{path}")
    return path


def _train(data, store: Path, artifacts: Path, tmp: Path, *model: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "photoz.train", *(model or ("model=knn", "model.n_jobs=1")), "data=directory",
           f"data.path={data.path}", f"tracking.uri=sqlite:///{store}", f"tracking.artifact_root={artifacts}",
           "tracking.experiment=full", f"hydra.run.dir={tmp / 'run'}", "trainer.progress=false"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower() or "Exception" in ln]
    assert line.startswith("photoz: error:"), proc.stderr[-3000:]
    return line


def _runs(store: Path) -> list:
    client = MlflowClient(f"sqlite:///{store}")
    found = client.get_experiment_by_name("full")
    runs = client.search_runs([found.experiment_id]) if found else []
    forget_engine(f"sqlite:///{store}")  # no connection of this process keeps the small disk busy
    return runs


def test_a_disk_too_small_for_a_new_store_is_one_line_and_leaves_no_half_store(data, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "2m") as disk:
        ballast = fill(disk, leave=400 * 1024)  # MLflow's fresh store needs about 1 MB
        line = _one_line(_train(data, disk / "mlflow.db", tmp_path / "artifacts", tmp_path))
        assert "disk is full" in line and "free some space" in line
        assert sorted(p.name for p in disk.iterdir()) == ["ballast"]  # no store, no temp store
        ballast.unlink()  # space freed: the next open creates the store, complete
        client = Tracker(TrackingConfig(uri=f"sqlite:///{disk / 'mlflow.db'}")).client
        assert [e.name for e in client.search_experiments()] == ["Default"]
        forget_engine(f"sqlite:///{disk / 'mlflow.db'}")


def test_a_half_created_store_of_an_older_version_is_made_anew(tmp_path: Path) -> None:
    """What MLflow alone leaves on a full disk: some tables, no runs; opening it failed for good
    ('table secrets already exists') even after space was freed."""
    with small_disk(tmp_path / "disk", "512k") as disk:
        with pytest.raises(Exception, match="database or disk is full"):
            MlflowClient(f"sqlite:///{disk / 'half.db'}").search_experiments()
        forget_engine(f"sqlite:///{disk / 'half.db'}")
        half = tmp_path / "half.db"
        half.write_bytes((disk / "half.db").read_bytes())
    with pytest.raises(Exception, match="already exists"):
        MlflowClient(f"sqlite:///{half}").search_experiments()
    forget_engine(f"sqlite:///{half}")
    client = open_store(f"sqlite:///{half}")
    assert [e.name for e in client.search_experiments()] == ["Default"]
    forget_engine(f"sqlite:///{half}")


def test_a_full_artifact_root_ends_the_run_failed_in_one_line(data, empty_store: Path, tmp_path: Path) -> None:
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    with small_disk(tmp_path / "artifacts", "64k") as artifacts:
        line = _one_line(_train(data, tmp_path / "mlflow.db", artifacts, tmp_path))
    (run,) = _runs(tmp_path / "mlflow.db")
    assert "No space left on device" in line and f"MLflow run {run.info.run_id} ended FAILED" in line
    assert run.info.status == "FAILED" and "No space left on device" in run.data.tags["error"]


def test_a_disk_the_run_fills_still_records_it_failed(data, empty_store: Path, tmp_path: Path) -> None:
    """Store and artifacts on one disk (the default mlruns/ layout) and the run's model fills it:
    it was left RUNNING for good (755 lines); the space reserved beside the store lets it end."""
    with small_disk(tmp_path / "disk", "3m") as disk:
        shutil.copy(empty_store, disk / "mlflow.db")  # the store exists; then the disk fills up
        fill(disk, leave=400 * 1024)  # room for the run to start, not for its artifacts
        cnn = (*SMALL_CNN[:-1], "model.width=16", "trainer.max_epochs=2")
        line = _one_line(_train(data, disk / "mlflow.db", disk / "artifacts", tmp_path, *cnn))
        (run,) = _runs(disk / "mlflow.db")
    assert f"MLflow run {run.info.run_id} ended FAILED" in line and "free some space" in line
    assert run.info.status == "FAILED" and run.data.tags["error"]
