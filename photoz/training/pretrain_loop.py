"""The contrastive pretraining loop: epochs of MoCo steps, progress, checkpoints and resume.

Each epoch draws two views of every image (photoz.training.views), steps the optimizer on the
InfoNCE loss (photoz.training.contrastive), then updates the key encoder and the queue. After
each epoch last.pt holds everything a resumed run continues from (both encoders, projectors,
queue, optimizer, schedule, the generator of batch order and views, torch's RNG and the epoch),
written atomically (photoz.training.checkpoint), so `trainer.resume=true` after a kill continues
with the same batches and views as if never stopped. Optimizer and schedule are the training
loop's (photoz.training.loop: AdamW/SGD, warm-up + cosine). One process, one device.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from photoz.config import OptimizerConfig, TrainerConfig
from photoz.errors import ConfigError
from photoz.training.batches import BatchSource
from photoz.training.contrastive import MoCo
from photoz.training.loop import FitContext, Stepper, make_optimizer, make_scheduler, restore_states, save_states
from photoz.training.views import Views

log = logging.getLogger(__name__)


@dataclass
class PretrainState:
    """Where pretraining stands; saved in last.pt."""

    epoch: int = 0  # epochs completed
    metrics: dict[str, float] = field(default_factory=dict)  # the last epoch's, re-reported on resume


def _epoch(moco: MoCo, source: BatchSource, views: Views, step: Stepper, ctx: FitContext, t: TrainerConfig, bar: tqdm) -> dict[str, float]:
    """One pass over the shuffled images; mean loss and contrastive accuracy."""
    moco.train()
    total = torch.zeros(2)
    seen = 0
    for x, _, _ in source.batches(t.batch_size, shuffle=True, generator=step.generator):
        x_q, x_k = views(x, step.generator), views(x, step.generator)
        if ctx.rt.channels_last:
            x_q, x_k = (v.contiguous(memory_format=torch.channels_last) for v in (x_q, x_k))
        with ctx.rt.autocast():
            loss, accuracy, keys = moco(x_q, x_k, step.generator)
        step.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        step.optimizer.step()
        step.scheduler.step()
        moco.update_keys(keys)
        total += torch.stack([loss.detach(), accuracy]).cpu() * len(x)
        seen += len(x)
        bar.update(1)
    loss, accuracy = (total / seen).tolist()
    if not math.isfinite(loss):
        raise ConfigError(f"pretraining diverged: loss is {loss}; lower optimizer.lr")
    return {"pretrain_loss": loss, "pretrain_accuracy": accuracy}


def _start(moco: MoCo, source: BatchSource, t: TrainerConfig, opt: OptimizerConfig, ctx: FitContext) -> tuple[Stepper, PretrainState]:
    optimizer = make_optimizer(moco, opt, ctx.rt.device)
    scheduler = make_scheduler(optimizer, opt, source.n_batches(t.batch_size, shuffle=True), t.max_epochs)
    step = Stepper(optimizer, scheduler, torch.Generator().manual_seed(ctx.seed))
    last = ctx.checkpoints.load_last() if t.resume else None
    if last is None:
        return step, PretrainState()
    state = ctx.checkpoints.restored(lambda: PretrainState(**restore_states(last, moco, step)))
    log.info("resuming pretraining from %s after epoch %d", ctx.checkpoints.dir, state.epoch)
    if state.epoch and state.metrics:  # a kill between last.pt and the log loses none: on_epoch skips what it has
        ctx.on_epoch(state.epoch, state.metrics)
    return step, state


def pretrain(moco: MoCo, source: BatchSource, views: Views, t: TrainerConfig, opt: OptimizerConfig, ctx: FitContext) -> PretrainState:
    """Pretrain `moco` for trainer.max_epochs epochs on `source`'s images (continuing from last.pt
    with trainer.resume); ctx.on_epoch gets each epoch's loss, accuracy, lr and speed."""
    if source.n_batches(t.batch_size, shuffle=True) == 0 or len(source) < t.batch_size:
        raise ConfigError(f"trainer.batch_size={t.batch_size} is more than the {len(source)} images to pretrain on; lower it")
    step, state = _start(moco, source, t, opt, ctx)
    steps = source.n_batches(t.batch_size, shuffle=True)
    while state.epoch < t.max_epochs:
        epoch = state.epoch + 1
        start = time.perf_counter()
        with tqdm(total=steps, desc=f"pretraining epoch {epoch}/{t.max_epochs}", disable=not t.progress, leave=False) as bar:
            metrics = _epoch(moco, source, views, step, ctx, t, bar)
        seconds = time.perf_counter() - start
        metrics.update(lr=step.scheduler.get_last_lr()[0], epoch_images_per_s=steps * t.batch_size / seconds, epoch_seconds=seconds)
        state.epoch, state.metrics = epoch, metrics
        save_states(moco, step, state, ctx)
        left = (t.max_epochs - epoch) * seconds
        log.info("pretraining epoch %d/%d: loss %.4f  accuracy %.1f %%  (%.0f img/s, %.0f s; about %.0f min left)",
                 epoch, t.max_epochs, metrics["pretrain_loss"], 100 * metrics["pretrain_accuracy"],
                 metrics["epoch_images_per_s"], seconds, left / 60)  # fmt: skip
        ctx.on_epoch(epoch, metrics)
    return state
