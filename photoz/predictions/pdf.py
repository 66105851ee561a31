"""Point estimates from a redshift PDF, and the PDF-side checks logged beside them.

A PDF p(z|x) on bin centres z_k gives four point estimates (`model.point_estimate`):

- zstar: z* = E[z/(1+z)] / E[1/(1+z)], i.e. 1 + z* = 1 / E[1/(1+z)] (the posterior harmonic mean
  of 1 + z). It is the value that makes the expected Δz = (z_p − z)/(1 + z) under the PDF zero, so
  a calibrated PDF gives an unbiased mean Δz. The default.
- mean: E[z] (Pasquet et al. 2019). Always ≥ z*, so even a calibrated PDF's mean has
  mean Δz ≥ 0, by about E[Var(z|x)/(1+z)²].
- median: the 50 % point of the CDF (linear within bins).
- mode: the centre of the most probable bin.

`pdf_bias` is the mean Δz the PDFs themselves predict for a point estimate (zero for z* by
construction); compared with the measured bias it checks calibration. `pit_ks` is the
Kolmogorov–Smirnov distance of the PIT values from a uniform distribution (0 = calibrated).
"""

from __future__ import annotations

import numpy as np

from photoz.choices import PointEstimate
from photoz.errors import ConfigError
from photoz.predictions.metrics import bias, bias_error, delta_z

POINT_ESTIMATES = tuple(PointEstimate.__members__)  # zstar, mean, median, mode


def check_point_estimate(name: str) -> str:
    """`name` if it is a known point estimate, else a one-line ConfigError."""
    if name not in POINT_ESTIMATES:
        raise ConfigError(f"model.point_estimate={name!r} is unknown; choose one of {', '.join(POINT_ESTIMATES)}")
    return name


def cdf_edges(pdf: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, n_bins + 1) CDF at the bin edges and the (n_bins + 1) edges, for bins centred on `grid`."""
    width = grid[1] - grid[0]
    edges = np.concatenate([[grid[0] - width / 2], grid + width / 2])
    cdf = np.concatenate([np.zeros((len(pdf), 1)), np.cumsum(pdf, axis=1)], axis=1)
    return cdf, edges


def pit(pdf: np.ndarray, z_grid: np.ndarray, z_spec: np.ndarray) -> np.ndarray:
    """Probability integral transform: each PDF's CDF at its true z (linear within bins).

    `pdf` is (N, n_bins) probabilities on bins centred at `z_grid` (uniform spacing), normalised
    here. A calibrated estimator gives a flat PIT histogram.
    """
    pdf = np.asarray(pdf, dtype=float)
    cdf, edges = cdf_edges(pdf / pdf.sum(axis=1, keepdims=True), z_grid)
    width = z_grid[1] - z_grid[0]
    pos = np.clip((np.asarray(z_spec, float) - edges[0]) / width, 0, len(z_grid))
    lo = np.minimum(pos.astype(int), len(z_grid) - 1)
    frac = pos - lo
    rows = np.arange(len(pdf))
    return np.clip(cdf[rows, lo] + frac * (cdf[rows, lo + 1] - cdf[rows, lo]), 0.0, 1.0)


def pdf_quantiles(pdf: np.ndarray, grid: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """(N, len(qs)) quantiles of each normalised PDF, linear within bins: per row what
    np.interp(qs, cdf, edges) gives (the same arithmetic, so the same bits), for all rows at once."""
    cdf, edges = cdf_edges(pdf, grid)
    rows, last = np.arange(len(cdf)), len(edges) - 1
    out = np.empty((len(cdf), len(qs)))
    for k, q in enumerate(qs):
        j = np.count_nonzero(cdf <= q, axis=1) - 1  # cdf[j] <= q < cdf[j + 1]: np.interp's bin
        jc = np.clip(j, 0, last - 1)
        lo, hi = cdf[rows, jc], cdf[rows, jc + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = (edges[jc + 1] - edges[jc]) / (hi - lo) * (q - lo) + edges[jc]
        exact = (j >= 0) & (lo == q)  # np.interp returns the edge itself there
        out[:, k] = np.where(j < 0, edges[0], np.where(j >= last, edges[-1], np.where(exact, edges[jc], inside)))
    return out


def point_estimate(pdf: np.ndarray, grid: np.ndarray, name: str) -> np.ndarray:
    """(N,) point estimate `name` (zstar, mean, median or mode) of (N, n_bins) normalised probabilities on `grid`."""
    if name == "zstar":
        return 1.0 / (pdf @ (1.0 / (1.0 + grid))) - 1.0
    if name == "mean":
        return pdf @ grid
    if name == "median":
        return pdf_quantiles(pdf, grid, (0.5,))[:, 0]
    return grid[np.argmax(pdf, axis=1)]


def point_estimates(pdf: np.ndarray, grid: np.ndarray) -> dict[str, np.ndarray]:
    """{zstar, mean, median, mode}: (N,) each, from (N, n_bins) normalised probabilities on `grid`."""
    return {name: point_estimate(pdf, grid, name) for name in POINT_ESTIMATES}


def pdf_bias(pdf: np.ndarray, grid: np.ndarray, z_point: np.ndarray) -> float:
    """Mean over galaxies of E_pdf[(z_point − z)/(1 + z)]: the bias the PDFs predict for z_point."""
    per_galaxy = z_point * (pdf @ (1.0 / (1.0 + grid))) - pdf @ (grid / (1.0 + grid))
    return float(np.mean(per_galaxy))


def pit_ks(pdf: np.ndarray, grid: np.ndarray, z_spec: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance between the PIT values and U(0, 1)."""
    from scipy.stats import kstest  # scipy ships with scikit-learn

    return float(kstest(pit(pdf, grid, z_spec), "uniform").statistic)


def pdf_metrics(pdf: np.ndarray, grid: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """Per point estimate p: bias_of_p (measured mean Δz), bias_err_of_p, pdf_bias_of_p (what the
    PDFs predict); and pit_ks."""
    out: dict[str, float] = {}
    for name, z_point in point_estimates(pdf, grid).items():
        dz = delta_z(z_point, z_spec)
        out[f"bias_of_{name}"] = bias(dz)  # "_of_": bias_median is already RAIL's median Δz
        out[f"bias_err_of_{name}"] = bias_error(dz)
        out[f"pdf_bias_of_{name}"] = pdf_bias(pdf, grid, z_point)
    out["pit_ks"] = pit_ks(pdf, grid, z_spec)
    return out
