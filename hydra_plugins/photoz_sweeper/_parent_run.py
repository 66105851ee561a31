"""The study's MLflow parent run: one per study, in the experiment the jobs log to, found again on
resume (its id is kept in the study; tag photoz.study=<name>, photoz.role=study). Each job's run
is its child (the job sets mlflow.parentRunId from trial.parent_run_id); the sweeper adds the final
trial state to the child and logs best value, best params and the plots to the parent, whose
description names the best trial with a link to its run (machine-learning view, photoz.tracking.links).

Everything goes through MlflowClient, never the fluent API, so the sweeper never holds an active
run in a process where the basic launcher runs the jobs themselves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from omegaconf import DictConfig

from photoz.config import TrackingConfig, as_schema
from photoz.job.sweep import RUN_ID_ATTR
from photoz.tracking.links import browse_lines, run_href, run_url, runs_table_href
from photoz.tracking.notes import NOTE_TAG, markdown_table

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from photoz.tracking.tracker import Tracker

PARENT_ATTR = "photoz.mlflow_parent_run_id"  # study user attr
WAIT_FOR_CREATOR_S = 60.0


def _experiment(config: DictConfig, tracker: Tracker) -> str:
    """The jobs' experiment: tracking.experiment, else named after the data set, which is opened
    (simulated once if needed) here, before any job starts, exactly as photoz.train opens it."""
    from photoz.tracking.tracker import experiment_name

    if tracker.tracking.experiment:
        return tracker.use_experiment(tracker.tracking.experiment)
    from photoz.data.source import open_dataset

    return tracker.use_experiment(experiment_name(tracker.tracking, open_dataset(config.data).path))


class ParentRun:
    """The MLflow parent run of a study (None from `open` when the app has no tracking block)."""

    def __init__(self, client: MlflowClient, run_id: str, experiment_id: str, uri: str) -> None:
        self.client, self.run_id, self.experiment_id, self.uri = client, run_id, experiment_id, uri

    @classmethod
    def open(cls, config: DictConfig, study: optuna.Study, created: bool, tags: dict[str, str]) -> ParentRun | None:
        """Find the study's parent run or, in the process that created the study, create it. Other
        workers wait for the creator's run id rather than racing it to create the experiment and a
        second parent."""
        if config.get("tracking") is None:
            return None
        from photoz.tracking.tracker import Tracker

        tracker = Tracker(as_schema(TrackingConfig, config.tracking))
        run_id = None if created else _wait_for_parent(study)
        if run_id is not None and _active(tracker.client, run_id):
            tracker.client.update_run(run_id, status="RUNNING")
            return cls(tracker.client, run_id, tracker.client.get_run(run_id).info.experiment_id, tracker.uri)
        run = tracker.client.create_run(_experiment(config, tracker), run_name=study.study_name, tags=tags)
        study.set_user_attr(PARENT_ATTR, run.info.run_id)
        return cls(tracker.client, run.info.run_id, run.info.experiment_id, tracker.uri)

    def log_params(self, params: dict[str, str]) -> None:
        """Study settings, logged once (MLflow params cannot change; new values become tags)."""
        logged = self.client.get_run(self.run_id).data.params
        for key, value in params.items():
            if key not in logged:
                self.client.log_param(self.run_id, key, value)
            elif logged[key] != value:
                self.client.set_tag(self.run_id, f"latest.{key}", value)

    def record_trial(self, frozen: optuna.trial.FrozenTrial) -> None:
        """Tag the trial's child run with its number and final state (PRUNED runs show as such)."""
        run_id = frozen.user_attrs.get(RUN_ID_ATTR)
        if run_id:
            self.client.set_tag(run_id, "trial_state", frozen.state.name)
            self.client.set_tag(run_id, "trial_number", str(frozen.number))

    def fail_dead(self, study: optuna.Study, numbers: list[int]) -> None:
        """End FAILED the child runs of trials that fail_dead_trials marked FAIL (their process died,
        e.g. kill -9, so the run itself could not end); runs that did end are left as they are."""
        for trial in study.get_trials(deepcopy=False):
            run_id = trial.user_attrs.get(RUN_ID_ATTR) if trial.number in numbers else None
            if run_id and _active(self.client, run_id) and self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_tag(run_id, "error", f"its process died; the sweeper marked trial {trial.number} FAIL")
                self.record_trial(trial)
                self.client.set_terminated(run_id, status="FAILED")

    def log_progress(self, summary: dict[str, Any], plots: Sequence[str] = ()) -> None:
        """Counts and the best trial so far, as metrics (step = trials counted), tags and the run's
        description (with links to `plots`, file names logged under study/plots)."""
        step = summary["n_complete"] + summary["n_pruned"]
        metrics = {k: float(v) for k, v in summary.items() if k.startswith("n_")}
        if summary.get("best_value") is not None:
            metrics["best_value"] = float(summary["best_value"])
            for key, value in summary["best_params"].items():
                self.client.set_tag(self.run_id, f"best.{key}", str(value))
            self.client.set_tag(self.run_id, "best.trial_number", str(summary["best_trial"]))
            if summary.get("best_run_id"):
                self.client.set_tag(self.run_id, "best.run_id", summary["best_run_id"])
        for key, value in metrics.items():
            self.client.log_metric(self.run_id, key, value, step=step)
        self.client.set_tag(self.run_id, NOTE_TAG, self.description(summary, plots))

    def description(self, summary: dict[str, Any], plots: Sequence[str] = ()) -> str:
        """Markdown: the best trial (its value, params and a link to its run), then the counts, the
        trials' place in the runs table and the plots."""
        best_run = summary.get("best_run_id")
        lines = []
        if summary.get("best_trial") is not None:
            name = _run_name(self.client, best_run) if best_run else None
            run = f"[{name or best_run}]({run_href(self.experiment_id, best_run)})" if best_run else "-"
            params = {k: f"{v:.3g}" if isinstance(v, float) else str(v) for k, v in summary["best_params"].items()}
            headers = ["best trial", f"{summary['metric']} ({summary['direction']})", *params, "its run"]
            row = [str(summary["best_trial"]), f"{summary['best_value']:.4g}", *params.values(), run]
            lines.append(markdown_table(headers, [row]))
        lines.append(
            f"Optuna study `{summary['study_name']}`: {summary['n_complete']} complete, {summary['n_pruned']} pruned, "
            f"{summary['n_failed']} failed trials; each trial is a child of this run in the "
            f"[runs table]({runs_table_href(self.experiment_id)}) (expand this run's row)."
        )
        if plots:
            hrefs = {Path(p).stem.replace("_", " "): run_href(self.experiment_id, self.run_id, f"study/plots/{p}") for p in plots}
            lines.append("Plots: " + ", ".join(f"[{name}]({href})" for name, href in hrefs.items()) + ".")
        return "\n".join(lines) + "\n"

    def browse_lines(self, summary: dict[str, Any]) -> list[str]:
        """What the sweep prints last: the study, its best trial, and the link to its MLflow run."""
        best = "no complete trial yet" if summary.get("best_trial") is None else (
            f"best trial {summary['best_trial']}, {summary['metric']} {summary['best_value']:.4g}")  # fmt: skip
        links = browse_lines(self.uri, [("the study's MLflow run", run_url(self.uri, self.experiment_id, self.run_id))])
        return [f"photoz: study {summary['study_name']} ({best})", *(f"  {line}" for line in links)]

    def log_files(self, paths: list[Path]) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, str(path), "study" if path.suffix != ".png" else "study/plots")

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status=status)


def _wait_for_parent(study: optuna.Study) -> str | None:
    """The parent run id the study's creator records, waiting up to WAIT_FOR_CREATOR_S for it."""
    deadline = time.monotonic() + WAIT_FOR_CREATOR_S
    while True:
        run_id = study._storage.get_study_user_attrs(study._study_id).get(PARENT_ATTR)
        if run_id or time.monotonic() >= deadline:
            return run_id
        time.sleep(0.5)


def _run_name(client: MlflowClient, run_id: str) -> str | None:
    """The run's name, None if the store no longer has it (the link then shows its id)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id).info.run_name
    except MlflowException:
        return None


def _active(client: MlflowClient, run_id: str) -> bool:
    """Whether the run exists in this store and is not deleted (the store may have changed)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id).info.lifecycle_stage == "active"
    except MlflowException:
        return False
