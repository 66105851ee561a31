"""CNNEstimator and the training loop in-process on a tiny data set: hook metrics, checkpoints,
early stopping, exact resume, pruning, heads and precisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from tinydata import make_tiny_dataset
from photoz.config import PhotozConfig, compose, to_typed
from photoz.data import Dataset
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints
from photoz.estimators.cnn import CNNEstimator
from photoz.training.loop import FitContext, Task, fit
from photoz.training.runtime import choose_runtime

HOOK_KEYS = {"val_sigma_mad", "val_bias", "val_eta", "train_loss", "lr"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=64)


def small_cfg(data: Dataset, *overrides: str) -> PhotozConfig:
    return to_typed(compose(
        "data=directory", f"data.path={data.path}", "model=sequential", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.max_epochs=2", "trainer.progress=false", "trainer.precision=fp32", *overrides,
    ))  # fmt: skip


def small_cnn(data: Dataset, ckpt: Path, *overrides: str) -> CNNEstimator:
    """The CNN of small_cfg, checkpointing into `ckpt`."""
    cfg = small_cfg(data, *overrides)
    return CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, str(ckpt))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, dict[str, float]]] = []

    def __call__(self, epoch: int, metrics: dict[str, float]) -> None:
        self.calls.append((epoch, metrics))


def test_fit_reports_every_epoch_writes_checkpoints_and_predicts_pdfs(tiny: Dataset, tmp_path: Path) -> None:
    est, hook = small_cnn(tiny, tmp_path), Recorder()
    est.fit(tiny, hook)
    assert [e for e, _ in hook.calls] == [1, 2]
    assert all(HOOK_KEYS <= set(m) and np.isfinite(list(m.values())).all() for _, m in hook.calls)
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "last.pt").is_file()
    test = tiny.split_index("test")
    pred = est.predict(tiny, test)
    assert pred.pdf.shape == (len(test), 180)
    np.testing.assert_allclose(pred.pdf.sum(1), 1, rtol=1e-5)
    assert np.array_equal(pred.ids, np.asarray(tiny.catalog["id"])[test])
    assert est.n_trainable_params() == sum(p.numel() for p in est.net.backbone.parameters())
    best_val = min(m["val_sigma_mad"] for _, m in hook.calls)
    assert est.predict(tiny, tiny.split_index("val")).metrics()["sigma_mad"] == pytest.approx(best_val, rel=1e-5)


def test_resumed_training_matches_uninterrupted_training(tiny: Dataset, tmp_path: Path) -> None:
    small_cnn(tiny, tmp_path / "a").fit(tiny, Recorder())

    seen = []

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        seen.append(metrics)
        raise KeyboardInterrupt  # killed after epoch 1's last.pt, before its metrics were logged

    with pytest.raises(KeyboardInterrupt):
        small_cnn(tiny, tmp_path / "b").fit(tiny, interrupt)
    resumed, hook = small_cnn(tiny, tmp_path / "b", "trainer.resume=true"), Recorder()
    torch.manual_seed(123)  # a different global RNG state must not matter: last.pt restores it
    resumed.fit(tiny, hook)
    assert [e for e, _ in hook.calls] == [1, 2] and hook.calls[0][1] == seen[0]  # epoch 1 re-reported: none lost
    a = Checkpoints(tmp_path / "a").load_last()["model"]
    b = Checkpoints(tmp_path / "b").load_last()["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_early_stopping_keeps_the_best_epoch(tiny: Dataset, tmp_path: Path) -> None:
    cfg = small_cfg(tiny, "trainer.max_epochs=10", "trainer.patience=2")
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, str(tmp_path))
    est.fit(tiny, Recorder())  # builds est.net on the data
    rt = choose_runtime(cfg.trainer)
    index = tiny.split_index("train")
    train = BatchSource(tiny.images, index, np.zeros(len(index)), rt.device, 1.0)
    scripted = iter([0.5, 0.4, 0.45, 0.46, 0.3])
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def validate() -> dict[str, float]:
        return {"val_sigma_mad": next(scripted), "val_bias": 0.0, "val_eta": 0.0}

    def hook(epoch: int, metrics: dict[str, float]) -> None:
        snapshots[epoch] = {k: v.clone() for k, v in est.net.state_dict().items()}

    task = Task(train, validate, lambda out, z: out.float().pow(2).mean())
    state = fit(est.net, task, cfg.trainer, cfg.optimizer, FitContext(rt, Checkpoints(tmp_path / "es"), hook, cfg.seed))
    assert (state.epoch, state.best_epoch, state.best_val, state.stopped_early) == (4, 2, 0.4, True)
    assert all(torch.equal(v, snapshots[2][k]) for k, v in est.net.state_dict().items())


@pytest.mark.parametrize("keep, kept_epoch", [("best", 2), ("last", 3)])
def test_trainer_keep_chooses_the_weights_a_run_ends_with(tiny: Dataset, tmp_path: Path, keep: str, kept_epoch: int) -> None:
    cfg = small_cfg(tiny, "trainer.max_epochs=3", f"trainer.keep={keep}")
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, str(tmp_path))
    est.net = est.build_net(tiny, tiny.split_index("train"))
    rt = choose_runtime(cfg.trainer)
    index = tiny.split_index("train")
    train = BatchSource(tiny.images, index, np.zeros(len(index)), rt.device, 1.0)
    scripted = iter([0.5, 0.4, 0.45])  # the best val σ_MAD at epoch 2 of 3
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def hook(epoch: int, metrics: dict[str, float]) -> None:
        snapshots[epoch] = {k: v.clone() for k, v in est.net.state_dict().items()}

    validate = lambda: {"val_sigma_mad": next(scripted), "val_bias": 0.0, "val_eta": 0.0}  # noqa: E731
    task = Task(train, validate, lambda out, z: out.float().pow(2).mean())
    state = fit(est.net, task, cfg.trainer, cfg.optimizer, FitContext(rt, Checkpoints(tmp_path / "k"), hook, cfg.seed))
    assert (state.epoch, state.best_epoch) == (3, 2)
    assert not all(torch.equal(v, snapshots[2][k]) for k, v in snapshots[3].items())  # the two epochs differ
    assert all(torch.equal(v, snapshots[kept_epoch][k]) for k, v in est.net.state_dict().items())


def test_a_pruned_trial_stops_training(tiny: Dataset, tmp_path: Path) -> None:
    def prune(epoch: int, metrics: dict[str, float]) -> None:
        raise optuna.TrialPruned(f"pruned at {epoch}")

    with pytest.raises(optuna.TrialPruned, match="pruned at 1"):
        small_cnn(tiny, tmp_path).fit(tiny, prune)


def test_regression_head_and_forced_bf16(tiny: Dataset, tmp_path: Path) -> None:
    est = small_cnn(tiny, tmp_path, "model.head=regression", "trainer.max_epochs=1", "trainer.precision=bf16")
    hook = Recorder()
    est.fit(tiny, hook)
    assert np.isfinite(hook.calls[0][1]["val_sigma_mad"])
    pred = est.predict(tiny, tiny.split_index("test"))
    assert pred.pdf is None and np.all(pred.z_phot >= 0) and np.all(np.isnan(pred.z_err))


def test_a_last_checkpoint_from_another_version_is_one_line(tiny: Dataset, tmp_path: Path) -> None:
    """A last.pt of plain tensors whose names or shapes another photoz version (or network) wrote:
    resuming from it is one line that says what to do, never load_state_dict's traceback."""
    from photoz.errors import PhotozError

    small_cnn(tiny, tmp_path, "trainer.max_epochs=1").fit(tiny, Recorder())
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    first = next(iter(last["model"]))
    for change in ("rename", "reshape"):
        edited = dict(last, model=dict(last["model"]))
        if change == "rename":
            edited["model"]["renamed." + first] = edited["model"].pop(first)
        else:
            edited["model"][first] = torch.zeros(3, *edited["model"][first].shape)
        torch.save(edited, tmp_path / "last.pt")
        with pytest.raises(PhotozError) as err:
            small_cnn(tiny, tmp_path, "trainer.resume=true").fit(tiny, Recorder())
        message = str(err.value)
        assert "\n" not in message and "does not fit this run's network or optimizer" in message, message
        assert "start without trainer.resume" in message
        # what does not fit, not just load_state_dict's header line (which named nothing)
        assert ("Missing key(s)" if change == "rename" else "size mismatch for " + first) in message, message
