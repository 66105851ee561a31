"""What a CNN's inputs must be: square stamps, and a network and catalogue columns that fit the data set."""

from __future__ import annotations

import numpy as np

from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.models.build import build_model
from photoz.models.schema import HeadConfig
from photoz.training.catalog_inputs import catalog_array


def square_stamp(data: Dataset) -> int:
    """The stamps' side in pixels; DataError if they are not square."""
    stamp = data.images.shape[2:]
    if stamp[0] != stamp[1]:
        raise DataError(f"{data.path}: stamps are {stamp[0]}x{stamp[1]}; the CNNs need square stamps")
    return int(stamp[0])


def check_inputs(model_cfg: HeadConfig, data: Dataset) -> None:
    """ConfigError/DataError (one line) unless `model_cfg` builds for `data`'s bands and stamps
    and the catalogue has the columns of model.catalog_features."""
    build_model(model_cfg, len(data.bands), square_stamp(data))
    catalog_array(model_cfg, data, np.arange(len(data)))
