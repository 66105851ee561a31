"""`python -m photoz.pretrain` and `python -m photoz.train model.init=<run>` end to end on a real
MLflow SQLite store: pretrain -> init -> fine-tune (whole and head only) on few labels, a killed
pretraining resumed in the same run, pretraining that reads no redshift, and every bad model.init
or data.labels as one clear line with nothing started.

The entry points' own functions run in this process on the config their command line composes
(photoz.config.compose, like tests/test_rail.py): a subprocess costs seconds of interpreter and
import start-up each. Two real processes remain: the pretraining killed with -9 (a signal needs a
process) and one bad override, for the exit status and the single stderr line of the command
(photoz.cli.run_main turns the same ConfigError / Hydra error into that line for every entry point)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from tinydata import make_tiny_dataset

from photoz.config import compose, to_typed, to_typed_pretrain
from photoz.data import Dataset, write_dataset
from photoz.errors import ConfigError

SMALL = ["model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.num_threads=1", "trainer.progress=false"]
PRETRAIN = [*SMALL, "trainer.max_epochs=1", "pretrain.queue=32"]
FINETUNE = [*SMALL, "model=sequential", "trainer.max_epochs=1", "data.labels.n=16"]


@pytest.fixture(scope="module", autouse=True)
def _threads():
    """trainer.num_threads=1 sets torch's threads for this process: give the next module its own."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def overrides(workdir: Path, store: Path, data: Path, *extra: str) -> list[str]:
    """The command line of a run in `workdir` on `store` and the data set at `data`."""
    return [f"tracking.uri=sqlite:///{store}/mlflow.db", f"tracking.artifact_root={store / 'artifacts'}", "data=directory",
            f"data.path={data}", f"trainer.checkpoint_dir={workdir / 'ckpt'}", *extra]  # fmt: skip


def command(entry: str, workdir: Path, store: Path, data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", f"photoz.{entry}", f"hydra.run.dir={workdir}", *overrides(workdir, store, data, *extra)]


def train(workdir: Path, store: Path, data: Path, *extra: str) -> float:
    """What `python -m photoz.train <overrides>` runs (photoz.train.train), in this process."""
    from photoz.job.run import run

    return run(to_typed(compose(*overrides(workdir, store, data, *extra))))


def pretrain(workdir: Path, store: Path, data: Path, *extra: str) -> tuple[str, str]:
    """What `python -m photoz.pretrain <overrides>` runs, in this process: its run id and stdout."""
    from photoz.job.pretrain import pretrain_run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_id = pretrain_run(to_typed_pretrain(compose(*overrides(workdir, store, data, *extra), config_name="pretrain")))
    return run_id, out.getvalue()


def runs_of(store: Path, experiment: str) -> list:
    client = MlflowClient(f"sqlite:///{store}/mlflow.db")
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


def one_line_error(fragment: str, call, *args: str) -> None:
    """`call(*args)` raises the ConfigError that the entry point prints as its one stderr line."""
    with pytest.raises(ConfigError) as err:
        call(*args)
    assert fragment in str(err.value) and "\n" not in str(err.value), str(err.value)


@pytest.fixture(scope="module")
def pretrained(tiny: Dataset, store: Path, tmp_path_factory) -> str:
    run_id, stdout = pretrain(tmp_path_factory.mktemp("pre"), store, tiny.path, *PRETRAIN, "tracking.experiment=e2e")
    (pre,) = runs_of(store, "e2e")
    assert pre.info.run_id == run_id and f"model.init={run_id}" in stdout  # it says how to fine-tune
    return run_id


def pretrain_logs_an_encoder_that_a_cnn_fine_tunes_from(tiny: Dataset, store: Path, pretrained: str, tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{store}/mlflow.db")
    pre = client.get_run(pretrained)
    assert pre.info.status == "FINISHED" and pre.data.tags["run_type"] == "pretrain" and "model" not in pre.data.tags
    assert {"pretrain_loss", "pretrain_accuracy", "lr", "epoch_images_per_s"} <= pre.data.metrics.keys()
    assert sorted(a.path for a in client.list_artifacts(pretrained, "encoder")) == ["encoder/photoz_model.json", "encoder/weights.safetensors"]

    train(tmp_path / "whole", store, tiny.path, *FINETUNE, f"model.init={pretrained}", "tracking.experiment=e2e")
    train(tmp_path / "head", store, tiny.path, *FINETUNE, f"model.init={pretrained}", "model.freeze_encoder=true",
          "tracking.experiment=e2e")  # fmt: skip
    _, whole, head = runs_of(store, "e2e")
    for r in (whole, head):
        assert r.info.status == "FINISHED" and r.data.params["model.init"] == pretrained
        assert r.data.tags["uses_unlabelled"] == "true" and r.data.metrics["n_labelled"] == 16
    # head only: the dense head's weights (16 features -> 256 -> 180 bins) are all that trained
    assert head.data.metrics["n_trainable_params"] == 16 * 256 + 256 + 256 * 180 + 180 < whole.data.metrics["n_trainable_params"]


def a_bad_model_init_is_one_line_and_starts_nothing(tiny: Dataset, store: Path, pretrained: str, tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{store}/mlflow.db")
    exp = client.create_experiment("bad", artifact_location=(store / "artifacts" / "bad").as_uri())
    trained = client.create_run(exp, tags={"model": "random_forest"}).info.run_id  # a training run's tags
    client.set_terminated(trained)
    one_line_error(f"model.init={trained} is a random_forest training run",
                   train, tmp_path / "a", store, tiny.path, *FINETUNE, f"model.init={trained}", "tracking.experiment=bad")  # fmt: skip
    gri = make_tiny_dataset(tmp_path / "gri", n=48, bands=list("gri"))
    one_line_error("its encoder was pretrained on bands ['u', 'g', 'r', 'i', 'z', 'y'], this data set has ['g', 'r', 'i']",
                   train, tmp_path / "b", store, gri.path, *FINETUNE, f"model.init={pretrained}", "tracking.experiment=bad")  # fmt: skip
    assert len(runs_of(store, "bad")) == 1  # nothing started


def a_missing_or_unfinished_pretraining_is_one_line(store: Path, pretrained: str) -> None:
    """What CNNEstimator.check raises before a run starts."""
    from photoz.estimators.pretrained import pretrained_for
    from photoz.models.schema import CNNConfig

    uri, bands = f"sqlite:///{store}/mlflow.db", list("ugrizy")
    client = MlflowClient(uri)
    exp = client.create_experiment("unfinished", artifact_location=(store / "artifacts" / "unfinished").as_uri())
    running = client.create_run(exp, tags={"run_type": "pretrain"}).info.run_id  # a pretraining still running
    cases = [(CNNConfig(freeze_encoder=True), "model.freeze_encoder=true needs model.init"),
             (CNNConfig(init="0" * 32), f"model.init={'0' * 32}: no such run in {uri}"),
             (CNNConfig(init=running), f"model.init={running}: that pretraining is RUNNING, not finished"),
             (CNNConfig(depth=2, width=8, init=pretrained), "pretrained on (16, 16) stamps, this data set has (24, 24)")]  # fmt: skip
    for model, fragment in cases:
        with pytest.raises(ConfigError) as err:
            pretrained_for(model, uri, bands, (24, 24))
        assert fragment in str(err.value) and "\n" not in str(err.value)
    assert pretrained_for(CNNConfig(depth=2, width=8, init=pretrained), uri, bands, (16, 16)).where == pretrained


def test_pretrain_init_and_fine_tune(tiny: Dataset, store: Path, pretrained: str, tmp_path: Path) -> None:
    """Everything that needs the pretraining, in one test: pytest-xdist (`-n 2`, --dist load) runs
    a module fixture once per worker that runs one of its tests, so two tests would pretrain twice."""
    pretrain_logs_an_encoder_that_a_cnn_fine_tunes_from(tiny, store, pretrained, tmp_path)
    a_bad_model_init_is_one_line_and_starts_nothing(tiny, store, pretrained, tmp_path)
    a_missing_or_unfinished_pretraining_is_one_line(store, pretrained)


def test_semi_supervised_training_end_to_end(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    """model.semi_supervised=consistency through photoz.train: it learns from the 32 unlabelled
    train galaxies, says so, and logs the unlabelled term; without hidden redshifts it starts nothing."""
    train(tmp_path / "semi", store, tiny.path, *FINETUNE, "model.semi_supervised=consistency", "tracking.experiment=semi")
    (run,) = runs_of(store, "semi")
    assert run.info.status == "FINISHED" and run.data.tags["uses_unlabelled"] == "true"
    assert run.data.params["model.semi_supervised"] == "consistency" and run.data.params["model.consistency.ratio"] == "1"
    assert run.data.metrics["n_labelled"] == 16 and run.data.metrics["train_consistency"] > 0
    one_line_error("galaxy of this data set keeps its redshift", train, tmp_path / "all", store, tiny.path,
                   *[o for o in FINETUNE if not o.startswith("data.labels")], "model.semi_supervised=consistency",
                   "tracking.experiment=semi")  # fmt: skip
    assert len(runs_of(store, "semi")) == 1  # nothing started


def test_bad_labels_are_one_line_and_start_nothing(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    bad = ["model=random_forest", "tracking.experiment=bad_labels"]
    one_line_error("data.labels.n=0: give a positive number", train, tmp_path / "a", store, tiny.path, *bad, "data.labels.n=0")
    # the command itself: exit status 2 and one stderr line (it fails composing the config, before torch is imported)
    res = subprocess.run(command("train", tmp_path / "b", store, tiny.path, *bad, "data.labels.selection=deep3"),
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = [line for line in res.stderr.splitlines() if line.startswith("photoz: error:")]
    fragment = "data.labels.selection=deep3 is not a valid choice; choose one of: random, magnitude, zcosmos"
    assert len(errors) == 1 and fragment in errors[0], res.stderr[-3000:]
    assert runs_of(store, "bad_labels") == []


def test_a_killed_pretraining_resumes_in_the_same_run(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    common = [*SMALL, "pretrain.queue=32", "tracking.experiment=resume"]
    proc = subprocess.Popen(command("pretrain", tmp_path, store, tiny.path, *common, "trainer.max_epochs=100000"),
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "ckpt" / "last.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # kill -9: nothing ends the MLflow run, it stays RUNNING
        proc.wait()
    done = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=True)["fit_state"]["epoch"]
    assert done >= 1
    pretrain(tmp_path, store, tiny.path, *common, f"trainer.max_epochs={done + 2}", "trainer.resume=true")
    (again,) = runs_of(store, "resume")
    assert again.info.status == "FINISHED"
    history = MlflowClient(f"sqlite:///{store}/mlflow.db").get_metric_history(again.info.run_id, "pretrain_loss")
    assert sorted(m.step for m in history) == list(range(1, done + 3))  # every epoch once: none lost, none twice


def test_a_resumed_pretraining_logs_each_epoch_once(store: Path) -> None:
    """The epoch last.pt was saved after is re-reported on resume: logged if the kill came before
    its metrics reached MLflow, skipped if they did."""
    import mlflow

    from photoz.job.pretrain import _epoch_logger

    uri, before = f"sqlite:///{store}/mlflow.db", mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("once")
        with mlflow.start_run() as run:
            _epoch_logger(None)(1, {"pretrain_loss": 1.0})  # epoch 2's last.pt written, then killed
        with mlflow.start_run(run_id=run.info.run_id):
            resumed = _epoch_logger(run.info.run_id)
            for epoch in (1, 2, 3):  # epoch 1 was logged, epoch 2 is the lost one
                resumed(epoch, {"pretrain_loss": float(epoch)})
    finally:
        mlflow.set_tracking_uri(before)
    history = MlflowClient(uri).get_metric_history(run.info.run_id, "pretrain_loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_pretraining_reads_no_redshift(tiny: Dataset, tmp_path: Path) -> None:
    """The images of two data sets whose every redshift differs give the same encoder."""
    from photoz.job.pretrain import images_source, prepare
    from photoz.training.checkpoint import Checkpoints
    from photoz.training.loop import FitContext
    from photoz.training.pretrain_loop import pretrain
    from photoz.training.runtime import choose_runtime

    catalog = tiny.catalog.copy()
    catalog["redshift"] = 1.55 - np.asarray(catalog["redshift"])
    other = write_dataset(tmp_path / "other", np.asarray(tiny.images), catalog, tiny.meta)
    states = []
    for path in (tiny.path, other.path):
        cfg = to_typed_pretrain(compose("data=directory", f"data.path={path}", *PRETRAIN, "trainer.max_epochs=2", config_name="pretrain"))
        data, rows, moco, views = prepare(cfg)
        rt = choose_runtime(cfg.trainer)
        ctx = FitContext(rt, Checkpoints(tmp_path / path.name), lambda epoch, metrics: None, cfg.seed)
        pretrain(moco, images_source(data, rows, rt.device, 1.0), views, cfg.trainer, cfg.optimizer, ctx)
        states.append(moco.state_dict())
    for key, value in states[0].items():
        torch.testing.assert_close(value, states[1][key], msg=key)
