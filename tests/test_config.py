"""The Hydra config tree: every model x optimizer composes; typos, wrong types and out-of-range
values fail with a clear message."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from photoz.config import CONF_DIR, validate
from photoz.config import compose as compose_cfg
from photoz.errors import ConfigError
from photoz.estimators import REGISTRY

MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
OPTIMIZERS = sorted(p.stem for p in (CONF_DIR / "optimizer").glob("*.yaml"))


def test_every_group_option_is_found() -> None:
    assert {"sequential", "googlenet", "template_fit", "random_forest", "knn"} <= set(MODELS)
    assert OPTIMIZERS == ["adamw", "sgd"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_and_optimizer_composes(model: str, optimizer: str) -> None:
    cfg = compose_cfg(f"model={model}", f"optimizer={optimizer}")
    assert cfg.model.name in REGISTRY
    assert cfg.optimizer.name == optimizer
    assert cfg.data.name == "lsst_sim"
    validate(cfg)


def test_defaults_match_the_documented_contract() -> None:
    cfg = compose_cfg()
    assert (cfg.model.name, cfg.optimizer.name, cfg.data.name) == ("sequential", "adamw", "lsst_sim")
    assert cfg.tracking.uri == "sqlite:///mlruns/mlflow.db"
    assert cfg.tracking.artifact_root == "mlruns/artifacts"
    assert cfg.tracking.experiment is None
    assert set(cfg.trainer) >= {"max_epochs", "batch_size", "patience", "precision", "device", "resume", "num_threads"}
    assert dict(cfg.trial) == {"study_name": None, "storage": None, "trial_id": None, "parent_run_id": None}


@pytest.mark.parametrize(
    "override",
    ["trainer.max_epoch=3", "trainer.batch_size=big", "optimizer.lrr=0.1", "tracking.experimnt=x", "seed=one"],
)
def test_typos_and_wrong_types_fail_at_composition(override: str) -> None:
    with pytest.raises(ConfigCompositionException):
        compose_cfg(override)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optimizer.lr=-0.001", "optimizer.lr"),
        ("optimizer.lr=0", "optimizer.lr"),
        ("trainer.max_epochs=0", "trainer.max_epochs"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.patience=-1", "trainer.patience"),
        ("trainer.precision=fp8", "trainer.precision"),
        ("optimizer.schedule=linear", "optimizer.schedule"),
        ("optimizer.min_lr_ratio=2", "optimizer.min_lr_ratio"),
        ("model.name=vgg16", "model.name"),
    ],
)
def test_out_of_range_values_name_the_key(override: str, key: str) -> None:
    cfg = compose_cfg(override)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)
