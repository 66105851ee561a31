"""One training run, start to finish: `run(cfg) -> val σ_MAD`, the body of `python -m photoz.train`.

`cfg` is the typed config (photoz.config.to_typed, called once by photoz.train); each component
gets its slice of it, and nothing here writes into it: the checkpoint directory resolved for the
run is passed on explicitly (and recorded as trainer.checkpoint_dir in the logged config).
Order matters for the user: cheap checks first (config ranges, a writable MLflow store) so a
typo fails in a second, then the data set (possibly minutes of simulation), then the MLflow run.
Everything after the run starts is recorded: the run ends FAILED (tag `error`) if it raises.
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
from photoz.errors import ConfigError, DataError
from photoz.estimators.build import build_estimator, estimator_class
from photoz.tracking.summary import run_description, run_summary
from photoz.tracking.record import git_commit, log_config, log_metrics, log_predictions, model_name, set_description
from photoz.tracking.tracker import Tracker, experiment_name, resolve_uri
from photoz.training import distributed
from photoz.job.resume import resolve_resume
from photoz.training.checkpoint import write_state

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def uses_trainer(cfg: PhotozConfig) -> bool:
    """Whether cfg.model's estimator is trained by photoz.training (reads trainer.* and optimizer.*);
    the baselines ignore them. The estimator class says so itself (Estimator.uses_trainer)."""
    return estimator_class(cfg.model.name).uses_trainer


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


def _short(x: float, digits: int = 1) -> str:
    """3e-04 -> 3e-4, 0.001 -> 1e-3, 0.0027 -> 2.7e-3 (digits=2): compact numbers for run names."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def run_name(cfg: PhotozConfig, trial: optuna.trial.Trial | None = None) -> str:
    """A name a person can read in the MLflow UI, e.g. googlenet-d5-w32-lr3e-4 or
    timm-resnet18-lr1e-3 (named after the model config: googlenet_pasquet-d5-w64-lr2e-3). A sweep trial's name starts with what differs between trials:
    t7-googlenet-d5-lr3.2e-4 (w32 too if searched)."""
    parts = [model_config(cfg)] if trial is None else [f"t{trial.number}", model_config(cfg)]
    arch = [cfg.model.arch] if hasattr(cfg.model, "arch") else None
    if uses_trainer(cfg) and trial is None:
        parts += [*(arch or [f"d{cfg.model.depth}", f"w{cfg.model.width}"]), f"lr{_short(cfg.optimizer.lr)}"]
    elif uses_trainer(cfg):
        parts += [*(arch or [f"d{cfg.model.depth}"]), f"lr{_short(cfg.optimizer.lr, 2)}"]
        parts += [f"w{cfg.model.width}"] if "model.width" in trial.params else []
    return "-".join(parts)


def check_data(cfg: PhotozConfig, data: Dataset) -> None:
    """Every split present; for CNNs a network that fits the data and a train split at least one batch long."""
    sizes = {s: len(data.split_index(s)) for s in SPLITS}
    empty = [s for s, n in sizes.items() if n == 0]
    if empty:
        raise DataError(f"{data.path}: split(s) {', '.join(empty)} are empty; training needs train, val and test rows")
    if uses_trainer(cfg):
        from photoz.estimators.cnn import check_inputs

        check_inputs(cfg.model, data)  # an unknown timm arch, a stamp it cannot take: before the MLflow run
    if uses_trainer(cfg) and cfg.trainer.batch_size > sizes["train"]:
        raise ConfigError(
            f"trainer.batch_size={cfg.trainer.batch_size} is larger than the train split ({sizes['train']} "
            f"galaxies in {data.path}); use trainer.batch_size={min(sizes['train'], 64)} or more data"
        )


def check_network(cfg: PhotozConfig, data: Dataset) -> None:
    """The CNN's config builds a network for these stamps and trainer.device exists (ConfigError)."""
    from photoz.models.build import build_model
    from photoz.training.runtime import choose_runtime

    build_model(cfg.model, len(data.bands), int(data.images.shape[2]))
    choose_runtime(cfg.trainer)


class EpochLogger:
    """The EpochHook: logs each epoch's metrics to MLflow and reports val σ_MAD to Optuna (the
    trial that `trial` names, in a sweep); `max_epochs` is the last epoch (0: a one-shot baseline)."""

    def __init__(self, max_epochs: int, trial: TrialConfig) -> None:
        self.epochs = 0
        self.max_epochs = max_epochs
        self.reporter = None
        if trial.study_name:
            from photoz.job.sweep import trial_reporter

            self.reporter = trial_reporter(trial)
            self.reporter.record_run()  # created inside the MLflow run: link it to the trial now

    def __call__(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs += 1
        log_metrics(metrics, step=epoch)
        if self.reporter is not None:
            self.reporter.report(epoch, metrics["val_sigma_mad"], last=epoch >= self.max_epochs)


def run(cfg: PhotozConfig) -> float:
    """Train cfg.model on cfg.data, log everything to MLflow; return val σ_MAD of the final model."""
    estimator_class(cfg.model.name)  # an unknown model or a missing extra fails before any data is built
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    resolve_uri(cfg.tracking.uri)  # an unwritable store fails now, not after simulating the data
    data = distributed.main_first(lambda: open_dataset(cfg.data))  # torchrun: rank 0 simulates, others reuse
    check_data(cfg, data)
    if not distributed.is_main():  # torchrun rank > 0: train in lock-step with rank 0, log nothing
        build_estimator(cfg).fit(data, lambda epoch, metrics: None)  # it never reads or writes checkpoints
        distributed.finish()  # waits for rank 0 to log everything, then leaves the group with it
        return float("nan")
    if uses_trainer(cfg):  # checks that need no training: refused before any MLflow run starts
        check_network(cfg, data)
    tracker = Tracker(cfg.tracking, cfg.trial.parent_run_id)
    tracker.use_experiment(experiment_name(cfg.tracking, data.path))
    key = config_hash(cfg)
    model = plain(cfg.model)
    ckpt_dir, resume_id = resolve_resume(cfg.trainer, model, tracker, key, data.bands)
    estimator = build_estimator(cfg, ckpt_dir)
    tags = {
        "model": cfg.model.name,  # the estimator photoz.predict loads
        "model_config": model_config(cfg),  # the row photoz.compare puts it in
        "data": str(data.path),
        "data_checksum": str(data.meta.get("checksum", "")),
        "git_commit": git_commit(),
        "config_hash": key,
        "checkpoint_dir": ckpt_dir,
    }
    if cfg.trial.study_name:
        tags.update(study=cfg.trial.study_name, trial=str(cfg.trial.trial_id))
    max_epochs = cfg.trainer.max_epochs if uses_trainer(cfg) else 0  # baselines report once, at epoch 0
    hook = EpochLogger(max_epochs, cfg.trial)
    name = run_name(cfg, hook.reporter.trial if hook.reporter else None)
    with tracker.run(name, tags, resume_id) as run_id:
        log.info("MLflow run %s in experiment %s (%s)", run_id, tracker.experiment_id, tracker.uri)
        write_state(ckpt_dir, {"run_id": run_id, "config_hash": key, "model": model, "bands": data.bands})
        if resume_id is None:  # the config as run: trainer.checkpoint_dir is the directory resolved above
            ran = dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, checkpoint_dir=ckpt_dir))
            log_config(ran, skip=() if uses_trainer(cfg) else ("optimizer", "trainer"))
        start = time.perf_counter()
        estimator.fit(data, hook)
        seconds = time.perf_counter() - start
        n_train = len(data.split_index("train"))
        cost = {"flops_per_galaxy": estimator.flops_per_galaxy()} if uses_trainer(cfg) else {}  # photoz.models.cost
        log_metrics(
            {
                "train_seconds": seconds,
                "train_images_per_s": n_train * max(hook.epochs, 1) / seconds,
                "n_trainable_params": estimator.n_trainable_params(),
                **cost,
            }
        )
        val = estimator.predict(data, data.split_index("val")).metrics("best_val_")
        log_metrics(val)
        test_index = data.split_index("test")
        start = time.perf_counter()
        test = estimator.predict(data, test_index)
        log_metrics({"test_galaxies_per_s": len(test_index) / (time.perf_counter() - start)})
        log_predictions(test, "test")
        set_description(run_description(test.metrics(), estimator.n_trainable_params()))
        estimator.model_name = model_name(name)  # the Models tab lists it under the run's name
        estimator.log_model()
        print(run_summary(
            run_name=name, run_id=run_id, experiment=tracker.experiment_name, experiment_id=tracker.experiment_id,
            tracking_uri=tracker.uri, test_metrics=test.metrics(), n_test=len(test_index), data_dir=str(data.path),
            checkpoint_dir=ckpt_dir if uses_trainer(cfg) else None,
        ))  # fmt: skip
        distributed.finish()  # torchrun: the other ranks wait here for rank 0 (no-op otherwise)
        return val["best_val_sigma_mad"]
