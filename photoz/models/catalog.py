"""`model.catalog_features`: which catalogue inputs a CNN's dense head takes beside the pixels.

    model.catalog_features=[]                    images only (the default)
    model.catalog_features=[photometry]          + asinh magnitudes and adjacent colours from flux_<b>
    model.catalog_features=[photometry,ebv]      + any other catalogue column, by name (e.g. E(B-V))

`photometry` gives 2C − 1 features for C bands (photoz.data.features: C asinh magnitudes,
C − 1 colours), every other entry one feature. Only the config says what the inputs are, so a
network is rebuilt from its config and weights alone (the normalisation is in its weights).
Torch-free: the heads size their first layer with n_catalog_features.
"""

from __future__ import annotations

from collections.abc import Sequence

from photoz.models.schema import HeadConfig

PHOTOMETRY = "photometry"


def catalog_columns(cfg: HeadConfig, bands: Sequence[str]) -> list[str]:
    """The raw catalogue columns the network takes, in order: flux_<b> per band for photometry,
    then the other listed columns."""
    listed = cfg.catalog_features
    fluxes = [f"flux_{b}" for b in bands] if PHOTOMETRY in listed else []
    return fluxes + [c for c in listed if c != PHOTOMETRY]


def n_catalog_features(cfg: HeadConfig, n_bands: int) -> int:
    """Features the dense head receives from the catalogue: 2C − 1 for photometry, 1 per column."""
    listed = cfg.catalog_features
    return (2 * n_bands - 1 if PHOTOMETRY in listed else 0) + sum(c != PHOTOMETRY for c in listed)
