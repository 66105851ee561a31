"""What a training run logs to MLflow, read back with MlflowClient after a tiny real run of
`python -m photoz.train`: the test metrics recomputed by hand (numpy only, not photoz.predictions.metrics)
from the logged prediction table, the params against the logged config, the tags and the
artifacts (docs/training.md, "What a run records")."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.table import Table
from markdown_tables import tables
from mlflow.tracking import MlflowClient
from tinydata import SMALL_CNN, make_tiny_dataset

from photoz.predictions.qpio import qp_available

EPOCHS = 2
PER_EPOCH = ["train_loss", "lr", "epoch_images_per_s"] + [f"val_{m}" for m in
             ("sigma_mad", "bias", "bias_err", "eta", "bias_median", "sigma_iqr", "outlier_rate")]  # fmt: skip
POINT_ESTIMATES = ("zstar", "mean", "median", "mode")


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[MlflowClient, object, Path, dict]:
    """(client, run, folder, tiny data set meta) of one 2-epoch sequential CNN run."""
    tmp = tmp_path_factory.mktemp("tracking")
    data = make_tiny_dataset(tmp / "tiny", n=64)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "photoz.train", "data=directory", f"data.path={data.path}", *SMALL_CNN,
           f"trainer.max_epochs={EPOCHS}", "trainer.patience=0", "trainer.progress=false", f"tracking.uri={uri}",
           "tracking.experiment=tracked", f"tracking.artifact_root={tmp / 'artifacts'}", f"hydra.run.dir={tmp / 'run'}"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("tracked").experiment_id])
    return client, run, tmp, {"path": str(data.path), **data.meta}


def by_hand(z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """The point metrics from their definitions (README, Metrics), in plain numpy."""
    dz = (z_phot - z_spec) / (1 + z_spec)
    q25, q75 = np.percentile(dz, [25, 75])
    sigma_iqr = (q75 - q25) / 1.349
    return {
        "sigma_mad": 1.4826 * np.median(np.abs(dz - np.median(dz))),
        "bias": np.mean(dz),
        "bias_err": np.std(dz, ddof=1) / np.sqrt(len(dz)),
        "eta": np.mean(np.abs(dz) > 0.05),
        "bias_median": np.median(dz),
        "sigma_iqr": sigma_iqr,
        "outlier_rate": np.mean(np.abs(dz) > max(0.06, 3 * sigma_iqr)),
    }


def test_test_metrics_match_the_logged_predictions(logged) -> None:
    client, run, tmp, _ = logged
    table = Table.read(client.download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp)))
    z_spec, metrics = np.asarray(table["z_spec"], float), run.data.metrics
    assert len(table) == 13  # the tiny set's last 20 % (tests/tinydata.py)
    for name, value in by_hand(np.asarray(table["z_phot"], float), z_spec).items():
        assert metrics[f"test_{name}"] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    for name in POINT_ESTIMATES:  # the measured bias of every point estimate of the PDF
        dz = (np.asarray(table[f"z_{name}"], float) - z_spec) / (1 + z_spec)
        assert metrics[f"test_bias_of_{name}"] == pytest.approx(np.mean(dz), rel=1e-9, abs=1e-12), name
        assert metrics[f"test_bias_err_of_{name}"] == pytest.approx(np.std(dz, ddof=1) / np.sqrt(len(dz)), rel=1e-9), name
    # model.point_estimate defaults to zstar (the table's z_<estimate> come from the float32 PDF)
    np.testing.assert_allclose(table["z_phot"], table["z_zstar"], rtol=1e-6)
    assert 0 < metrics["test_pit_ks"] <= 1 and f"test_pdf_bias_of_{POINT_ESTIMATES[0]}" in metrics


def test_every_epoch_is_logged_at_its_step(logged) -> None:
    client, run, _, _ = logged
    for key in PER_EPOCH:
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == list(range(1, EPOCHS + 1)), key
    for key in ("n_trainable_params", "train_seconds", "train_images_per_s", "test_galaxies_per_s", "flops_per_galaxy"):
        assert run.data.metrics[key] > 0, key
    assert {f"best_val_{m}" for m in ("sigma_mad", "bias", "eta")} <= set(run.data.metrics)


def test_params_are_the_logged_config(logged) -> None:
    """Every param is the resolved config.yaml flattened to dotted keys, less tracking and trial."""
    client, run, tmp, _ = logged
    config = yaml.safe_load(Path(client.download_artifacts(run.info.run_id, "config.yaml", str(tmp))).read_text())
    flat: dict[str, str] = {}
    stack = [("", {k: v for k, v in config.items() if k not in ("tracking", "trial")})]
    while stack:
        prefix, node = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append((f"{prefix}{key}.", value))
            else:
                flat[f"{prefix}{key}"] = str(value)
    assert run.data.params == flat
    assert config["tracking"]["experiment"] == "tracked" and config["model"]["depth"] == 2
    assert flat["model.name"] == "sequential" and flat["trainer.max_epochs"] == str(EPOCHS) and flat["trainer.batch_size"] == "8"


def test_tags_name_the_model_data_code_and_checkpoints(logged) -> None:
    _, run, tmp, meta = logged
    tags = run.data.tags
    assert run.info.status == "FINISHED" and run.info.run_name == "seq d2 lr2e-3 w8"
    assert tags["model"] == "sequential" and tags["data"] == meta["path"] and tags["data_checksum"] == meta["checksum"]
    assert tags["git_commit"] and len(tags["config_hash"]) == 16
    assert Path(tags["checkpoint_dir"]) == tmp / "run" / "checkpoints" and (tmp / "run" / "checkpoints" / "best.pt").is_file()
    assert {"photoz.host", "photoz.pid", "photoz.last_seen"} <= set(tags)  # liveness (docs/reliability.md)
    assert tables(tags["mlflow.note.content"])[0][0] == ["test σ_MAD", "bias", "η", "RAIL outliers", "trainable params"]
    assert datetime.fromisoformat(tags["photoz.last_seen"].replace("Z", "+00:00")).tzinfo is not None  # ISO, UTC
    assert not {"error", "study", "trial", "mlflow.parentRunId"} & set(tags)  # a plain run: no failure, no sweep


def test_artifacts_and_the_model_are_logged(logged) -> None:
    client, run, _, _ = logged
    run_id = run.info.run_id
    artifacts = {a.path for folder in ("", "plots", "predictions") for a in client.list_artifacts(run_id, folder)}
    expected = {"config.yaml", "plots/test_zphot_vs_zspec.png", "plots/test_dz_vs_zspec.png", "plots/test_pit.png",
                "predictions/test_predictions.fits", "predictions/test_predictions.csv"}  # fmt: skip
    if qp_available():
        expected.add("predictions/test_predictions.hdf5")
    assert expected <= artifacts
    (model,) = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
    assert model.name == "seq-d2-lr2e-3-w8"  # the run's name, as a logged model may be named


def test_a_refused_resume_leaves_the_reopened_run_killed(tmp_path: Path) -> None:
    """ResumeRefused inside a reopened run (a last.pt that does not fit the network, found when
    training starts) ends it KILLED again, with the reason, never FAILED."""
    import mlflow

    from photoz.config import TrackingConfig
    from photoz.errors import ResumeRefused
    from photoz.tracking.tracker import Tracker

    tracker = Tracker(TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a")))
    tracker.use_experiment("resume")
    with pytest.raises(KeyboardInterrupt):
        with tracker.run("interrupted", {"config_hash": "abc"}):
            raise KeyboardInterrupt
    (run,) = tracker.client.search_runs([tracker.experiment_id])
    assert run.info.status == "KILLED"
    with pytest.raises(ResumeRefused):
        with tracker.run("interrupted", {"config_hash": "abc"}, run.info.run_id):
            raise ResumeRefused("last.pt does not fit this run's network")
    after = tracker.client.get_run(run.info.run_id)
    assert after.info.status == "KILLED" and after.data.tags["error"] == "resume refused: last.pt does not fit this run's network"
    assert mlflow.active_run() is None
