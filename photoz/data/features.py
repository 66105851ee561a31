"""Catalogue features for the photometry baselines and the CNNs' model.catalog_features: asinh
magnitudes and adjacent-band colours.

Why asinh ("luptitude", Lupton, Gunn & Szalay 1999) magnitudes: they equal AB magnitudes for
bright sources but stay finite and smooth through zero and negative fluxes, so non-detections
need no special case and carry their (noisy) information instead of a sentinel value. The
softening b of each band is fixed once from the training set (median flux error, i.e. the 1σ
limit), stored with the model and reused at prediction time so features do not drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from photoz.data.format import NJY_ZP

_POGSON = 2.5 / np.log(10.0)


def softening(flux_err: np.ndarray) -> np.ndarray:
    """Per-band softening b (nJy): the median 1σ flux error, floored to stay positive."""
    b = np.median(np.asarray(flux_err, float), axis=0)
    return np.maximum(b, 1e-6)


def asinh_magnitudes(flux: np.ndarray, b: np.ndarray, xp: Any = np) -> np.ndarray:
    """Asinh magnitudes of (n, C) fluxes in nJy with per-band softening b: ≈ m_AB when f ≫ b.
    `xp` is the array module: numpy, or torch for tensors (the CNNs' model.catalog_features)."""
    flux = np.asarray(flux, float) if xp is np else flux
    return NJY_ZP - _POGSON * (xp.arcsinh(flux / (2.0 * b)) + xp.log(b))


def ab_magnitudes(flux: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """Plain AB magnitudes, fluxes floored at `floor` nJy so non-detections map to faint values."""
    return NJY_ZP - 2.5 * np.log10(np.maximum(np.asarray(flux, float), floor))


def magnitude_colour_features(flux: np.ndarray, b: np.ndarray, xp: Any = np) -> np.ndarray:
    """(n, 2C − 1) features: C asinh magnitudes then C − 1 adjacent colours (m_j − m_{j+1})."""
    mags = asinh_magnitudes(flux, b, xp)
    return xp.hstack([mags, mags[:, :-1] - mags[:, 1:]])


def feature_names(bands: list[str]) -> list[str]:
    """Column names matching magnitude_colour_features, for model signatures and docs."""
    return [f"mag_{b}" for b in bands] + [f"{a}-{b}" for a, b in zip(bands[:-1], bands[1:])]
