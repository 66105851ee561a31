"""The Hydra config tree: every model x optimizer composes; typos, wrong types and out-of-range
values fail with a clear message."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from photoz.config import CONF_DIR, validate
from photoz.config import compose as compose_cfg
from photoz.errors import ConfigError
from photoz.registry import REGISTRY

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
    ["trainer.max_epoch=3", "trainer.batch_size=big", "optimizer.lrr=0.1", "tracking.experimnt=x", "seed=one",
     "trainer.precision=fp8", "optimizer.schedule=linear", "optimizer.name=adam", "model.head=gaussian",
     "model.activation=gelu", "model.point_estimate=average", "data.depth=y20", "data.sed_model=bc03",
     "model=resnet model.block=wide", "model=knn model.weights=gaussian", "model=template_fit model.prior=flat",
     "data=catalog data.catalog_path=x data.depth=y20"],
)
def test_typos_wrong_types_and_bad_choices_fail_at_composition(override: str) -> None:
    with pytest.raises(ConfigCompositionException):
        compose_cfg(*override.split())


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optimizer.lr=-0.001", "optimizer.lr"),
        ("optimizer.lr=0", "optimizer.lr"),
        ("trainer.max_epochs=0", "trainer.max_epochs"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.patience=-1", "trainer.patience"),
        ("trainer.patience=3 trainer.keep=last", "trainer.patience"),  # would keep an epoch worse than the best
        ("optimizer.min_lr_ratio=2", "optimizer.min_lr_ratio"),
        ("model.name=vgg16", "model.name"),
    ],
)
def test_out_of_range_values_name_the_key(override: str, key: str) -> None:
    cfg = compose_cfg(*override.split())
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+trainer.max_epoch=3"], "unknown config key trainer.max_epoch: trainer has no 'max_epoch'; did you mean trainer.max_epochs?"),
        (["+tracking.urii=x"], "unknown config key tracking.urii"),
        (["+trial.study=x"], "unknown config key trial.study"),
        (["+seeed=1"], "unknown config key seeed: the config has no 'seeed'; did you mean seed?"),
        (["+data.n_galaxie=3"], "unknown config key data.n_galaxie"),
        (["data=directory", "data.path=x", "+data.overwite=true"], "unknown config key data.overwite"),
        (["data=catalog", "data.catalog_path=x", "+data.mag_col=m"], "unknown config key data.mag_col"),
        (["+model.dpth=2"], "did you mean model.depth?"),
        (["model=googlenet", "+model.stem=3"], "unknown config key model.stem"),
        (["model=template_fit", "+model.priorband=x"], "unknown config key model.priorband"),
        (["model=random_forest", "+model.n_trees=3"], "unknown config key model.n_trees"),
        (["model=knn", "+model.n_neighbours=3"], "did you mean model.n_neighbors?"),
        (["+optimizer.betas2=1"], "unknown config key optimizer.betas2"),
        (["optimizer=sgd", "+optimizer.momentun=1"], "did you mean optimizer.momentum?"),
    ],
)
def test_keys_forced_in_with_plus_are_refused_for_every_schema(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace(".", r"\.")) as err:
        validate(compose_cfg(*overrides))
    assert "\n" not in str(err.value)


def test_plus_key_through_the_entry_points_is_one_line_and_exit_2(tmp_path) -> None:
    import subprocess
    import sys

    for module, override in (("photoz.train", "+trainer.max_epoch=3"), ("photoz.ingest", "+output_dir=x")):
        cmd = [sys.executable, "-m", module, override, f"hydra.run.dir={tmp_path / module}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("photoz: error: unknown config key"), proc.stderr
    assert not (tmp_path / "data").exists()  # refused before simulating anything
