"""PIT recalibration (photoz.predictions.calibration) and moving PDFs between grids (pdf.regrid):
a calibrated PDF is left as it was, a shifted one is fixed, probability is moved, not lost."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from photoz.errors import DataError, PhotozError
from photoz.predictions.calibration import PitCalibration
from photoz.predictions.metrics import bias, delta_z
from photoz.predictions.pdf import cdf_edges, pit_ks, point_estimates, regrid
from photoz.predictions.table import z_grid

GRID = z_grid(180, 3.5)


def _galaxies(n: int, shift: float, seed: int, widths: tuple[float, float] = (0.03, 0.12)) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian PDFs (centres 0.3-2.5, widths uniform in `widths`) on GRID and true z drawn from the
    PDFs moved by -shift: shift = 0 gives calibrated PDFs, shift > 0 PDFs that sit too high by `shift`."""
    rng = np.random.default_rng(seed)
    mu, sigma = rng.uniform(0.3, 2.5, n), rng.uniform(*widths, n)
    pdf = norm.pdf(GRID[None, :], mu[:, None], sigma[:, None])
    return pdf / pdf.sum(axis=1, keepdims=True), rng.normal(mu - shift, sigma)


def _zstar_bias(pdf: np.ndarray, z: np.ndarray) -> float:
    return bias(delta_z(point_estimates(pdf, GRID)["zstar"], z))


def test_recalibration_leaves_calibrated_pdfs_as_they_were() -> None:
    """Fitted on 4,000 galaxies with calibrated PDFs, applied to 4,000 others: every CDF moves by
    less than the PIT histogram's noise allows (a few %), and PIT KS and bias stay where they were."""
    fit_pdf, fit_z = _galaxies(4000, 0.0, seed=1)
    pdf, z = _galaxies(4000, 0.0, seed=2)
    cal = PitCalibration.fit(fit_pdf, GRID, fit_z, n_bins=20)
    after = cal.apply(pdf, GRID)
    assert np.max(np.abs(cdf_edges(after, GRID)[0] - cdf_edges(pdf, GRID)[0])) < 0.03
    assert pit_ks(after, GRID, z) < 0.03 and pit_ks(pdf, GRID, z) < 0.03
    assert abs(_zstar_bias(after, z) - _zstar_bias(pdf, z)) < 0.002
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("widths", [(0.06, 0.06), (0.03, 0.12)], ids=["one width", "widths 0.03-0.12"])
def test_recalibration_fixes_pdfs_that_are_all_shifted(widths) -> None:
    """PDFs 0.05 too high: PIT values pile up low (KS ≈ 0.3) and z* is biased by ≈ +0.02. The
    fitting galaxies' PIT CDF moves every CDF back: on other galaxies PIT KS drops to the
    calibrated level (≈ 0.011 for these 4,000) and the bias by > 80 %; where every PDF has one width
    the shift is one PIT shift and the bias goes with it (widths 0.03-0.12 leave −0.004: the map is
    global, so narrow PDFs are moved too little and wide ones too much)."""
    fit_pdf, fit_z = _galaxies(4000, 0.05, seed=3, widths=widths)
    pdf, z = _galaxies(4000, 0.05, seed=4, widths=widths)
    assert pit_ks(pdf, GRID, z) > 0.2 and _zstar_bias(pdf, z) > 0.02
    after = PitCalibration.fit(fit_pdf, GRID, fit_z, n_bins=20).apply(pdf, GRID)
    assert pit_ks(after, GRID, z) < 0.02
    assert abs(_zstar_bias(after, z)) < (0.0015 if widths[0] == widths[1] else 0.0045)


def test_a_calibration_is_stored_as_json_and_a_damaged_one_is_refused() -> None:
    pdf, z = _galaxies(500, 0.02, seed=5)
    cal = PitCalibration.fit(pdf, GRID, z, n_bins=10)
    assert PitCalibration.from_dict(cal.to_dict(), "here") == cal and len(cal.knots) == 11
    for bad in ({"method": "pit", "knots": [0.0, 0.7, 0.5, 1.0]}, {"method": "pit", "knots": [0.1, 1.0]},
                {"method": "pit", "knots": [0.0, 0.5, 0.5, 1.0]}, {"method": "isotonic", "knots": [0.0, 1.0]},
                {"method": "pit", "knots": "x"}, {}):  # fmt: skip
        with pytest.raises(PhotozError, match="here: its calibration is not a PIT map"):
            PitCalibration.from_dict(bad, "here")


def test_regrid_moves_probability_between_grids() -> None:
    pdf, _ = _galaxies(50, 0.0, seed=6)
    assert regrid(pdf, GRID, GRID) is not pdf and np.allclose(regrid(pdf, GRID, GRID), pdf)
    fine = z_grid(360, 3.5)
    moved = regrid(pdf, GRID, fine)
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)
    np.testing.assert_allclose(moved @ fine, pdf @ GRID, atol=2e-4)  # the mean stays (to the bins' linear CDF)
    np.testing.assert_allclose(regrid(moved, fine, GRID), pdf, atol=1e-12)  # halving bins and back: exact
    two = np.array([[0.5, 0.5]])  # bins [0, 1), [1, 2): onto [0, 0.5) ... [1.5, 2) by hand
    np.testing.assert_allclose(regrid(two, np.array([0.5, 1.5]), np.array([0.25, 0.75, 1.25, 1.75])), [[0.25] * 4])
    np.testing.assert_allclose(regrid(two, np.array([0.5, 1.5]), np.array([0.25, 0.75])), [[0.5, 0.5]])  # [1, 2) dropped
    with pytest.raises(DataError, match=r"no probability on the grid \[0, 1\]; widen it"):
        regrid(np.array([[0.0, 1.0]]), np.array([0.5, 1.5]), np.array([0.25, 0.75]))
