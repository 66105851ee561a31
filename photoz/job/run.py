"""One training run, start to finish: `run(cfg) -> val σ_MAD`, the body of `python -m photoz.train`.

`cfg` is the typed config (photoz.config.to_typed, called once by photoz.train); each component
gets its slice of it, and nothing here writes into it: the checkpoint directory resolved for the
run is passed on explicitly (and recorded as trainer.checkpoint_dir in the logged config).
Order matters for the user: cheap checks first (config ranges, a writable MLflow store) so a
typo fails in a second, then the data set (possibly minutes of simulation) and the estimator's
checks of it, then the MLflow run. Everything after the run starts is recorded: the run ends
FAILED (tag `error`) if it raises. The path is the same for every estimator: what differs between
a CNN and a catalogue estimator is the estimator's to say (photoz.estimators.base.Estimator).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig

from photoz.config import PhotozConfig, TrialConfig, plain
from photoz.data.format import SPLITS, Dataset
from photoz.data.source import open_dataset
from photoz.errors import DataError
from photoz.estimators.base import Estimator
from photoz.estimators import naming
from photoz.estimators.build import build_estimator
from photoz.job.resume import resolve_resume
from photoz.tracking.record import git_commit, log_config, log_metrics, log_predictions, logged_steps, model_name, set_description
from photoz.tracking.summary import RunPlace, run_description, run_summary
from photoz.tracking.tracker import Tracker, experiment_name, resolve_uri
from photoz.training import distributed
from photoz.training.checkpoint import write_state

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def model_config(cfg: PhotozConfig) -> str:
    """The conf/model option the run was composed with (`model=googlenet_pasquet`), which names it
    in MLflow and photoz.compare; model.name (the estimator, `googlenet`) when no Hydra job is
    running, e.g. a test calling run() on a composed config."""
    choice = HydraConfig.get().runtime.choices.get("model") if HydraConfig.initialized() else None
    return str(choice or cfg.model.name)


def config_hash(cfg: PhotozConfig) -> str:
    """What identifies a training run for resume: data, model, optimizer, seed and batch size."""
    key = {k: plain(getattr(cfg, k)) for k in ("data", "model", "optimizer")}
    key.update(seed=cfg.seed, batch_size=cfg.trainer.batch_size)
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_name(cfg: PhotozConfig, estimator: Estimator, trial: optuna.trial.Trial | None = None) -> str:
    """A name a person can read in the MLflow UI's runs table (photoz.estimators.naming): the model
    config, shortened, and what the estimator adds, e.g. seq d4 lr2e-3, random_forest; a sweep
    trial's is its number and what differs between trials: t7 d5 lr3.2e-4."""
    parts = estimator.run_name_parts(None if trial is None else set(trial.params))
    return naming.run_name(model_config(cfg), parts, None if trial is None else trial.number)


def check_splits(data: Dataset) -> None:
    """Every split present (DataError naming the empty ones)."""
    empty = [s for s in SPLITS if len(data.split_index(s)) == 0]
    if empty:
        raise DataError(f"{data.path}: split(s) {', '.join(empty)} are empty; training needs train, val and test rows")


class EpochLogger:
    """The EpochHook: logs each epoch's metrics to MLflow and reports val σ_MAD to Optuna (the
    trial that `trial` names, in a sweep); `max_epochs` is the last epoch (0: a one-shot baseline).
    Of a resumed run (`resumed`: its id) the epochs its history already holds are not logged again:
    the loop re-reports the epoch last.pt was saved after, in case a kill came before its log."""

    def __init__(self, max_epochs: int, trial: TrialConfig, resumed: str | None = None) -> None:
        self.epochs = 0
        self.max_epochs = max_epochs
        self.resumed = resumed
        self.logged: set[int] | None = None  # the resumed run's logged epochs, read at the first call
        self.reporter = None
        if trial.study_name:
            from photoz.job.sweep import trial_reporter

            self.reporter = trial_reporter(trial)

    def __call__(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.logged is None:
            self.logged = logged_steps(self.resumed, "val_sigma_mad") if self.resumed else set()
        if epoch in self.logged:
            return
        self.epochs += 1
        log_metrics(metrics, step=epoch)
        if self.reporter is not None:
            self.reporter.report(epoch, metrics["val_sigma_mad"], last=epoch >= self.max_epochs)


def run_tags(cfg: PhotozConfig, data: Dataset, key: str, ckpt_dir: str) -> dict[str, str]:
    """The tags every run carries (photoz.compare and photoz.predict read model and model_config)."""
    tags = {
        "model": cfg.model.name,  # the estimator photoz.predict loads
        "model_config": model_config(cfg),  # the row photoz.compare puts it in
        "data": str(data.path),
        "data_checksum": str(data.meta.get("checksum", "")),
        "git_commit": git_commit(),
        "config_hash": key,
        "checkpoint_dir": ckpt_dir,
        "data_labels": str(data.meta.get("labels", {}).get("sha256", "all")),  # which galaxies kept their redshift
    }
    if cfg.trial.study_name:
        tags.update(study=cfg.trial.study_name, trial=str(cfg.trial.trial_id))
    return tags


def prepare(cfg: PhotozConfig) -> tuple[Dataset, Estimator]:
    """The estimator (an unknown model or a missing extra fails before any data is built), seeds,
    the store checked, the data set opened (torchrun: rank 0 simulates, others reuse) and checked."""
    estimator = build_estimator(cfg)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    resolve_uri(cfg.tracking.uri)  # an unwritable store fails now, not after simulating the data
    data = distributed.main_first(lambda: open_dataset(cfg.data))
    check_splits(data)
    estimator.check(data)  # a CNN that cannot take these stamps, a batch bigger than train, ...
    return data, estimator


def fit_and_record(data: Dataset, estimator: Estimator, hook: EpochLogger) -> tuple[float, dict[str, float]]:
    """Inside the active MLflow run: fit, then log what the run measured, its test predictions,
    its description and its model; return val σ_MAD of the final model and its test metrics."""
    start = time.perf_counter()
    estimator.fit(data, hook)
    seconds = time.perf_counter() - start
    n_train = len(data.split_index("train"))
    log_metrics({
        "train_seconds": seconds, "train_images_per_s": n_train * max(hook.epochs, 1) / seconds,
        "n_trainable_params": estimator.n_trainable_params(), "n_labelled": n_train, **estimator.cost(),
    })  # fmt: skip
    val = estimator.predict(data, data.split_index("val")).metrics("best_val_")
    log_metrics(val)
    test_index = data.split_index("test")
    start = time.perf_counter()
    test = estimator.predict(data, test_index)
    log_metrics({"test_galaxies_per_s": len(test_index) / (time.perf_counter() - start)})
    log_predictions(test, "test")
    set_description(run_description(test.metrics(), estimator.n_trainable_params()))
    estimator.log_model()
    return val["best_val_sigma_mad"], test.metrics()


def run(cfg: PhotozConfig) -> float:
    """Train cfg.model on cfg.data, log everything to MLflow; return val σ_MAD of the final model."""
    data, estimator = prepare(cfg)
    if not distributed.is_main():  # torchrun rank > 0: train in lock-step with rank 0, log nothing
        estimator.fit(data, lambda epoch, metrics: None)  # it never reads or writes checkpoints
        distributed.leave()  # waits for rank 0 to log everything, leaves the group with it and exits
    tracker = Tracker(cfg.tracking, cfg.trial.parent_run_id)
    tracker.use_experiment(experiment_name(cfg.tracking, data.path))
    key, model = config_hash(cfg), plain(cfg.model)
    ckpt_dir, resume_id = resolve_resume(cfg.trainer, model, tracker, key, data.bands)
    estimator.use_checkpoint_dir(ckpt_dir)
    hook = EpochLogger(estimator.max_epochs, cfg.trial, resume_id)
    name = run_name(cfg, estimator, hook.reporter.trial if hook.reporter else None)
    tags = run_tags(cfg, data, key, ckpt_dir) | {"uses_unlabelled": str(estimator.uses_unlabelled).lower()} | estimator.tags()
    with tracker.run(name, tags, resume_id) as run_id:
        log.info("MLflow run %s in experiment %s (%s)", run_id, tracker.experiment_id, tracker.uri)
        if hook.reporter is not None:  # link the run to its trial now: a job killed before its first
            hook.reporter.record_run()  # report still has a run the sweeper can find and end
        write_state(ckpt_dir, {"run_id": run_id, "config_hash": key, "model": model, "bands": data.bands})
        if resume_id is None:  # the config as run: trainer.checkpoint_dir is the directory resolved above
            ran = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, checkpoint_dir=ckpt_dir))
            log_config(ran, skip=estimator.ignores)
        estimator.model_name = model_name(name)  # the Models tab lists it under the run's name
        val_sigma_mad, test_metrics = fit_and_record(data, estimator, hook)
        place = RunPlace(name, run_id, tracker.experiment_name, tracker.experiment_id, tracker.uri)
        n_test = len(data.split_index("test"))
        print(run_summary(place, test_metrics, n_test, str(data.path), estimator.checkpoint_dir))
        distributed.finish()  # torchrun: the other ranks wait here for rank 0 (no-op otherwise)
        return val_sigma_mad
