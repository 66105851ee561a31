"""Every CNN family × head composes through Hydra and trains one tiny epoch (16×16 stamps)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tinydata import make_tiny_dataset
from photoz.config import compose, to_typed
from photoz.data import Dataset
from photoz.estimators.build import build_estimator
from photoz.estimators.cnn import CNNEstimator

SMALL = {
    "resnet": ["model.width=4", "model.depth=2", "model.blocks=1"],
    "efficientnet": ["model.width=8", "model.depth=3"],
    "timm": ["model.arch=resnet10t"],
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=40)


def one_epoch(data: Dataset, ckpt: Path, model: str, *overrides: str) -> CNNEstimator:
    cfg = compose(
        "data=directory", f"data.path={data.path}", f"model={model}", *SMALL[model], "trainer.batch_size=8",
        "trainer.max_epochs=1", "trainer.progress=false", "trainer.precision=fp32", "trainer.num_threads=1", *overrides,
    )  # fmt: skip
    est = build_estimator(to_typed(cfg), str(ckpt))
    calls = []
    est.fit(data, lambda epoch, metrics: calls.append(metrics))
    assert len(calls) == 1 and np.isfinite(calls[0]["train_loss"]) and np.isfinite(calls[0]["val_sigma_mad"])
    return est


@pytest.mark.parametrize("head", ["pdf", "regression"])
@pytest.mark.parametrize("model", ["resnet", "efficientnet", "timm"])
def test_every_family_and_head_trains_one_epoch(tiny: Dataset, tmp_path: Path, model: str, head: str) -> None:
    if model == "timm" and importlib.util.find_spec("timm") is None:
        pytest.skip("the optional timm extra is not installed")
    est = one_epoch(tiny, tmp_path, model, f"model.head={head}")
    test = tiny.split_index("test")
    pred = est.predict(tiny, test)
    assert np.isfinite(pred.z_phot).all() and len(pred.z_phot) == len(test)
    assert (pred.pdf is None) == (head == "regression")
