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


def read_net(folder: str | Path, where: str) -> PhotozNet:
    """The network whose weights + config (photoz.training.model_files) are in `folder`, its config
    as the schema registered for its name (keys added since it was saved: their defaults);
    ModelFileError naming `where` if they are not a photoz CNN's."""
    config, state = read_model_files(folder, where)
    try:
        name = config["model"]["name"]
        if name not in cnn_names():
            raise KeyError(name)
        model_cfg = as_schema(REGISTRY[name].schema, config["model"])
    except (KeyError, TypeError, OmegaConfBaseException) as err:
        raise ModelFileError(f"{where}: its model config is not a photoz CNN's ({first_line(err)}); retrain it") from None
    bands, stamp = list(config["bands"]), tuple(config["stamp"])
    backbone = build_model(model_cfg, len(bands), int(stamp[0]))
    net = PhotozNet(backbone, np.ones(len(bands), np.float32), model_cfg, bands, stamp)
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ModelFileError(f"{where}: the weights do not fit the config's network ({first_line(err)}); retrain it") from None
    return net
