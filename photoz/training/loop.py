"""The CNN training loop: optimizer and schedule, epochs, early stopping, checkpoints, resume.

Kept as small functions over plain tensors so each piece can be timed and swapped: batches come
from BatchSource, augmentation from Task.augment (augment.random_dihedral unless model.dimming), and
the loss is accumulated on the device (one host sync per epoch, not per step). Under torchrun the
model is wrapped in DDP and validation, hooks and checkpoints run on rank 0
(photoz.training.distributed).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from functools import partial

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from photoz.config import OptimizerConfig, TrainerConfig
from photoz.errors import ConfigError
from photoz.training import distributed
from photoz.training.augment import Augment, random_dihedral
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints
from photoz.training.consistency import Consistency
from photoz.training.hooks import EpochHook
from photoz.training.runtime import Runtime

log = logging.getLogger(__name__)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, z) -> scalar loss
Validate = Callable[[], dict[str, float]]  # -> {"val_sigma_mad": ..., "val_bias": ..., "val_eta": ...}


@dataclass
class FitState:
    """Where training stands; saved in last.pt so a resumed run continues exactly here."""

    epoch: int = 0  # epochs completed
    best_val: float = math.inf
    best_epoch: int = 0
    stale: int = 0  # epochs since best_val improved
    stopped_early: bool = False
    metrics: dict[str, float] = field(default_factory=dict)  # the last epoch's, re-reported on resume


def make_optimizer(net: nn.Module, opt: OptimizerConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW or SGD; no weight decay on biases and normalisation weights (1-d tensors)."""
    params = [p for p in net.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": opt.weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
    ]
    fused = device.type in ("cpu", "cuda")
    if opt.name == "sgd":
        return torch.optim.SGD(groups, lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov, fused=fused)
    return torch.optim.AdamW(groups, lr=opt.lr, betas=tuple(opt.betas), fused=fused)


def make_scheduler(
    optimizer: torch.optim.Optimizer, opt: OptimizerConfig, steps_per_epoch: int, max_epochs: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-step schedule: linear warm-up + cosine decay, one-cycle, or constant."""
    total = steps_per_epoch * max_epochs
    if opt.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=opt.lr, total_steps=total)
    if opt.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    warmup = round(opt.warmup_epochs * steps_per_epoch)
    floor = opt.min_lr_ratio

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass(frozen=True)
class Task:
    """What fit learns: the train batches, the validation (rank 0's val metrics), the loss,
    with model.semi_supervised the unlabelled term of each step, and the augmentation of each
    labelled batch (a random flip / 90° rotation; with model.dimming also photoz.training.dimming)."""

    train: BatchSource
    validate: Validate
    loss_fn: LossFn
    unlabelled: Consistency | None = None
    augment: Augment = random_dihedral


@dataclass(frozen=True)
class FitContext:
    """Where fit runs and whom it tells: the runtime (device, precision), the checkpoints to save
    and resume from, the hook called after each epoch, and the seed of batch order and augmentation."""

    rt: Runtime
    checkpoints: Checkpoints
    on_epoch: EpochHook
    seed: int


@dataclass
class Stepper:
    """What each training step advances: the optimizer, the lr schedule, the batch-order and
    augmentation generator (all three saved in last.pt)."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator


def train_epoch(net: nn.Module, task: Task, step: Stepper, rt: Runtime, batch_size: int, bar: tqdm) -> dict[str, float]:
    """One pass over the shuffled train split, each batch through task.augment: the mean train_loss
    (and with task.unlabelled the mean train_consistency, the unlabelled term before its weight)."""
    net.train()
    total = torch.zeros(2, device=rt.device)
    seen = 0
    for x, catalog, z in task.train.batches(batch_size, shuffle=True, generator=step.generator):
        x = task.augment(x, step.generator)
        if task.unlabelled is None:
            loss, agree = task.loss_fn(rt.forward(net, x, catalog).float(), z), torch.zeros((), device=rt.device)
        else:
            loss, agree = task.unlabelled.loss(net, (x, catalog, z), task.loss_fn, rt, step.generator)
        step.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        step.optimizer.step()
        step.scheduler.step()
        total += torch.stack([loss.detach(), agree.detach()]) * len(z)
        seen += len(z)
        bar.update(1)
    loss, agree = (total / seen).tolist()
    return {"train_loss": loss} | ({"train_consistency": agree} if task.unlabelled is not None else {})


@torch.inference_mode()
def predict_outputs(net: nn.Module, source: BatchSource, rt: Runtime, batch_size: int) -> np.ndarray:
    """net(x) (the logits) for every row of `source`, in order, as a float32 numpy array."""
    net.eval()
    outs = []
    for x, catalog, _ in source.batches(batch_size):
        outs.append(rt.forward(net, x, catalog).float())
    return torch.cat(outs).cpu().numpy()


def restore_states(last: dict, net: nn.Module, step: Stepper) -> dict:
    """Load last.pt's network, optimizer, schedule and random states; its `fit_state` (a dict)."""
    net.load_state_dict(last["model"])
    step.optimizer.load_state_dict(last["optimizer"])
    step.scheduler.load_state_dict(last["scheduler"])
    step.generator.set_state(last["generator"])
    torch.set_rng_state(last["torch_rng"])
    return dict(last["fit_state"])


def _improved(state: FitState, epoch: int, val: float) -> bool:
    if val < state.best_val:
        state.best_val, state.best_epoch, state.stale = val, epoch, 0
        return True
    state.stale += 1
    return False


def _start(net: nn.Module, task: Task, t: TrainerConfig, opt: OptimizerConfig, ctx: FitContext) -> tuple[nn.Module, Stepper, FitState]:
    """The model to step (DDP-wrapped under torchrun, compiled with trainer.compile), its stepper,
    and where training stands: from last.pt with trainer.resume, else epoch 0."""
    model = distributed.wrap(net, ctx.rt.device)  # DDP under torchrun: gradients all-reduced each step
    if t.compile:  # same parameters as `net`: checkpoints and the logged model stay uncompiled
        model = torch.compile(model)
    optimizer = make_optimizer(net, opt, ctx.rt.device)
    scheduler = make_scheduler(optimizer, opt, task.train.n_batches(t.batch_size, shuffle=True), t.max_epochs)
    step = Stepper(optimizer, scheduler, torch.Generator().manual_seed(ctx.seed))
    last = distributed.from_main(lambda: ctx.checkpoints.load_last() if t.resume else None)  # rank 0's, sent to all
    if last is None:
        return model, step, FitState()
    state = ctx.checkpoints.restored(lambda: FitState(**restore_states(last, net, step)))
    log.info("resuming from %s after epoch %d", ctx.checkpoints.dir, state.epoch)
    return model, step, state


def _train(
    model: nn.Module, task: Task, step: Stepper, t: TrainerConfig, opt: OptimizerConfig, ctx: FitContext, epoch: int
) -> dict[str, float]:
    """One epoch of training and rank 0's validation: train_loss, lr, epoch_images_per_s and val_*."""
    steps = task.train.n_batches(t.batch_size, shuffle=True)
    start = time.perf_counter()
    with tqdm(total=steps, desc=f"epoch {epoch}/{t.max_epochs}", disable=not (t.progress and distributed.is_main()), leave=False) as bar:
        losses = train_epoch(model, task, step, ctx.rt, t.batch_size, bar)
    metrics = {key: distributed.mean(value, ctx.rt.device) for key, value in losses.items()}
    seconds = time.perf_counter() - start
    if not math.isfinite(metrics["train_loss"]):
        more = " or model.consistency.weight" if task.unlabelled is not None else ""
        raise ConfigError(f"training diverged: train loss is {metrics['train_loss']} at epoch {epoch}; lower optimizer.lr (now {opt.lr}){more}")
    images_per_s = steps * t.batch_size * distributed.world_size() / seconds  # labelled images
    metrics |= {"lr": step.scheduler.get_last_lr()[0], "epoch_images_per_s": images_per_s}
    metrics.update(distributed.from_main(task.validate))  # rank 0 validates, every rank gets the metrics
    return metrics


def save_states(net: nn.Module, step: Stepper, state: Any, ctx: FitContext) -> None:
    """last.pt: the network, optimizer, schedule and random states and `state` (a dataclass:
    FitState, or pretraining's), everything a resumed run continues from (rank 0 only);
    restore_states reads it back."""
    ctx.checkpoints.save_last({
        "model": net.state_dict(), "optimizer": step.optimizer.state_dict(), "scheduler": step.scheduler.state_dict(),
        "generator": step.generator.get_state(), "torch_rng": torch.get_rng_state(), "fit_state": asdict(state),
    })  # fmt: skip


def fit(net: nn.Module, task: Task, t: TrainerConfig, opt: OptimizerConfig, ctx: FitContext) -> FitState:
    """Train until trainer.max_epochs or early stopping; leave the best weights in `net` (the
    last with trainer.keep=last).

    `t` and `opt` are the trainer and optimizer configs; ctx.seed seeds the batch order and
    augmentation. With trainer.resume and a last.pt in ctx.checkpoints' directory, continue from it
    (same batch order, schedule and counters as if never interrupted).
    """
    model, step, state = _start(net, task, t, opt, ctx)
    if state.epoch and state.metrics:  # a kill between last.pt and the hook loses no epoch: the hook skips what it has
        distributed.from_main(partial(ctx.on_epoch, state.epoch, state.metrics))
    while state.epoch < t.max_epochs and not state.stopped_early:
        epoch = state.epoch + 1
        metrics = _train(model, task, step, t, opt, ctx, epoch)
        state.epoch, state.metrics = epoch, metrics
        if _improved(state, epoch, metrics["val_sigma_mad"]) and distributed.is_main():
            ctx.checkpoints.save_best(net.state_dict(), epoch, state.best_val)
        state.stopped_early = 0 < t.patience <= state.stale
        if distributed.is_main():
            save_states(net, step, state, ctx)
        log.info(
            "epoch %d: loss %.4f  val σ_MAD %.4f  bias %+.4f  η %.1f %%  (%.0f img/s)",
            epoch, metrics["train_loss"], metrics["val_sigma_mad"], metrics["val_bias"], 100 * metrics["val_eta"],
            metrics["epoch_images_per_s"],
        )  # fmt: skip
        distributed.from_main(partial(ctx.on_epoch, epoch, metrics))  # MLflow and Optuna: rank 0 only
    best = ctx.checkpoints.load_best() if distributed.is_main() and t.keep == "best" else None
    if best is not None:  # trainer.keep=last: the final weights, as they are
        net.load_state_dict(best["model"])
    distributed.sync_from_main(net)  # every rank ends with rank 0's kept weights
    return state
