"""Photo-z quality metrics, one small function each (definitions: Pasquet et al. 2019; LSST DESC RAIL),
and METRICS, the one registry of the point metrics.

Each metric is a function of Δz = (z_phot − z_spec)/(1 + z_spec). A METRICS entry names it, and
says how the comparison table prints it (format, header, LaTeX header, whether it is a column) and
which way is better: every run logs every entry as `<split>_<name>` (`logged_name`: val_, test_,
best_val_; photoz.tracking.record), and photoz.comparison.table makes a column of each `table`
entry from its `test_<name>` metric. A new metric is one function and one entry here.
The same code scores validation, test, baselines and the comparison table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Metric:
    """A point metric: its name, its function of Δz, and how the comparison table shows it."""

    name: str  # the key in point_metrics; MLflow metrics <split>_<name>
    function: Callable[[np.ndarray], float]  # Δz -> the value
    format: str  # the table's cell, e.g. "{:.4f}"
    header: str  # the table's column header (markdown); the CSV column is `name`
    direction: str  # what is better: "lower", or "zero" (closest to 0)
    table: bool = True  # a column of the comparison table
    latex: str | None = None  # the LaTeX table's header, where it differs from `header`

    @property
    def percent(self) -> bool:
        """A fraction shown in percent (η, the outlier rate): its format is a percentage."""
        return self.format.endswith("%}")


METRICS: tuple[Metric, ...] = (
    Metric("sigma_mad", sigma_mad, "{:.4f}", "σ_MAD", "lower", latex=r"$\sigma_\mathrm{MAD}$"),
    Metric("bias", bias, "{:+.4f}", "bias", "zero"),
    Metric("bias_err", bias_error, "{:.4f}", "bias error", "lower", table=False),
    Metric("eta", eta, "{:.2%}", "η", "lower", latex=r"$\eta$"),
    Metric("bias_median", bias_median, "{:+.4f}", "median Δz", "zero", table=False),
    Metric("sigma_iqr", sigma_iqr, "{:.4f}", "σ_IQR", "lower", latex=r"$\sigma_\mathrm{IQR}$"),  # RAIL's width
    Metric("outlier_rate", outlier_rate, "{:.2%}", "outliers", "lower"),  # and RAIL's outlier rate
)


def logged_name(split: str, name: str) -> str:
    """The MLflow metric of `name` on `split` (val, test, best_val): test_sigma_mad."""
    return f"{split}_{name}"


PERCENT_SUFFIX = "_pct"  # the percent copy of a fraction: test_eta 0.244 -> test_eta_pct 24.4


def percent_copies(metrics: dict[str, float]) -> dict[str, float]:
    """For each logged fraction metric (`test_eta`, `test_outlier_rate`: names ending in a percent
    metric's name) its copy in percent, rounded to 0.01 %, as README and summaries print it
    (`test_eta_pct`). The fraction stays under its own name: photoz.compare and users read it."""
    names = [m.name for m in METRICS if m.percent]
    return {
        key + PERCENT_SUFFIX: round(100.0 * value, 2)
        for key, value in metrics.items()
        if any(key == n or key.endswith("_" + n) for n in names)
    }


def point_metrics(z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """Every point-estimate metric of METRICS by name, as logged to MLflow (prefixed val_/test_ there)."""
    dz = delta_z(z_phot, z_spec)
    return {m.name: m.function(dz) for m in METRICS}
