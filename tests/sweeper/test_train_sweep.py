"""sweep through the real `python -m photoz.train` on a tiny data set: every trial re-attaches to
its Optuna trial, reports val σ_MAD each epoch, and logs a child run under the study's parent."""

from __future__ import annotations

import statistics

from markdown_tables import links, tables
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from photoz.tracking.links import run_href


def test_photoz_train_sweep(workspace, tiny_dataset) -> None:
    epochs = 2
    result = workspace.run_ok(
        "hydra/sweeper=photoz", "model.depth=range(1, 3)", "optimizer.lr=tag(log, interval(1e-3, 1e-2))",
        "hydra.sweeper.n_trials=2", "hydra.sweeper.study_name=e2e", "hydra.sweeper.plots=false",
        "data=directory", f"data.path={tiny_dataset.path}", "model.width=8", f"trainer.max_epochs={epochs}",
        "trainer.patience=0", "trainer.batch_size=8", "trainer.progress=false", "tracking.experiment=e2e",
        module="photoz.train", timeout=400,
    )  # fmt: skip
    study = workspace.study("e2e")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    runs = workspace.mlflow_runs("e2e")
    (parent,) = [r for r in runs if r.data.tags.get("photoz.role") == "study"]
    children = {r.info.run_id: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert len(children) == 2
    for trial in study.trials:
        assert len(trial.intermediate_values) == epochs  # the job reported every epoch
        child = children[trial.user_attrs["mlflow_run_id"]]
        assert child.data.tags["trial_state"] == "COMPLETE"
        assert child.data.params["model.depth"] == str(trial.params["model.depth"])
        depth, lr = trial.params["model.depth"], trial.params["optimizer.lr"]
        mantissa, exponent = f"{lr:.1e}".split("e")  # what differs between trials comes first
        assert child.info.run_name == f"t{trial.number} d{depth} lr{mantissa}e{int(exponent)}"  # w8 is not searched
        where = f"source_run_id = '{child.info.run_id}'"
        (model,) = MlflowClient(workspace.tracking_uri).search_logged_models([child.info.experiment_id], filter_string=where)
        assert model.name == child.info.run_name.replace(".", "_").replace(" ", "-")  # MLflow refuses '.' in model names
        assert float(child.data.params["optimizer.lr"]) == trial.params["optimizer.lr"]
    assert study.metric_names == ["val_sigma_mad"]  # the objective's name in Optuna's plots and optuna-dashboard
    # the study's run describes its best trial and links its run; the sweep ends with the study's link
    (best, *_), link = tables(parent.data.tags["mlflow.note.content"])[0][1], links(parent.data.tags["mlflow.note.content"])[0]
    best_run = study.best_trial.user_attrs["mlflow_run_id"]
    assert best == str(study.best_trial.number) and link == (children[best_run].info.run_name, run_href(parent.info.experiment_id, best_run))
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(f"/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}?workflowType=machine_learning")


def test_no_trial_is_pruned_at_its_final_epoch(workspace, tiny_dataset) -> None:
    """max_epochs=1 with a pruner that may stop any trial from epoch 1 on: every trial trained
    fully, so each keeps its test metrics and logged model, even one the pruner would have cut."""
    workspace.run_ok(
        "hydra/sweeper=photoz", "optimizer.lr=choice(1e-2, 1e-4, 1e-6)", "hydra.sweeper.sampler=grid",
        "hydra.sweeper.n_trials=3", "hydra.sweeper.study_name=last", "hydra.sweeper.plots=false",
        "+hydra.sweeper.pruner_options.median.n_startup_trials=1",
        "+hydra.sweeper.pruner_options.median.n_warmup_steps=0",
        "data=directory", f"data.path={tiny_dataset.path}", "model.depth=1", "model.width=8",
        "trainer.max_epochs=1", "trainer.batch_size=8", "trainer.progress=false", "tracking.experiment=last",
        module="photoz.train", timeout=400,
    )  # fmt: skip
    study = workspace.study("last")
    values = [t.intermediate_values[1] for t in study.trials]
    # the median rule would have pruned a trial worse than the median of those before it
    assert any(v > statistics.median(values[:k]) for k, v in enumerate(values) if k), values
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    runs = {r.info.run_id: r for r in workspace.mlflow_runs("last")}
    for trial in study.trials:
        run = runs[trial.user_attrs["mlflow_run_id"]]
        assert run.info.status == "FINISHED" and "test_sigma_mad" in run.data.metrics
        assert run.data.metrics["best_val_sigma_mad"] == trial.value
        where = f"source_run_id = '{run.info.run_id}'"
        models = MlflowClient(workspace.tracking_uri).search_logged_models([run.info.experiment_id], filter_string=where)
        assert len(models) == 1, trial.number


def test_sigterm_ends_the_trial_and_the_study_killed_and_the_same_command_resumes(workspace, tmp_path) -> None:
    """A scheduler's SIGTERM during a trial: its run and the study's parent run end KILLED, the
    sweep exits 143 with one line whose advice is true (rerunning resumes the study with new trials)."""
    import os
    import signal
    import subprocess
    import time

    from tinydata import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "set", n=64)
    args = ("hydra/sweeper=photoz", "optimizer.lr=tag(log, interval(1e-3, 1e-2))", "hydra.sweeper.n_trials=1",
            "hydra.sweeper.study_name=sig", "hydra.sweeper.plots=false", "data=directory", f"data.path={data.path}",
            "model.depth=1", "model.width=8", "trainer.max_epochs=3", "trainer.batch_size=8", "trainer.progress=false",
            "tracking.experiment=sig")  # fmt: skip
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.Popen(workspace.command(*args, module="photoz.train"), cwd=workspace.root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    started = workspace.root / "sweeps" / "sig" / "trial_0" / "checkpoints" / "state.json"  # the trial's run is open
    deadline = time.monotonic() + 300
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists(), proc.communicate()[1][-3000:]  # 3 epochs, predictions and the model still to come
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "photoz: terminated (SIGTERM); rerun the same command to resume study 'sig' (0 of 1 trials done)"
    study = workspace.study("sig")
    assert [t.state for t in study.trials] == [TrialState.FAIL]
    runs = {r.info.run_id: r for r in workspace.mlflow_runs("sig")}
    (parent,) = [r for r in runs.values() if r.data.tags.get("photoz.role") == "study"]
    child = runs[study.trials[0].user_attrs["mlflow_run_id"]]
    assert parent.info.status == "KILLED" and child.info.status == "KILLED"
    assert child.data.tags["error"] == "interrupted (Terminated); rerun the sweep command to continue its study with new trials"

    again = workspace.run_ok(*args, module="photoz.train", timeout=400)  # what the line advised
    assert "resuming study sig" in again.stdout + again.stderr
    assert [t.state for t in workspace.study("sig").trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert MlflowClient(workspace.tracking_uri).get_run(parent.info.run_id).info.status == "FINISHED"
