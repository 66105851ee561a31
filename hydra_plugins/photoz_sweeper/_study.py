"""Opening the study (sampler, storage, name, direction) and the bookkeeping that lets a re-run or
another worker tell a dead trial from a running one: each trial records the host and pid of the
sweeper that owns it and a heartbeat that sweeper refreshes while the trial runs. Optuna's own
heartbeat exists for RDB storages only and only inside study.optimize, hence this one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from omegaconf import DictConfig
from optuna.trial import TrialState

from hydra_plugins.photoz_sweeper._search_space import SearchSpace
from photoz.errors import ConfigError
from photoz.processes import pid_alive
from photoz.job.sweep import is_rdb_url

log = logging.getLogger(__name__)

OWNER_ATTR = "photoz.owner"  # trial system attrs
HEARTBEAT_ATTR = "photoz.heartbeat"
SURPLUS_ATTR = "photoz.surplus"  # a trial asked beyond n_trials by a racing worker, failed unused
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)


class _GridSampler(optuna.samplers.GridSampler):
    """GridSampler without its study.stop() at the end of the grid (that only works inside
    study.optimize); the sweeper bounds n_trials by the grid size instead."""

    def after_trial(self, *args: Any, **kwargs: Any) -> None:
        return None


def build_sampler(
    name: str, seed: int | None, options: Mapping[str, Any], space: SearchSpace
) -> optuna.samplers.BaseSampler:
    """The sampler named by hydra.sweeper.sampler, `options` its arguments
    (hydra.sweeper.sampler_options.<name>)."""
    classes = {
        "tpe": optuna.samplers.TPESampler,
        "random": optuna.samplers.RandomSampler,
        "gp": optuna.samplers.GPSampler,
    }
    try:
        if name == "grid":
            return _GridSampler(space.grid(), seed=seed, **options)
        return classes[name](seed=seed, **options)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"hydra.sweeper.sampler_options.{name} do not fit sampler {name!r}: {err}") from None


def worker_seed(seed: int | None, first_trial: int) -> int | None:
    """The seed of one sweep process's sampler: child `first_trial` of SeedSequence(seed).

    Seeding every trial with seed + k made start-up trials nearly identical (numpy's RandomState
    gives correlated early draws for consecutive small seeds); a sampler is meant to be seeded once.
    A sweeper's first trial number is unique in the study (0 for a fresh study run by one worker,
    the next free number on resume or in a second worker), and SeedSequence hashes it into an
    unrelated stream."""
    if seed is None:
        return None
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(first_trial),)).generate_state(1)[0])


def options_for(kind: str, chosen: str, table: Mapping[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any]:
    """hydra.sweeper.<kind>_options.<chosen>: options are kept per sampler / pruner name, so a
    config can set them for several and switching hydra.sweeper.<kind> needs no clean-up."""
    unknown = sorted(set(table or {}) - set(names))
    if unknown:
        raise ConfigError(
            f"hydra.sweeper.{kind}_options.{unknown[0]}: not a {kind}; options go under the {kind}'s "
            f"name, e.g. hydra.sweeper.{kind}_options.{names[0]}.<option>=<value>"
        )
    return dict((table or {}).get(chosen) or {})


def default_study_name(config: DictConfig) -> str:
    """<sweep>-<model>-<data> from the config groups chosen, e.g. depth_lr-sequential-lsst_sim."""
    choices = config.hydra.runtime.choices
    parts = [str(choices[g]) for g in ("sweep", "model", "data") if choices.get(g)]
    return "-".join(parts) or str(config.hydra.job.name)


def storage_url(storage: str | None, study_dir: Path, cwd: Path) -> str:
    """The storage every process of the study opens: relative paths made absolute from `cwd`, so
    jobs that change directory (hydra.job.chdir) and other workers find the same one."""
    if storage is None:
        return str(study_dir / "journal.log")
    if storage.startswith("sqlite:///") and not storage.startswith("sqlite:////"):
        return "sqlite:///" + str(cwd / storage[len("sqlite:///") :])
    return storage if is_rdb_url(storage) else str(cwd / storage)


def open_study(storage: optuna.storages.BaseStorage, name: str, direction: str) -> tuple[optuna.Study, bool]:
    """Load study `name` or create it; True when this process created it. Writes nothing when an
    existing study was made for the other direction."""
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        try:
            return optuna.create_study(study_name=name, storage=storage, direction=direction), True
        except optuna.exceptions.DuplicatedStudyError:  # another worker created it just now
            study = optuna.load_study(study_name=name, storage=storage)
    existing = study.direction.name.lower()
    if existing != direction:
        raise ConfigError(
            f"study {name!r} already exists and was made to {existing}, not {direction}; "
            f"set hydra.sweeper.direction={existing} or choose another hydra.sweeper.study_name"
        )
    return study, False


def name_objective(study: optuna.Study, metric: str) -> None:
    """Name the study's objective `metric` (study.set_metric_names): Optuna's plots and
    optuna-dashboard then say val_sigma_mad where they said "Objective Value" / "Objective 0"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # experimental since Optuna 3.2, stable in use
        if study.metric_names != [metric]:
            study.set_metric_names([metric])


def claim(study: optuna.Study, trial: optuna.trial.Trial) -> None:
    """Mark `trial` as owned by this process, alive now."""
    storage = study._storage
    storage.set_trial_system_attr(trial._trial_id, OWNER_ATTR, {"host": socket.gethostname(), "pid": os.getpid()})
    storage.set_trial_system_attr(trial._trial_id, HEARTBEAT_ATTR, time.time())


def fail_dead_trials(study: optuna.Study, grace_s: float) -> list[int]:
    """Mark FAIL the RUNNING trials whose sweeper died: its pid is gone (same host) or its
    heartbeat is older than `grace_s`. Returns their numbers."""
    host, now, failed = socket.gethostname(), time.time(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.system_attrs.get(OWNER_ATTR)
        beat = trial.system_attrs.get(HEARTBEAT_ATTR, trial.datetime_start.timestamp())
        gone = owner is not None and owner["host"] == host and not pid_alive(int(owner["pid"]))
        if gone or now - beat > grace_s:
            try:
                study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:  # its owner finished it meanwhile
                continue
            failed.append(trial.number)
    if failed:
        log.warning("trials %s were left RUNNING by a sweeper that died: marked FAIL", failed)
    return failed


def n_counted(study: optuna.Study, running: bool = False) -> int:
    """Trials that count towards n_trials (COMPLETE, PRUNED), with `running` also the RUNNING ones."""
    states = COUNTED + ((TrialState.RUNNING,) if running else ())
    return len(study.get_trials(deepcopy=False, states=states))


def resume_advice(study: optuna.Study, n_trials: int) -> str:
    """How to continue an interrupted study (its interrupted trial is FAIL and not counted)."""
    return f"rerun the same command to resume study {study.study_name!r} ({n_counted(study)} of {n_trials} trials done)"


def within_budget(study: optuna.Study, trial: optuna.trial.Trial, n_trials: int) -> bool:
    """Whether `trial` is among the first n_trials live or counted trials. Two workers may ask at
    the same moment; ranking by trial number decides, so no more than n_trials are run."""
    numbers = sorted(t.number for t in study.get_trials(deepcopy=False, states=COUNTED + (TrialState.RUNNING,)))
    return trial.number in numbers[:n_trials]


class Heartbeat:
    """Refreshes the heartbeat of this sweeper's running trials every `interval_s` seconds."""

    def __init__(self, study: optuna.Study, trial_ids: list[int], interval_s: float) -> None:
        self._storage, self._ids, self._interval = study._storage, trial_ids, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="photoz-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            for trial_id in self._ids:
                try:
                    self._storage.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
