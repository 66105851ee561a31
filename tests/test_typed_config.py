"""The composed config as schema dataclasses (photoz.config.to_typed), and a slice as a plain dict
and back (plain / as_schema): what a logged CNN saves beside its weights and is rebuilt from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from photoz.config import PhotozConfig, TrackingConfig, TrainerConfig, TrialConfig, as_schema, compose, plain, to_typed
from photoz.data.schema import DirectoryData, LsstSimData
from photoz.errors import ConfigError
from photoz.estimators.cnn import CNNEstimator
from photoz.models.build import build_model
from photoz.models.schema import CNNConfig, GoogLeNetConfig
from photoz.registry import REGISTRY
from photoz.training.model_files import ModelFileError, write_model_files


def test_every_group_becomes_its_schema() -> None:
    cfg = to_typed(compose("model=googlenet", "optimizer=sgd", "trainer.max_epochs=3"))
    assert isinstance(cfg, PhotozConfig) and isinstance(cfg.model, GoogLeNetConfig)
    assert (type(cfg.optimizer).__name__, cfg.trainer.max_epochs) == ("SGDConfig", 3)
    assert isinstance(cfg.trainer, TrainerConfig) and isinstance(cfg.tracking, TrackingConfig) and isinstance(cfg.trial, TrialConfig)
    assert isinstance(cfg.data, LsstSimData) and cfg.data.depth == "y10"  # the data group is typed too
    data = to_typed(compose("data=directory")).data  # data.path unset: photoz.data names it when opening
    assert isinstance(data, DirectoryData) and OmegaConf.is_missing(OmegaConf.structured(data), "path")


def test_to_typed_validates() -> None:
    with pytest.raises(ConfigError, match="optimizer.lr=-0.1 is invalid"):
        to_typed(compose("optimizer.lr=-0.1"))


@pytest.mark.parametrize("model", ["sequential", "googlenet", "googlenet_pasquet", "resnet", "efficientnet", "timm",
                                   "template_fit", "random_forest", "knn", "rail_bpz", "rail_knn"])
def test_a_model_config_survives_json_as_a_plain_dict(model: str) -> None:
    typed = to_typed(compose(f"model={model}")).model
    saved = json.loads(json.dumps(plain(typed)))
    assert saved == OmegaConf.to_container(compose(f"model={model}").model, resolve=True)
    assert as_schema(type(typed), saved) == typed


def test_a_cnn_saved_before_newer_keys_loads_with_their_defaults(tmp_path: Path) -> None:
    model = CNNConfig(name="sequential", depth=2, width=4, dense=[8], n_bins=10)
    old = {k: v for k, v in plain(model).items() if k not in ("point_estimate", "catalog_features")}
    state = {f"backbone.{k}": v for k, v in build_model(model, 3, 16).state_dict().items()}  # a PhotozNet's weights
    state["normalise.scale"] = torch.ones(1, 3, 1, 1)
    write_model_files(tmp_path, state, {"model": old, "bands": ["g", "r", "i"], "stamp": [16, 16]})
    loaded = CNNEstimator.from_folder(tmp_path, "an old model")
    assert loaded.model_cfg == model and isinstance(loaded.model_cfg, REGISTRY["sequential"].schema)
    assert loaded.net(torch.zeros(2, 3, 16, 16)).shape == (2, 10)


def test_a_model_config_that_fits_no_schema_is_one_model_file_error(tmp_path: Path) -> None:
    write_model_files(tmp_path, {}, {"model": {"name": "sequential", "depht": 3}, "bands": ["g"], "stamp": [16, 16]})
    with pytest.raises(ModelFileError, match="its model config is not a photoz CNN's"):
        CNNEstimator.from_folder(tmp_path, "a tampered model")


@pytest.mark.parametrize("edit, fragment", [
    ({"stamp": "abc"}, "stamp abc is not [H, W]"), ({"bands": 5}, "bands 5 are not a list"),
    ({"stamp": [10**9, 10**9]}, "is not [H, W]"), ({"model": {"width": 10**9}}, "a size 1000000000, more than"),
    ({"model": {"n_bins": 10**9}}, "a size 1000000000"), ({"model": {"depth": 10**6}}, "a size 1000000, more than"),
    ({"model": {"width": 5}}, "the weights do not fit"),  # in bounds but not the file's network: no allocation either
])  # fmt: skip
def test_a_tampered_model_json_is_one_line_before_anything_is_allocated(tmp_path: Path, edit: dict, fragment: str) -> None:
    model = CNNConfig(name="sequential", depth=2, width=4, dense=[8], n_bins=10)
    state = {f"backbone.{k}": v for k, v in build_model(model, 3, 16).state_dict().items()}
    state["normalise.scale"] = torch.ones(1, 3, 1, 1)
    config = {"model": plain(model), "bands": ["g", "r", "i"], "stamp": [16, 16]}
    config = {**config, **edit, "model": {**config["model"], **edit.get("model", {})}}
    write_model_files(tmp_path, state, config)
    with pytest.raises(ModelFileError, match=f"a tampered model: .*{fragment.replace('[', '.').replace(']', '.')}"):
        CNNEstimator.from_folder(tmp_path, "a tampered model")
