"""Point estimates of a PDF (zstar, mean, median, mode) and the PDF-side checks, on PDFs with
known answers."""

from __future__ import annotations

import numpy as np
import pytest

from photoz.errors import ConfigError
from photoz.predictions import Predictions, z_grid
from photoz.pdf import check_point_estimate, pdf_metrics, point_estimates


def two_spikes(grid: np.ndarray, z_a: float, z_b: float, p_a: float) -> np.ndarray:
    pdf = np.zeros((1, len(grid)))
    pdf[0, np.argmin(abs(grid - z_a))], pdf[0, np.argmin(abs(grid - z_b))] = p_a, 1 - p_a
    return pdf


def test_estimates_of_a_two_spike_pdf_have_closed_forms() -> None:
    grid = z_grid(4, 2.0)  # centres 0.25, 0.75, 1.25, 1.75
    pdf = two_spikes(grid, 0.25, 1.75, 0.6)
    est = {k: float(v[0]) for k, v in point_estimates(pdf, grid).items()}
    # 1 + z* = 1 / E[1/(1+z)] = 1 / (0.6/1.25 + 0.4/2.75)
    assert est["zstar"] == pytest.approx(1 / (0.6 / 1.25 + 0.4 / 2.75) - 1, rel=1e-12)
    assert est["mean"] == pytest.approx(0.6 * 0.25 + 0.4 * 1.75)
    assert est["median"] == pytest.approx(0.5 * 0.5 / 0.6)  # the CDF rises linearly to 0.6 across bin 0 (0–0.5)
    assert est["mode"] == pytest.approx(0.25)
    assert est["zstar"] < est["mean"]  # harmonic mean of 1 + z below the arithmetic mean


def test_zstar_is_unbiased_for_calibrated_pdfs_and_the_mean_is_not() -> None:
    """Galaxies whose true z is drawn from their own (broad) PDF: z* has mean Δz ≈ 0, the PDF mean
    a positive bias of the size the PDFs predict, and the PIT is flat (small KS distance)."""
    rng = np.random.default_rng(1)
    grid = z_grid(180, 3.5)
    centre = rng.uniform(0.3, 2.5, 20000)
    pdf = np.exp(-0.5 * ((grid[None, :] - centre[:, None]) / 0.25) ** 2)
    pdf /= pdf.sum(1, keepdims=True)
    cdf = np.cumsum(pdf, axis=1)
    z_true = grid[np.minimum((cdf < rng.uniform(size=(len(pdf), 1))).sum(1), len(grid) - 1)]
    z_true = z_true + rng.uniform(-0.5, 0.5, len(z_true)) * (grid[1] - grid[0])  # uniform within the bin
    m = pdf_metrics(pdf, grid, z_true)
    assert abs(m["bias_of_zstar"]) < 3 * m["bias_err_of_zstar"]
    assert m["bias_of_mean"] > 5 * m["bias_err_of_mean"]
    assert m["pdf_bias_of_zstar"] == pytest.approx(0.0, abs=1e-12)
    assert m["bias_of_mean"] == pytest.approx(m["pdf_bias_of_mean"], abs=3 * m["bias_err_of_mean"])
    assert m["pit_ks"] < 0.02
    narrow = pdf_metrics(pdf**16 / (pdf**16).sum(1, keepdims=True), grid, z_true)  # over-confident PDFs
    assert narrow["pit_ks"] > 0.1


def test_from_pdf_uses_the_chosen_point_estimate_and_refuses_unknown_names() -> None:
    grid = z_grid(4, 2.0)
    pdf = two_spikes(grid, 0.25, 1.75, 0.6)
    for name in ("zstar", "mean", "median", "mode"):
        pred = Predictions.from_pdf(np.array([1]), np.array([0.5]), pdf, grid, name)
        assert pred.z_phot[0] == pytest.approx(point_estimates(pdf, grid)[name][0])
        assert pred.to_table()[f"z_{name}"][0] == pytest.approx(pred.z_phot[0])
    assert check_point_estimate("mode") == "mode"
    with pytest.raises(ConfigError, match="choose one of zstar, mean, median, mode"):
        Predictions.from_pdf(np.array([1]), np.array([0.5]), pdf, grid, "average")
