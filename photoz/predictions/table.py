"""Predictions: per-galaxy redshift estimates (point, error, PDF on a redshift grid) of any estimator.

Below models and estimators: the CNN heads, every estimator, tracking, plots and photoz.predict
build and read them; the PDF arithmetic they use is photoz.predictions.pdf, the metrics photoz.predictions.metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from photoz.predictions.metrics import point_metrics
from photoz.predictions.pdf import check_point_estimate, pdf_quantiles, point_estimate, point_estimates


def z_grid(n_bins: int, z_max: float) -> np.ndarray:
    """Centres of `n_bins` equal redshift bins on [0, z_max] (centres, not lower edges: Pasquet's
    lower edges bias z_phot by half a bin)."""
    width = z_max / n_bins
    return (np.arange(n_bins) + 0.5) * width


@dataclass
class Predictions:
    """Per-galaxy redshift estimates for some rows of a data set."""

    ids: np.ndarray
    z_spec: np.ndarray
    z_phot: np.ndarray
    z_err: np.ndarray
    pdf: np.ndarray | None = None  # (N, n_bins) probabilities on z_grid
    z_grid: np.ndarray | None = None

    @classmethod
    def from_pdf(cls, ids: np.ndarray, z_spec: np.ndarray, pdf: np.ndarray, grid: np.ndarray, point: str = "zstar") -> Predictions:
        """z_phot = the `point` estimate of the PDF on bin centres (photoz.predictions.pdf: zstar,
        mean, median or mode); z_err = the PDF's standard deviation."""
        pdf = np.asarray(pdf, dtype=np.float64)
        pdf = pdf / pdf.sum(axis=1, keepdims=True)
        z_phot = point_estimate(pdf, grid, check_point_estimate(point))
        mean = pdf @ grid
        std = np.sqrt(np.maximum(pdf @ grid**2 - mean**2, 0.0))
        return cls(np.asarray(ids), np.asarray(z_spec, float), z_phot, std, pdf.astype(np.float32), grid)

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """Every registered point metric (photoz.predictions.metrics.METRICS) of z_phot; with
        prefix "<split>_", under the MLflow names logged_name(split, name) gives."""
        return {prefix + k: v for k, v in point_metrics(self.z_phot, self.z_spec).items()}

    def quantiles(self, qs: tuple[float, ...] = (0.16, 0.5, 0.84)) -> np.ndarray:
        """(N, len(qs)) PDF quantiles, linear within bins; z_phot ± z_err where there is no PDF."""
        if self.pdf is None or self.z_grid is None:
            from scipy.stats import norm  # scipy ships with scikit-learn

            return self.z_phot[:, None] + self.z_err[:, None] * norm.ppf(qs)[None, :]
        return pdf_quantiles(self.pdf.astype(np.float64), self.z_grid, qs)

    def to_table(self) -> Table:
        """The prediction table logged to MLflow; with a PDF it also carries every point estimate
        (z_zstar, z_mean, z_median, z_mode). photoz.predict streams its own columns (POINT_COLUMNS)."""
        q = self.quantiles()
        table = Table(
            {
                "id": self.ids,
                "z_spec": self.z_spec,
                "z_phot": self.z_phot,
                "z_err": self.z_err,
                "z_q16": q[:, 0],
                "z_q50": q[:, 1],
                "z_q84": q[:, 2],
            }
        )
        if self.pdf is not None and self.z_grid is not None:
            for name, values in point_estimates(self.pdf.astype(np.float64), self.z_grid).items():
                table[f"z_{name}"] = values
        return table
