"""model.semi_supervised=consistency (photoz.training.consistency): the UDA term on known inputs,
a CNN trained with it on a tiny labelled view (no unlabelled redshift reaches the loss; exact
resume), and every bad setting as one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from photoz.config import compose, to_typed
from photoz.data import Dataset
from photoz.data.format import UNLABELLED
from photoz.data.labels import apply_labels
from photoz.errors import ConfigError
from photoz.estimators.cnn import CNNEstimator
from photoz.models.schema import CNNConfig, ConsistencyConfig, ViewsConfig
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints
from photoz.training.consistency import Consistency, check_semi_supervised, strong_views
from photoz.training.runtime import Runtime
from tinydata import make_tiny_dataset

BANDS = list("ugrizy")
CPU = Runtime(torch.device("cpu"), bf16=False, channels_last=False)
SEMI = ["model.semi_supervised=consistency", "data.labels.n=16"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=64)


class Centre(nn.Module):
    """Logits from the centre pixel of each band (`scale` 0: constant logits, blind to any view)."""

    def __init__(self, scale: float, n_bins: int = 5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(-1, 1, 6 * n_bins).view(6, n_bins))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.asinh(x[:, :, 8, 8] / 10) @ self.weight


def _term(net: nn.Module, weight: float = 1.0, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, consistency, labelled loss) of one step on 8 labelled + 16 unlabelled random stamps."""
    g = torch.Generator().manual_seed(0)
    images = np.random.default_rng(0).normal(50, 10, (40, 6, 16, 16)).astype(np.float32)
    source = BatchSource(images, np.arange(8, 40), np.full(32, np.nan), torch.device("cpu"), preload_max_gb=1.0)
    cfg = ConsistencyConfig(weight=weight, ratio=2, temperature=temperature)
    term = Consistency(cfg, source, strong_views(cfg, BANDS, np.full(6, 10.0)), batch_size=8)
    x, z = torch.from_numpy(images[:8]), torch.full((8,), 0.5)

    def labelled_loss(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return logits.logsumexp(1).mean() - logits[:, 2].mean()  # cross-entropy against bin 2

    total, agree = term.loss(net, (x, None, z), labelled_loss, CPU, g)
    return total, agree, labelled_loss(net(x), z)


def test_a_network_blind_to_the_views_pays_nothing_and_a_sensitive_one_pays_a_positive_term() -> None:
    total, agree, labelled = _term(Centre(0.0))
    assert agree.item() == pytest.approx(0.0, abs=1e-7) and total.item() == pytest.approx(labelled.item(), rel=1e-6)
    total, agree, labelled = _term(Centre(1.0), weight=2.0)  # shifts, PSF and noise move the centre pixel
    assert agree.item() > 1e-4
    assert total.item() == pytest.approx(labelled.item() + 2.0 * agree.item(), rel=1e-5)


def test_the_target_takes_no_gradient_and_sharpening_changes_it() -> None:
    net = Centre(1.0)
    _, agree, _ = _term(net)
    (grad,) = torch.autograd.grad(agree, [net.weight])
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0  # through the strong view's PDF only
    assert _term(Centre(1.0), temperature=0.4)[1].item() != pytest.approx(agree.item(), rel=1e-3)


def small(data: Dataset, ckpt: Path, *overrides: str) -> tuple[CNNEstimator, Dataset]:
    """A small CNN with consistency training and the labelled view of `data` it trains on."""
    cfg = to_typed(compose(
        "data=directory", f"data.path={data.path}", "model=sequential", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.max_epochs=2", "trainer.progress=false", "trainer.precision=fp32",
        *SEMI, *overrides,
    ))  # fmt: skip
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, str(ckpt))
    return est, apply_labels(data, cfg.data.labels)


def test_consistency_training_learns_from_unlabelled_images_whose_redshifts_it_never_has(tiny: Dataset, tmp_path: Path) -> None:
    est, view = small(tiny, tmp_path)
    unlabelled = view.split_index(UNLABELLED)
    assert len(unlabelled) > 0 and np.isnan(np.asarray(view.catalog["redshift"])[unlabelled]).all()
    est.check(view)
    calls = []
    est.fit(view, lambda epoch, metrics: calls.append(metrics))
    # a NaN redshift in the loss would make it NaN: the unlabelled term never reads one
    assert len(calls) == 2 and all(np.isfinite(m["train_loss"]) and m["train_consistency"] > 0 for m in calls)
    assert est.uses_unlabelled


@pytest.mark.parametrize("target", ["self", "knn"])  # knn: a teacher, fitted again on resume
def test_a_resumed_consistency_run_matches_an_uninterrupted_one(tiny: Dataset, tmp_path: Path, target: str) -> None:
    est, view = small(tiny, tmp_path / "a", f"model.consistency.target={target}")
    est.fit(view, lambda epoch, metrics: None)

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        small(tiny, tmp_path / "b", f"model.consistency.target={target}")[0].fit(view, interrupt)
    torch.manual_seed(7)
    small(tiny, tmp_path / "b", "trainer.resume=true", f"model.consistency.target={target}")[0].fit(view, lambda epoch, metrics: None)
    a, b = (Checkpoints(tmp_path / d).load_last()["model"] for d in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)  # same unlabelled draws and views after the resume


@pytest.mark.parametrize(
    "model, bands, n_unlabelled, fragment",
    [
        (CNNConfig(semi_supervised="consistency", head="regression"), BANDS, 10, "it needs model.head=pdf"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(ratio=0)), BANDS, 10, "model.consistency.ratio=0 must be an integer >= 1"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(weight=-1.0)), BANDS, 10, "model.consistency.weight=-1.0 must be a finite number >= 0"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(temperature=0.0)), BANDS, 10, "model.consistency.temperature=0.0 must be a finite number > 0"),
        (CNNConfig(semi_supervised="consistency"), ["NUV", "r"], 10, "model.consistency.views.reddening=0.03 needs A_b/E(B-V) of band(s) NUV"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(views=ViewsConfig(psf=-1.0))), BANDS, 10, "model.consistency.views.psf=-1.0 must be >= 0"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(weight=float("nan"))), BANDS, 10, "weight=nan must be a finite number >= 0"),
        (CNNConfig(semi_supervised="consistency", consistency=ConsistencyConfig(temperature=float("inf"))), BANDS, 10, "temperature=inf must be a finite number > 0"),
        (CNNConfig(semi_supervised="consistency"), BANDS, 0, "every train and val galaxy of this data set keeps its redshift"),
        (CNNConfig(consistency=ConsistencyConfig(ratio=0)), BANDS, 10, "model.consistency.ratio is set but model.semi_supervised=none"),
        (CNNConfig(consistency=ConsistencyConfig(views=ViewsConfig(psf=0.0))), BANDS, 10, "model.consistency.views.psf is set but"),
    ],
)  # fmt: skip
def test_a_bad_semi_supervised_setting_is_one_line(model: CNNConfig, bands: list[str], n_unlabelled: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_semi_supervised(model, bands, n_unlabelled)
    assert fragment in str(err.value) and "\n" not in str(err.value), str(err.value)
    check_semi_supervised(CNNConfig(head="regression"), ["NUV"], 0)  # off and unset: nothing to check


def test_consistency_without_hidden_redshifts_is_refused_before_training(tmp_path: Path) -> None:
    data = make_tiny_dataset(tmp_path / "all", n=48)
    est, view = small(data, tmp_path / "ckpt", "data.labels.n=null")
    with pytest.raises(ConfigError, match="keeps its redshift: label fewer"):
        est.check(view)


def test_a_resume_refused_over_changed_settings_names_the_keys() -> None:
    """resolve_resume's message: the keys that differ (nested ones dotted), or only the network's
    name when the network is another one."""
    from photoz.job.resume import _differences

    saved = {"name": "sequential", "depth": 2, "consistency": {"ratio": 40, "views": {"psf": 0.8}}}
    here = {"name": "sequential", "depth": 2, "consistency": {"ratio": 2, "views": {"psf": 0.0}}}
    assert _differences(saved, here) == "model.consistency.ratio=40 there, 2 here; model.consistency.views.psf=0.8 there, 0.0 here"
    assert _differences(saved, {**here, "name": "googlenet", "depth": 3}) == "model.name=sequential there, googlenet here"
