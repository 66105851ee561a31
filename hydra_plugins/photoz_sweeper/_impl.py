"""The sweep loop: open (or resume) the study, then ask a batch of trials sized to the launcher's
parallelism, launch one Hydra job per trial, tell Optuna how each ended, write best.yaml, repeat
until the study holds n_trials COMPLETE + PRUNED trials; then plots and the MLflow parent run.

Each job gets its sampled overrides plus trial.study_name / storage / trial_id / parent_run_id
(photoz.sweep.trial_reporter re-attaches to the trial from those) and runs in
sweeps/<study_name>/trial_<number>/ unless hydra.sweep.dir was given.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from hydra.core.plugins import Plugins
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, read_write
from optuna.trial import TrialState

from hydra_plugins.photoz_sweeper import _binding as binding, _outputs as outputs, _study as studies
from hydra_plugins.photoz_sweeper._search_space import SearchSpace, parse_search_space
from hydra_plugins.photoz_sweeper._trials import ask_batch, tell_result
from hydra_plugins.photoz_sweeper.config import PhotozSweeperConf
from photoz.choices import Sampler
from photoz.config import as_schema
from photoz.errors import ConfigError, PhotozError
from photoz.job.sweep import PRUNER_ATTR, PRUNERS, build_pruner, open_storage
from photoz.tracking.tracker import resolve_uri

if TYPE_CHECKING:
    from hydra_plugins.photoz_sweeper._parent_run import ParentRun

log = logging.getLogger(__name__)


def _quote(value: str) -> str:
    """A string as a quoted Hydra override value (paths and URLs hold ':', '=', '?', ...)."""
    return f'"{value}"' if "'" in value else f"'{value}'"


class SweepRunner:
    """Runs the study described by the hydra.sweeper.* keys (see config.PhotozSweeperConf)."""

    def __init__(self, **options: Any) -> None:
        self.opt: PhotozSweeperConf = as_schema(PhotozSweeperConf, options)  # typed: Hydra checked each key
        self.job_idx = 0
        self._seeded = False

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self._launcher_args = {"hydra_context": hydra_context, "task_function": task_function, "config": config}

    def sweep(self, arguments: list[str]) -> dict[str, Any]:
        """Everything a user can get wrong is checked before the storage is opened or written."""
        opt = self.opt
        space = parse_search_space(opt.params, arguments)
        if not space.distributions:
            raise ConfigError(
                "nothing to search: set hydra.sweeper.params (e.g. sweep=depth_lr) or give a sweep "
                "override such as 'optimizer.lr=tag(log, interval(1e-4, 1e-2))'"
            )
        if opt.n_trials < 1 or opt.max_failures < 1:
            raise ConfigError("hydra.sweeper.n_trials and hydra.sweeper.max_failures must be at least 1")
        self._sampler(space, opt.seed)  # validates sampler and sampler_options
        pruner = str(opt.pruner)  # the choices as the plain names Optuna, messages and the storage get
        pruner_options = studies.options_for("pruner", pruner, opt.pruner_options, tuple(PRUNERS))
        build_pruner(pruner, pruner_options)
        n_trials = opt.n_trials
        if opt.sampler == "grid":
            n_trials = min(n_trials, math.prod(len(values) for values in space.grid().values()))

        name = opt.study_name or studies.default_study_name(self.config)
        cwd = Path(self.config.hydra.runtime.cwd)
        study_dir = cwd / "sweeps" / name
        url = studies.storage_url(opt.storage, study_dir, cwd)
        if self.config.get("tracking") is not None:  # an unreachable MLflow server fails before the study is touched
            resolve_uri(self.config.tracking.uri)
        data = binding.data_identity(self.config)  # before the storage is written
        study, created = studies.open_study(open_storage(url), name, str(opt.direction))
        studies.name_objective(study, opt.metric)
        binding.bind(study, data, binding.space_identity(space.distributions), binding.objective_identity(self.config, space))
        study.sampler = self._sampler(space, opt.seed)

        study.set_user_attr(PRUNER_ATTR, {"name": pruner, "options": pruner_options})
        study_dir.mkdir(parents=True, exist_ok=True)
        self._use_sweep_dir(study_dir)
        # made after hydra.sweep.dir is final: launchers resolve paths from it (submitit's logs)
        self.launcher = Plugins.instance().instantiate_launcher(**self._launcher_args)
        dead = studies.fail_dead_trials(study, self._grace_s())
        from hydra_plugins.photoz_sweeper._parent_run import ParentRun

        tags = {"photoz.study": name, "photoz.role": "study", "photoz.storage": url}
        parent = ParentRun.open(self.config, study, created, tags)
        if parent is not None:
            parent.log_params(self._study_params(space, n_trials))
            parent.fail_dead(study, dead)
        log.info("%s study %s in %s: %d of %d trials done", "new" if created else "resuming", name, url, studies.n_counted(study), n_trials)
        status = "FAILED"
        try:
            self._loop(study, space, url, parent, n_trials)
            status = "FINISHED"
        except KeyboardInterrupt as err:  # Ctrl-C / SIGTERM: the running trial's run ended KILLED
            status = "KILLED"
            err.advice = studies.resume_advice(study, n_trials)
            raise
        finally:
            info = self._finish(study, url, study_dir, parent, status)
        return info

    def _sampler(self, space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
        name = str(self.opt.sampler)
        options = studies.options_for("sampler", name, self.opt.sampler_options, tuple(Sampler))
        return studies.build_sampler(name, seed, options, space)

    def _grace_s(self) -> float:
        return 3.0 * self.opt.heartbeat_interval

    def _batch_size(self) -> int:
        """hydra.sweeper.n_jobs, else the launcher's parallelism (joblib n_jobs, submitit
        array_parallelism), else 1 (the basic launcher runs one job at a time)."""
        if self.opt.n_jobs:
            return self.opt.n_jobs
        launcher = self.config.hydra.launcher
        for key in ("n_jobs", "array_parallelism"):
            value = launcher.get(key)
            if isinstance(value, int) and value != 0:
                return (os.cpu_count() or 1) if value < 0 else value
        return 1

    def _use_sweep_dir(self, study_dir: Path) -> None:
        """Job folders go under sweeps/<study_name>/ unless the user set hydra.sweep.dir."""
        self._job_dir: list[str] = []
        if any(o.startswith("hydra.sweep.dir=") for o in self.config.hydra.overrides.hydra):
            return
        with read_write(self.config.hydra.sweep):
            self.config.hydra.sweep.dir = str(study_dir)
        self._job_dir = [f"hydra.sweep.dir={_quote(str(study_dir))}"]
        OmegaConf.save(self.config, study_dir / "multirun.yaml")

    def _study_params(self, space: SearchSpace, n_trials: int) -> dict[str, str]:
        keys = ("direction", "sampler", "seed", "pruner", "pruner_options", "sampler_options")
        params = {key: str(getattr(self.opt, key)) for key in keys}
        params["n_trials"] = str(n_trials)
        params.update({f"space.{key}": repr(dist) for key, dist in space.distributions.items()})
        return params

    def _loop(
        self, study: optuna.Study, space: SearchSpace, url: str, parent: ParentRun | None, n_trials: int
    ) -> None:
        failures, batch_size, error = 0, self._batch_size(), None
        while True:
            dead = studies.fail_dead_trials(study, self._grace_s())
            if parent is not None:
                parent.fail_dead(study, dead)
            n_left = n_trials - studies.n_counted(study, running=True)
            if n_left <= 0:
                if studies.n_counted(study) >= n_trials:
                    return
                # other workers' trials still run: wait, so one that dies is failed and replaced
                time.sleep(min(5.0, self.opt.heartbeat_interval))
                continue
            trials = ask_batch(study, min(batch_size, n_left), n_trials)
            if not trials:  # a racing worker took the last places; its trials may still fail
                continue
            jobs = [self._overrides(study, trial, space, url, parent) for trial in trials]
            told: set[int] = set()
            try:
                with studies.Heartbeat(study, [t._trial_id for t in trials], self.opt.heartbeat_interval):
                    returns = self.launcher.launch(jobs, initial_job_idx=self.job_idx)
                self.job_idx += len(jobs)
                for trial, ret in zip(trials, returns):
                    state, error = tell_result(study, trial, ret)
                    told.add(trial.number)
                    failures = failures + 1 if state == TrialState.FAIL else 0
                    if parent is not None:
                        parent.record_trial(study._storage.get_trial(trial._trial_id))
            finally:  # an interrupted launch (Ctrl-C, launcher error) leaves no trial RUNNING
                for trial in trials:
                    if trial.number not in told:
                        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            info = outputs.summary(study, url, self.opt.metric)
            if parent is not None:
                parent.log_progress(info)
            if failures >= self.opt.max_failures:
                raise PhotozError(
                    f"{failures} trials in a row failed (last: {type(error).__name__}: {error}); "
                    "fix the cause (see the trial's log above), then rerun the same command to resume"
                )

    def _overrides(
        self, study: optuna.Study, trial: optuna.trial.Trial, space: SearchSpace, url: str, parent: ParentRun | None
    ) -> list[str]:
        """Sampled values and the trial.* keys the job re-attaches with. The sampler is seeded once
        per sweep process, from its first trial's number (studies.worker_seed): reproducible for one
        worker, continued on resume, distinct across workers."""
        if not self._seeded:
            study.sampler = self._sampler(space, studies.worker_seed(self.opt.seed, trial.number))
            self._seeded = True
        sampled = space.suggest(trial)
        log.info("trial %d: %s", trial.number, " ".join(sampled))
        return sampled + space.fixed + [
            f"trial.study_name={_quote(study.study_name)}",
            f"trial.storage={_quote(url)}",
            f"trial.trial_id={trial._trial_id}",
            f"trial.parent_run_id={parent.run_id if parent is not None else 'null'}",
            f"hydra.sweep.subdir=trial_{trial.number}",
            *self._job_dir,
        ]

    def _finish(
        self, study: optuna.Study, url: str, study_dir: Path, parent: ParentRun | None, status: str
    ) -> dict[str, Any]:
        """best.yaml and plots in sweeps/<study_name>/, the same logged to the parent run."""
        info = outputs.summary(study, url, self.opt.metric)
        files = [outputs.write_best(study_dir / "best.yaml", info)]
        if self.opt.plots:
            files += outputs.write_plots(study, study_dir / "plots", self.opt.metric)
        if parent is not None:
            parent.log_files(files)
            parent.log_progress(info, plots=[f.name for f in files if f.suffix == ".png"])
            parent.close(status)
        log.info(
            "study %s: %d complete, %d pruned, %d failed; best %s %s with %s (%s)",
            info["study_name"], info["n_complete"], info["n_pruned"], info["n_failed"], info["metric"],
            info["best_value"], " ".join(info["best_overrides"]) or "-", study_dir / "best.yaml",
        )
        if parent is not None:  # the last lines: where to look
            print("\n".join(parent.browse_lines(info)), flush=True)
        return info
