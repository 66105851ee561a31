"""The catalogue inputs of a CNN with model.catalog_features: read from the data set, turned
into features and normalised on the train split, inside the network.

The network takes the raw columns (photoz.models.catalog.catalog_columns: flux_<b> in nJy, then
any listed column) just as it takes raw nJy pixels, so a logged model needs nothing but its two
inputs. CatalogNormalise turns fluxes into asinh magnitudes and adjacent colours (the same
photoz.data.features code the catalogue baselines use, softening b = the train split's
median flux_err per band) and standardises every feature with the train split's median and
robust spread (1.4826 MAD), as ArcsinhNormalise does for the pixels. Its numbers are buffers:
they travel in the weights, and only model.catalog_features has to be in the config.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.data.features import magnitude_colour_features, softening
from photoz.models.catalog import PHOTOMETRY, catalog_columns, n_catalog_features
from photoz.models.schema import HeadConfig


def catalog_array(model_cfg: HeadConfig, data: Dataset, index: np.ndarray) -> np.ndarray | None:
    """(len(index), K) float32 raw catalogue columns the network takes, or None without
    catalog_features; DataError (one line) for a column the data set lacks or a non-finite value."""
    columns = catalog_columns(model_cfg, data.bands)
    if not columns:
        return None
    missing = [c for c in columns if c not in data.catalog.colnames]
    if missing:
        raise DataError(
            f"{data.path}/catalog.fits has no column {', '.join(missing)} that model.catalog_features="
            f"{model_cfg.catalog_features} needs; add it to the catalogue or drop it from model.catalog_features"
        )
    text = [c for c in columns if data.catalog[c].dtype.kind not in "biuf" or data.catalog[c].ndim != 1]
    if text:
        raise DataError(
            f"{data.path}/catalog.fits: column {text[0]} ({data.catalog[text[0]].dtype}) is not a number per galaxy; "
            f"model.catalog_features takes numeric columns only: drop {text[0]} from model.catalog_features"
        )
    values = np.stack([np.asarray(data.catalog[c], dtype=np.float64)[index] for c in columns], 1)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{data.path}/catalog.fits: column {columns[col]} is not finite in row {index[row]}; fix or drop it")
    return values.astype(np.float32)


class CatalogNormalise(nn.Module):
    """Raw catalogue columns (B, K) → normalised features (B, F) for the dense head."""

    def __init__(self, n_photometry: int, n_features: int) -> None:
        super().__init__()
        self.n_photometry = n_photometry  # bands whose flux_<b> lead the raw columns (0: none)
        self.register_buffer("softening", torch.ones(n_photometry))
        self.register_buffer("centre", torch.zeros(n_features))
        self.register_buffer("spread", torch.ones(n_features))

    @classmethod
    def for_config(cls, model_cfg: HeadConfig, n_bands: int) -> CatalogNormalise | None:
        """An unfitted module of the right sizes (None without catalog_features); load weights into it."""
        n_features = n_catalog_features(model_cfg, n_bands)
        if n_features == 0:
            return None
        return cls(n_bands if PHOTOMETRY in model_cfg.catalog_features else 0, n_features)

    def features(self, raw: torch.Tensor) -> torch.Tensor:
        """Asinh magnitudes and colours of the flux columns, then the other columns unchanged."""
        n = self.n_photometry
        if n == 0:
            return raw
        photometry = magnitude_colour_features(raw[:, :n], self.softening, xp=torch)
        return torch.cat([photometry, raw[:, n:]], 1)

    def fit(self, raw: np.ndarray, flux_err: np.ndarray) -> CatalogNormalise:
        """Softening from the train split's flux errors, centre and spread from its features."""
        if self.n_photometry:
            self.softening.copy_(torch.as_tensor(softening(flux_err), dtype=torch.float32))
        feats = self.features(torch.as_tensor(raw, dtype=torch.float32)).double().numpy()
        centre = np.median(feats, axis=0)
        spread = 1.4826 * np.median(np.abs(feats - centre), axis=0)
        std = feats.std(axis=0)
        spread = np.where(spread > 0, spread, np.where(std > 0, std, 1.0))  # a constant column: 1
        self.centre.copy_(torch.as_tensor(centre, dtype=torch.float32))
        self.spread.copy_(torch.as_tensor(spread, dtype=torch.float32))
        return self

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return (self.features(raw.float()) - self.centre) / self.spread

