"""Job side of an Optuna sweep (hydra/sweeper=photoz), plus what the sweeper shares with it.

The sweeper asks the study for a trial and starts a job with `trial.study_name`, `trial.storage`
and `trial.trial_id` set. In the job, `trial_reporter(cfg.trial)` loads that study from the same
storage with the pruner the sweeper recorded in it, re-attaches to the live trial
(`optuna.trial.Trial(study, trial_id)`; a FrozenTrial cannot prune) and reports val σ_MAD each
epoch; when the pruner says stop, `report` raises optuna.TrialPruned and the sweeper records the
trial PRUNED. Both sides open storages and build pruners here, so they cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna

from photoz.choices import Pruner
from photoz.config import TrialConfig
from photoz.errors import ConfigError, first_line

PRUNER_ATTR = "photoz.pruner"  # study user attr: {"name": ..., "options": {...}}
RUN_ID_ATTR = "mlflow_run_id"  # trial user attr: the job's MLflow run
PRUNERS: dict[Pruner, type[optuna.pruners.BasePruner]] = {
    Pruner.median: optuna.pruners.MedianPruner,
    Pruner.hyperband: optuna.pruners.HyperbandPruner,
    Pruner.successive_halving: optuna.pruners.SuccessiveHalvingPruner,
    Pruner.none: optuna.pruners.NopPruner,
}


def is_rdb_url(storage: str) -> bool:
    """RDB URLs (sqlite:///, postgresql://, mysql://) hold '://'; anything else is a journal file."""
    return "://" in storage


def open_storage(storage: str) -> optuna.storages.BaseStorage:
    """An Optuna storage: an RDB URL, or the path of a journal file (several processes on one
    machine or a shared disk). A storage that cannot be opened is a ConfigError."""
    try:
        if is_rdb_url(storage):
            return _rdb_storage(storage)
        Path(storage).parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(storage)
        return optuna.storages.JournalStorage(backend)
    except Exception as err:  # drivers, servers and file systems each raise their own kind
        raise ConfigError(
            f"cannot open Optuna storage {storage!r} ({first_line(err)}); "
            "check hydra.sweeper.storage: the URL, its database driver and that the server is reachable"
        ) from None


def _rdb_storage(url: str, attempts: int = 3) -> optuna.storages.RDBStorage:
    """RDBStorage with a connect timeout for PostgreSQL (an unreachable host fails in seconds, not
    minutes); retried when workers started together race to create the tables of a new database."""
    import sqlalchemy.exc

    kwargs = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {}
    for attempt in range(attempts - 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):  # duplicate type / table
            time.sleep(1.0 + attempt)
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def build_pruner(name: str, options: Mapping[str, Any] | None = None) -> optuna.pruners.BasePruner:
    """The pruner named by hydra.sweeper.pruner, `options` its arguments
    (hydra.sweeper.pruner_options.<name>)."""
    try:
        return PRUNERS[name](**dict(options or {}))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"hydra.sweeper.pruner_options.{name} do not fit pruner {name!r}: {err}") from None


class Reporter:
    """Reports one value per epoch to a live Optuna trial and stops the job when it is pruned."""

    def __init__(self, trial: optuna.trial.Trial) -> None:
        self.trial = trial
        self._run_recorded = False

    @property
    def number(self) -> int:
        return self.trial.number

    def report(self, epoch: int, value: float, last: bool = False) -> None:
        """Record `value` at step `epoch`; raise optuna.TrialPruned if the pruner says stop, except
        at the `last` epoch: a trial that trained fully keeps its test metrics and model."""
        self._record_mlflow_run()
        self.trial.report(float(value), step=epoch)
        if not last and self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned at epoch {epoch} (value {value:.4g})")

    def record_run(self) -> None:
        """Link the trial to the active MLflow run now (at run start), so a job killed before its
        first report still has a run the sweeper can end FAILED."""
        self._record_mlflow_run()

    def _record_mlflow_run(self) -> None:
        """Remember the job's MLflow run in the trial, so best.yaml and the sweeper can find it."""
        if self._run_recorded:
            return
        import mlflow

        run = mlflow.active_run()
        if run is not None:
            self.trial.set_user_attr(RUN_ID_ATTR, run.info.run_id)
            self._run_recorded = True


def trial_reporter(trial: TrialConfig) -> Reporter | None:
    """The Reporter for this job's trial when the sweeper started it (trial.* filled), else None."""
    if not trial.study_name:
        return None
    storage = open_storage(trial.storage)
    try:
        study = optuna.load_study(study_name=trial.study_name, storage=storage)
    except KeyError:
        raise ConfigError(f"no study {trial.study_name!r} in {trial.storage!r} (trial.study_name)") from None
    pruner = study.user_attrs.get(PRUNER_ATTR, {"name": "none", "options": {}})
    study.pruner = build_pruner(pruner["name"], pruner["options"])
    return Reporter(optuna.trial.Trial(study, trial.trial_id))
