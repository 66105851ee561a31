"""Photo-z quality metrics, one small function each (definitions: Pasquet et al. 2019; LSST DESC RAIL).

All take arrays of photometric and spectroscopic (true) redshifts; Δz = (z_phot − z_spec)/(1 + z_spec).
The same code scores validation, test, baselines and the comparison table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ETA_THRESHOLD = 0.05  # Pasquet et al. 2019: |Δz| > 0.05 is an outlier
RAIL_OUTLIER_FLOOR = 0.06  # RAIL: outlier if |Δz| > max(0.06, 3 σ_IQR)
MIN_PER_BIN = 5  # fewer galaxies than this in a z_spec bin: no value for that bin


def delta_z(z_phot: np.ndarray, z_spec: np.ndarray) -> np.ndarray:
    """Normalised residual Δz = (z_phot − z_spec) / (1 + z_spec)."""
    z_spec = np.asarray(z_spec, dtype=float)
    return (np.asarray(z_phot, dtype=float) - z_spec) / (1.0 + z_spec)


def sigma_mad(dz: np.ndarray) -> float:
    """σ_MAD = 1.4826 × median(|Δz − median(Δz)|)."""
    dz = np.asarray(dz, dtype=float)
    return float(1.4826 * np.median(np.abs(dz - np.median(dz))))


def bias(dz: np.ndarray) -> float:
    """Mean Δz (Pasquet, Dey, Hayat)."""
    return float(np.mean(dz))


def bias_median(dz: np.ndarray) -> float:
    """Median Δz (RAIL's bias)."""
    return float(np.median(dz))


def eta(dz: np.ndarray, threshold: float = ETA_THRESHOLD) -> float:
    """Outlier fraction: share of galaxies with |Δz| > threshold (two-sided)."""
    return float(np.mean(np.abs(dz) > threshold))


def sigma_iqr(dz: np.ndarray) -> float:
    """σ_IQR = IQR(Δz) / 1.349 (RAIL)."""
    q25, q75 = np.percentile(dz, [25, 75])
    return float((q75 - q25) / 1.349)


def outlier_rate(dz: np.ndarray) -> float:
    """RAIL outlier rate: share with |Δz| > max(0.06, 3 σ_IQR)."""
    return float(np.mean(np.abs(dz) > max(RAIL_OUTLIER_FLOOR, 3.0 * sigma_iqr(dz))))


def bias_error(dz: np.ndarray) -> float:
    """Standard error of the mean Δz, to judge whether a bias is consistent with zero."""
    dz = np.asarray(dz, dtype=float)
    return float(np.std(dz, ddof=1) / np.sqrt(len(dz))) if len(dz) > 1 else float("nan")


def per_z_bin(statistic: Callable[[np.ndarray], float], dz: np.ndarray, z_spec: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`statistic` (σ_MAD, η, median, ...) of Δz in each z_spec bin [edges[i], edges[i + 1]);
    NaN where a bin holds fewer than MIN_PER_BIN galaxies."""
    which = np.digitize(np.asarray(z_spec, dtype=float), edges) - 1
    out = np.full(len(edges) - 1, np.nan)
    for i in range(len(out)):
        sel = dz[which == i]
        if len(sel) >= MIN_PER_BIN:
            out[i] = statistic(sel)
    return out


def point_metrics(z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """Every point-estimate metric by name, as logged to MLflow (prefixed val_/test_ there)."""
    dz = delta_z(z_phot, z_spec)
    return {
        "sigma_mad": sigma_mad(dz),
        "bias": bias(dz),
        "bias_err": bias_error(dz),
        "eta": eta(dz),
        "bias_median": bias_median(dz),
        "sigma_iqr": sigma_iqr(dz),
        "outlier_rate": outlier_rate(dz),
    }
