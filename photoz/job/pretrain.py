"""One pretraining run, start to finish: `pretrain_run(cfg)`, the body of `python -m photoz.pretrain`.

Order as in photoz.job.run: cheap checks first (the pretrain block, a CNN, a writable store),
then the data set (opened as it is: pretraining reads images, never a redshift, so data.labels
does not change it), the encoder and its views, then the MLflow run, which is resumable with
trainer.resume=true (photoz.job.resume) and ends FAILED or KILLED like a training run. The run
logs its config, each epoch's loss, contrastive accuracy, lr and speed, and the encoder in
photoz's safe format (photoz.training.encoder) that `model.init=<run id>` starts a CNN from. It
carries the tag run_type=pretrain and no `model` tag, so photoz.compare leaves it out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from photoz.config import PretrainConfig, plain
from photoz.data.format import SPLITS, Dataset
from photoz.data.schema import LabelsConfig
from photoz.data.source import open_dataset
from photoz.errors import ConfigError
from photoz.job.resume import resolve_resume
from photoz.job.run import model_config
from photoz.registry import cnn_names
from photoz.tracking.record import git_commit, log_config, log_metrics, logged_steps
from photoz.tracking.tracker import Tracker, experiment_name, resolve_uri
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints, write_state
from photoz.training.contrastive import MoCo, encoder
from photoz.training.encoder import ARTIFACT, write_encoder
from photoz.training.inputs import square_stamp
from photoz.training.loop import FitContext
from photoz.training.normalise import noise_scale
from photoz.training.pretrain_loop import pretrain
from photoz.training.runtime import choose_runtime
from photoz.training.views import Views

log = logging.getLogger(__name__)
METHOD = "moco_v2"


def check(cfg: PretrainConfig) -> None:
    """ConfigError (one line) for what the schema cannot say."""
    p = cfg.pretrain
    if cfg.model.name not in cnn_names():
        raise ConfigError(f"model={cfg.model.name} is not a CNN; pretraining trains a CNN's encoder: model=<one of {', '.join(cnn_names())}>")
    if not p.splits or any(s not in SPLITS for s in p.splits) or len(set(p.splits)) != len(p.splits):
        raise ConfigError(f"pretrain.splits={list(p.splits)}: list some of {', '.join(SPLITS)}, each once, e.g. pretrain.splits=[train]")
    for ok, key, need in ((p.queue >= 1, "queue", ">= 1"), (p.temperature > 0, "temperature", "> 0"),
                          (0 <= p.momentum < 1, "momentum", "in [0, 1)"), (p.projection >= 1, "projection", ">= 1")):  # fmt: skip
        if not ok:
            raise ConfigError(f"pretrain.{key}={getattr(p, key)} must be {need}")


def config_hash(cfg: PretrainConfig) -> str:
    """What identifies a pretraining for resume (not its epochs: a resumed run may run longer)."""
    key = {k: plain(getattr(cfg, k)) for k in ("model", "optimizer", "pretrain")}
    key.update(data={k: v for k, v in plain(cfg.data).items() if k != "labels"}, seed=cfg.seed,
               batch_size=cfg.trainer.batch_size, kind="pretrain")  # fmt: skip
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def images_of(data: Dataset, splits: list[str], batch_size: int) -> np.ndarray:
    """The rows whose images pretraining reads; ConfigError if they are fewer than a batch."""
    rows = np.sort(np.concatenate([data.split_index(s) for s in splits]))
    if len(rows) < batch_size:
        raise ConfigError(f"pretrain.splits={list(splits)} of {data.path} hold {len(rows)} images, fewer than "
                          f"trainer.batch_size={batch_size}; lower it or add splits")  # fmt: skip
    return rows


def images_source(data: Dataset, rows: np.ndarray, device: torch.device, preload_max_gb: float) -> BatchSource:
    """The images of `rows` in batches; no redshift is read: zeros stand in for them."""
    return BatchSource(data.images, rows, np.zeros(len(rows), np.float32), device, preload_max_gb)


def prepare(cfg: PretrainConfig) -> tuple[Dataset, np.ndarray, MoCo, Views]:
    """The data set, the rows to read, the MoCo networks and the views, checked before any run starts."""
    check(cfg)
    torch.manual_seed(cfg.seed)
    resolve_uri(cfg.tracking.uri)
    data = open_dataset(dataclasses.replace(cfg.data, labels=LabelsConfig()))
    rows = images_of(data, list(cfg.pretrain.splits), cfg.trainer.batch_size)
    stamp = (square_stamp(data),) * 2
    scale = noise_scale(data.images, rows)
    moco = MoCo(encoder(cfg.model, data.bands, stamp, scale), cfg.pretrain)
    return data, rows, moco, Views(cfg.pretrain.views, data.bands, scale)


def pretrain_run(cfg: PretrainConfig) -> str:
    """Pretrain cfg.model's encoder on the images of cfg.pretrain.splits; log it; return the run id."""
    data, rows, moco, views = prepare(cfg)
    rt = choose_runtime(cfg.trainer)
    moco.to(rt.device, memory_format=torch.channels_last if rt.channels_last else torch.contiguous_format)
    source = images_source(data, rows, rt.device, cfg.trainer.preload_max_gb)
    tracker = Tracker(cfg.tracking)
    tracker.use_experiment(experiment_name(cfg.tracking, data.path))
    key, model = config_hash(cfg), {**plain(cfg.model), "pretrain": plain(cfg.pretrain)}
    ckpt_dir, resume_id = resolve_resume(cfg.trainer, model, tracker, key, data.bands)
    name = f"pretrain-{model_config(cfg)}-{METHOD}"
    tags = {"run_type": "pretrain", "pretrain_model": model_config(cfg), "data": str(data.path), "config_hash": key,
            "data_checksum": str(data.meta.get("checksum", "")), "git_commit": git_commit(), "checkpoint_dir": ckpt_dir}  # fmt: skip
    with tracker.run(name, tags, resume_id) as run_id:
        log.info("MLflow run %s: pretraining on %d images of %s (%s) on %s", run_id, len(rows), data.path,
                 "+".join(cfg.pretrain.splits), rt.describe())  # fmt: skip
        write_state(ckpt_dir, {"run_id": run_id, "config_hash": key, "model": model, "bands": data.bands})
        if resume_id is None:
            log_config(dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, checkpoint_dir=ckpt_dir)))
        ctx = FitContext(rt, Checkpoints(ckpt_dir), _epoch_logger(run_id if resume_id else None), cfg.seed)
        pretrain(moco, source, views, cfg.trainer, cfg.optimizer, ctx)
        info = {"run": run_id, "method": METHOD, "splits": list(cfg.pretrain.splits), "n_images": len(rows),
                "data": str(data.path), "data_checksum": str(data.meta.get("checksum", "")), "epochs": cfg.trainer.max_epochs}  # fmt: skip
        _log_encoder(moco, info)
    print(f"pretrained encoder: run {run_id} ({len(rows)} images, {cfg.trainer.max_epochs} epochs); fine-tune it with\n"
          f"  python -m photoz.train model={model_config(cfg)} model.init={run_id} [model.freeze_encoder=true]")  # fmt: skip
    return run_id


def _epoch_logger(resumed: str | None) -> Callable[[int, dict[str, float]], None]:
    """Log each epoch's metrics to the active run once: of a resumed run, the epochs its history
    already holds are skipped (the loop re-reports the epoch last.pt was saved after)."""
    logged = logged_steps(resumed, "pretrain_loss") if resumed else set()

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        if epoch not in logged:
            log_metrics(metrics, step=epoch)

    return on_epoch


def _log_encoder(moco: MoCo, info: dict) -> None:
    import mlflow

    net = moco.encoder_q.float().cpu().eval()
    with tempfile.TemporaryDirectory() as tmp:
        write_encoder(Path(tmp) / ARTIFACT, net, info)
        mlflow.log_artifacts(str(Path(tmp) / ARTIFACT), ARTIFACT)
