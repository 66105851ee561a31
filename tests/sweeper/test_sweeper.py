"""The photoz sweeper end to end on a tiny Hydra app (tests/sweeper/app.py): real Hydra multirun
subprocesses, a real Optuna journal and a real MLflow SQLite store."""

from __future__ import annotations

import os
import signal
import time

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from optuna.trial import TrialState
from markdown_tables import links, tables
from omegaconf import OmegaConf

from photoz.tracking.links import run_href

QUAD = ("x=interval(-2, 2)", "y=range(0, 4)", "hydra.sweeper.plots=false")


def states(study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def test_plugin_is_discovered() -> None:
    target = "hydra_plugins.photoz_sweeper.photoz_sweeper.PhotozSweeper"
    assert target in {f"{cls.__module__}.{cls.__name__}" for cls in Plugins.instance().discover(Sweeper)}
    assert ConfigStore.instance().load("hydra/sweeper/photoz.yaml").node._target_ == target


def test_four_trials_four_child_runs_one_parent(workspace) -> None:
    result = workspace.run_ok("x=interval(-2, 2)", "y=range(0, 4)", "hydra.sweeper.n_trials=4", "hydra.sweeper.metric=quad")
    study = workspace.study("quad")
    assert states(study) == ["COMPLETE"] * 4
    assert study.metric_names == ["quad"]  # hydra.sweeper.metric names the objective
    assert workspace.epochs() == {n: [0, 1, 2] for n in range(4)}

    runs = workspace.mlflow_runs()
    parents = [r for r in runs if r.data.tags.get("photoz.role") == "study"]
    assert len(parents) == 1 and parents[0].data.tags["photoz.study"] == "quad"
    parent = parents[0]
    children = {r.info.run_id: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert len(children) == 4
    for trial in study.trials:  # each trial knows its run, and the run its trial
        child = children[trial.user_attrs["mlflow_run_id"]]
        assert child.data.tags["trial_number"] == str(trial.number)
        assert child.data.tags["trial_state"] == "COMPLETE"
    assert parent.info.status == "FINISHED"
    assert float(parent.data.metrics["best_value"]) == study.best_value
    note = parent.data.tags["mlflow.note.content"]  # the best trial, its value, params and run, then the plots
    (header, row), best_run = tables(note)[0], study.best_trial.user_attrs["mlflow_run_id"]
    assert header == ["best trial", "quad (minimize)", "x", "y", "its run"] and row[0] == str(study.best_trial.number)
    assert (f"trial_{study.best_trial.number}", run_href(parent.info.experiment_id, best_run)) in links(note)
    assert run_href(parent.info.experiment_id, parent.info.run_id, "study/plots/optimization_history.png") in dict(links(note)).values()
    assert result.stdout.strip().splitlines()[-1].endswith(f"/runs/{parent.info.run_id}?workflowType=machine_learning")

    best = OmegaConf.load(workspace.root / "sweeps" / "quad" / "best.yaml")
    assert best.best_value == study.best_value and best.best_trial == study.best_trial.number
    assert best.best_run_id == study.best_trial.user_attrs["mlflow_run_id"]
    assert best.best_params == study.best_params
    for plot in ("optimization_history", "param_importances", "intermediate_values"):
        assert (workspace.root / "sweeps" / "quad" / "plots" / f"{plot}.png").stat().st_size > 1000
    assert (workspace.root / "sweeps" / "quad" / "trial_3" / ".hydra" / "overrides.yaml").exists()


def test_pruned_trials_stop_early(workspace) -> None:
    epochs = 4
    workspace.run_ok(
        "x=choice(1, 5, 6, 7, 8, 9)", "hydra.sweeper.sampler=grid", "hydra.sweeper.n_trials=6",
        "hydra.sweeper.pruner=median", "+hydra.sweeper.pruner_options.median.n_startup_trials=2",
        f"epochs={epochs}", "hydra.sweeper.plots=false",
    )
    study = workspace.study("quad")
    ran = workspace.epochs()
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, states(study)
    for trial in study.trials:  # a pruned trial ran only the epochs it reported
        assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        expected = epochs if trial.state == TrialState.COMPLETE else len(trial.intermediate_values)
        assert ran[trial.number] == list(range(expected))
    assert all(len(ran[t.number]) < epochs for t in pruned)
    assert sum(map(len, ran.values())) < 6 * epochs
    children = {r.info.run_id: r for r in workspace.mlflow_runs()}
    assert {children[t.user_attrs["mlflow_run_id"]].data.tags["trial_state"] for t in pruned} == {"PRUNED"}


def test_resume_after_a_killed_sweep(workspace) -> None:
    args = (*QUAD, "hydra.sweeper.n_trials=3")
    proc = workspace.popen(*args, "hang_at_trial=1")
    marker = workspace.root / "hang.marker"
    deadline = time.monotonic() + 90
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate()[0][-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert states(workspace.study("quad")) == ["COMPLETE", "RUNNING"]

    workspace.run_ok(*args)  # the same command resumes: trial 1 FAIL, two more trials, 3 in total
    study = workspace.study("quad")
    assert states(study) == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert workspace.epochs()[0] == [0, 1, 2]  # trial 0 kept, not run again
    parents = [r for r in workspace.mlflow_runs() if r.data.tags.get("photoz.role") == "study"]
    assert len(parents) == 1
    runs = {r.info.run_id: r for r in workspace.mlflow_runs()}
    dead = runs[study.trials[1].user_attrs["mlflow_run_id"]]  # killed with -9: the sweeper closed it
    assert dead.info.status == "FAILED" and dead.data.tags["trial_state"] == "FAIL"
    assert "its process died" in dead.data.tags["error"]
    assert {runs[t.user_attrs["mlflow_run_id"]].info.status for t in study.trials if t.number != 1} == {"FINISHED"}


def test_two_workers_share_one_study(workspace) -> None:
    args = (*QUAD, "hydra.sweeper.n_trials=6", "epochs=2", "sleep=0.3")
    workers = [workspace.popen(*args) for _ in range(2)]
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-6000:]
    study = workspace.study("quad")
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 6
    assert [t for t in study.trials if t.state != TrialState.COMPLETE] == [
        t for t in study.trials if t.system_attrs.get("photoz.surplus")
    ]  # anything else is a surplus ask that never ran
    ran = workspace.epochs()
    assert sorted(ran) == sorted(t.number for t in complete)  # every trial ran, once
    assert all(epochs == [0, 1] for epochs in ran.values())
    assert len({(t.params["x"], t.params["y"]) for t in complete}) == 6  # workers sampled apart
    runs = workspace.mlflow_runs()
    parents = [r for r in runs if r.data.tags.get("photoz.role") == "study"]
    assert len(parents) == 1
    assert sum(r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id for r in runs) == 6
