"""PhotozNet: the network a CNN estimator trains, checkpoints and logs to MLflow.

It is the per-band pixel normalisation (fitted on the train split, photoz.training.normalise)
followed by the backbone from photoz.models, and with model.catalog_features the normalisation of
the catalogue columns (photoz.training.catalog_inputs) into the head. A logged model therefore
takes raw nJy cutouts (and the raw catalogue columns) and returns the head's logits;
photoz.estimators.cnn builds, fits and loads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from photoz.config import as_schema
from photoz.errors import first_line
from photoz.models.build import build_model
from photoz.models.catalog import catalog_columns
from photoz.models.schema import HeadConfig
from photoz.registry import REGISTRY, cnn_names
from photoz.training.catalog_inputs import CatalogNormalise
from photoz.training.model_files import ModelFileError, read_model_files
from photoz.training.normalise import ArcsinhNormalise


class PhotozNet(nn.Module):
    """Normalisation + backbone: raw (B, C, H, W) fluxes in nJy (and the raw (B, K) catalogue
    columns of model.catalog_features) -> the head's logits, (B, n_bins) on z_grid(n_bins, z_max)
    for head=pdf or (B, 1) for head=regression (photoz.models.heads). The catalogue normalisation
    is built unfitted from the config (its numbers are buffers: fitted by build_net or loaded)."""

    def __init__(self, backbone: nn.Module, scale: np.ndarray, model_cfg: HeadConfig, bands: list[str], stamp: tuple[int, int]) -> None:
        super().__init__()
        self.normalise = ArcsinhNormalise(scale)
        self.backbone = backbone
        self.model_cfg = model_cfg  # saved as a JSON dict beside the weights: what load() rebuilds from
        self.bands = list(bands)
        self.stamp = tuple(stamp)
        self.catalog = CatalogNormalise.for_config(self.model_cfg, len(self.bands))

    def forward(self, images: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        if self.catalog is None:
            return self.backbone(self.normalise(images))
        if catalog is None:
            raise ValueError(f"this network also takes the catalogue columns {catalog_columns(self.model_cfg, self.bands)}")
        return self.backbone(self.normalise(images), self.catalog(catalog))

    def example_inputs(self, n: int) -> dict[str, np.ndarray]:
        """Zero inputs for n galaxies by name (images, and catalog with catalog_features)."""
        inputs = {"images": np.zeros((n, len(self.bands), *self.stamp), dtype=np.float32)}
        if self.catalog is not None:
            inputs["catalog"] = np.zeros((n, len(catalog_columns(self.model_cfg, self.bands))), dtype=np.float32)
        return inputs


MAX_STAMP = 4096  # pixels a side a logged model's stamp may have


def _sizes(value: object) -> list[int]:
    """Every integer in a (nested) config value: the sizes a network is built from."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _sizes(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _sizes(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _checked_shape(config: dict, state: dict[str, torch.Tensor], where: str) -> tuple[list[str], tuple[int, int]]:
    """(bands, stamp) of a model's JSON config, once they and every size in its model config are
    in bounds: no size above the number of weight values in the file (every size makes at least
    that many), so nothing absurd is allocated; ModelFileError otherwise."""
    bands, stamp, n_values = config["bands"], config["stamp"], sum(t.numel() for t in state.values())
    if not (isinstance(bands, list) and 0 < len(bands) <= n_values and all(isinstance(b, str) and b for b in bands)):
        raise ModelFileError(f"{where}: its config's bands {str(bands)[:80]} are not a list of band names; retrain it")
    if not (isinstance(stamp, list) and len(stamp) == 2 and all(isinstance(s, int) and 0 < s <= MAX_STAMP for s in stamp)):
        raise ModelFileError(f"{where}: its config's stamp {str(stamp)[:80]} is not [H, W] pixels (<= {MAX_STAMP}); retrain it")
    too_big = [n for n in _sizes(config["model"]) if n > n_values]
    if too_big:
        raise ModelFileError(f"{where}: its model config has a size {too_big[0]}, more than the {n_values} weight values "
                             "in the file (a tampered config); retrain it")
    return list(bands), (stamp[0], stamp[1])


def read_net(folder: str | Path, where: str) -> PhotozNet:
    """The network whose weights + config (photoz.training.model_files) are in `folder`, its config
    as the schema registered for its name (keys added since it was saved: their defaults);
    ModelFileError naming `where` if they are not a photoz CNN's. The network is first built on
    the meta device (no memory) and its tensor shapes compared with the file's."""
    config, state = read_model_files(folder, where)
    try:
        name = config["model"]["name"]
        if name not in cnn_names():
            raise KeyError(name)
        model_cfg = as_schema(REGISTRY[name].schema, config["model"])
    except (KeyError, TypeError, OmegaConfBaseException) as err:
        raise ModelFileError(f"{where}: its model config is not a photoz CNN's ({first_line(err)}); retrain it") from None
    bands, stamp = _checked_shape(config, state, where)
    try:
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in _build(model_cfg, bands, stamp).state_dict().items()}
    except (ValueError, RuntimeError, TypeError) as err:  # sizes the network cannot be built with
        raise ModelFileError(f"{where}: its model config builds no network ({first_line(err)}); retrain it") from None
    if shapes != {k: tuple(v.shape) for k, v in state.items()}:
        raise ModelFileError(f"{where}: the weights do not fit the config's network (tensor names or shapes differ); retrain it")
    net = _build(model_cfg, bands, stamp)
    net.load_state_dict(state)
    return net


def _build(model_cfg: HeadConfig, bands: list[str], stamp: tuple[int, int]) -> PhotozNet:
    return PhotozNet(build_model(model_cfg, len(bands), int(stamp[0])), np.ones(len(bands), np.float32), model_cfg, bands, stamp)
