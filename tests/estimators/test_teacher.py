"""model.consistency.target=<catalogue estimator> (photoz.estimators.teacher and the teacher path of
photoz.training.consistency): the term on known inputs, the sharpening's frozen values, a teacher
that sees no hidden redshift, a CNN trained with one, and every bad target as one line."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.table import Column
from torch import nn

from photoz.config import compose, to_typed
from photoz.data import Dataset, write_dataset
from photoz.data.format import UNLABELLED
from photoz.data.labels import apply_labels
from photoz.errors import ConfigError
from photoz.estimators.cnn import CNNEstimator
from photoz.estimators.teacher import teacher_for, teacher_targets, teachers
from photoz.models.schema import CNNConfig, ConsistencyConfig
from photoz.training.batches import BatchSource
from photoz.training.consistency import Consistency, sharpened, strong_views
from photoz.training.runtime import Runtime
from tinydata import make_tiny_dataset

CPU = Runtime(torch.device("cpu"), bf16=False, channels_last=False)
TAUGHT = ["model.semi_supervised=consistency", "data.labels.n=16", "model.consistency.target=knn"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=64)


class Flat(nn.Module):
    """Zero logits over 5 bins whatever the image: a uniform PDF, blind to every view."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), 5)


def test_the_teachers_pdf_of_each_drawn_galaxy_is_its_target() -> None:
    """Against a uniform PDF the term is the mean KL(teacher row || uniform) over the drawn rows."""
    teacher = torch.tensor([[0.6, 0.1, 0.1, 0.1, 0.1], [0.2] * 5] * 16)  # 32 unlabelled galaxies
    images = np.random.default_rng(0).normal(50, 10, (40, 6, 16, 16)).astype(np.float32)
    source = BatchSource(images, np.arange(8, 40), np.full(32, np.nan), torch.device("cpu"), preload_max_gb=1.0)
    cfg = ConsistencyConfig(ratio=2)
    term = Consistency(cfg, source, strong_views(cfg, list("ugrizy"), np.full(6, 10.0)), batch_size=8, teacher=teacher)
    x, z = torch.from_numpy(images[:8]), torch.zeros(8)
    _, agree = term.loss(Flat(), (x, None, z), lambda logits, z: logits.sum() * 0, CPU, torch.Generator().manual_seed(0))
    drawn = torch.randint(0, 32, (16,), generator=torch.Generator().manual_seed(0))  # the term's first draw
    peaked = 0.6 * math.log(3.0) + 0.4 * math.log(0.5)  # KL([0.6, 0.1 x 4] || 0.2 x 5) = 0.381908
    assert agree.item() == pytest.approx(peaked * float((drawn % 2 == 0).float().mean()), rel=1e-5)
    assert 0 < agree.item() < peaked  # both kinds of rows were drawn


def test_sharpening_a_teachers_pdf_is_a_tempered_softmax() -> None:
    pdf = torch.tensor([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    assert torch.allclose(sharpened(pdf, 0.5), torch.tensor([[2 / 3, 1 / 6, 1 / 6], [0.0, 1.0, 0.0]]))
    assert torch.equal(sharpened(pdf, 1.0), pdf)
    logits = torch.log(pdf[:1])
    assert torch.allclose(sharpened(pdf[:1], 0.4), torch.softmax(logits / 0.4, dim=1))


def _view(data: Dataset, *overrides: str) -> tuple[CNNConfig, Dataset]:
    cfg = to_typed(compose(
        "data=directory", f"data.path={data.path}", "model=sequential", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.max_epochs=2", "trainer.progress=false", "trainer.precision=fp32",
        *TAUGHT, *overrides,
    ))  # fmt: skip
    return cfg, apply_labels(data, cfg.data.labels)


def test_the_teacher_never_reads_a_hidden_redshift(tiny: Dataset, tmp_path: Path) -> None:
    """Its targets stay the same when every redshift the view hides is changed in the data set on
    disk (a teacher that read them, from the view or the files, would move), while changing the
    labelled ones moves them (the check can fail)."""
    cfg, view = _view(tiny)
    unlabelled = view.split_index(UNLABELLED)
    before = teacher_targets(cfg.model, cfg.seed, view, unlabelled)

    def targets_with(rows: np.ndarray, name: str) -> np.ndarray:
        catalog = tiny.catalog.copy()
        z = np.asarray(catalog["redshift"], dtype=float).copy()
        z[rows] = 1.55 - z[rows]  # other redshifts in the same range, 0.05–1.5
        catalog["redshift"] = Column(z)
        data = write_dataset(tmp_path / name, np.asarray(tiny.images), catalog, tiny.meta)
        changed = apply_labels(data, cfg.data.labels)
        assert np.array_equal(changed.split_index(UNLABELLED), unlabelled)
        return teacher_targets(cfg.model, cfg.seed, changed, unlabelled)

    after = targets_with(unlabelled, "hidden_changed")
    assert not np.array_equal(before, targets_with(view.split_index("train"), "labelled_changed"))
    assert before.shape == (len(unlabelled), cfg.model.n_bins) and np.allclose(before.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(before, after)


def test_a_cnn_trains_against_a_teachers_targets(tiny: Dataset, tmp_path: Path, caplog) -> None:
    cfg, view = _view(tiny)
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, str(tmp_path))
    est.check(view)
    calls = []
    with caplog.at_level("INFO", logger="photoz.estimators.teacher"):
        est.fit(view, lambda epoch, metrics: calls.append(metrics))
    assert "consistency target: fitting knn on the labelled galaxies" in caplog.text  # the teacher's, not its own
    assert len(calls) == 2 and all(np.isfinite(m["train_loss"]) and m["train_consistency"] > 0 for m in calls)


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("foo", "model.consistency.target=foo cannot give targets: use self"),
        ("sequential", "model.consistency.target=sequential cannot give targets"),
        ("ensemble", "model.consistency.target=ensemble cannot give targets"),
    ],
)
def test_a_target_that_cannot_teach_is_one_line(tiny: Dataset, target: str, fragment: str) -> None:
    cfg, view = _view(tiny, f"model.consistency.target={target}")
    with pytest.raises(ConfigError) as err:
        CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer).check(view)
    assert fragment in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_self_or_no_semi_supervision_has_no_teacher_and_a_teacher_uses_the_networks_grid() -> None:
    assert teacher_for(CNNConfig(semi_supervised="consistency"), 0) is None
    assert teacher_for(CNNConfig(consistency=ConsistencyConfig(target="knn")), 0) is None  # semi_supervised=none
    taught = CNNConfig(semi_supervised="consistency", n_bins=40, z_max=2.0, consistency=ConsistencyConfig(target="random_forest"))
    teacher = teacher_for(taught, 3)
    assert (teacher.model_cfg.name, teacher.model_cfg.n_bins, teacher.model_cfg.z_max, teacher.seed) == ("random_forest", 40, 2.0, 3)
    assert "rail_flexzboost" in teachers() and "sequential" not in teachers() and "ensemble" not in teachers()
