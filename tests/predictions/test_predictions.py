"""Predictions, RAIL-style: from_pdf, quantiles (with and without a PDF), metrics and the logged
table on hand-computed cases, and frozen values on a seeded sample."""

from __future__ import annotations

import numpy as np
import pytest
from test_pdf import seeded_pdfs

from photoz.predictions.metrics import point_metrics
from photoz.predictions.table import Predictions, z_grid

TABLE_COLUMNS = ["id", "z_spec", "z_phot", "z_err", "z_q16", "z_q50", "z_q84"]
POINT_COLUMNS = ["z_zstar", "z_mean", "z_median", "z_mode"]


def test_z_grid_is_bin_centres() -> None:
    np.testing.assert_array_equal(z_grid(4, 2.0), [0.25, 0.75, 1.25, 1.75])


def test_from_pdf_and_quantiles_by_hand() -> None:
    grid = z_grid(2, 1.0)
    pdf = np.array([[1.0, 1.0]])  # normalised by from_pdf
    # the default z*: 1 + z* = 1 / E[1/(1+z)] = 1 / (0.5/1.25 + 0.5/1.75) = 35/24, so z* = 11/24
    pred = Predictions.from_pdf(np.array([7]), np.array([0.5]), pdf, grid)
    assert pred.z_phot[0] == pytest.approx(11 / 24, rel=1e-12)
    assert Predictions.from_pdf(np.array([7]), np.array([0.5]), pdf, grid, point="mean").z_phot[0] == pytest.approx(0.5)
    assert pred.z_err[0] == pytest.approx(0.25)  # the std of two equal spikes 0.5 apart
    assert pred.pdf.dtype == np.float32 and np.array_equal(pred.pdf, [[0.5, 0.5]]) and pred.z_grid is grid
    # CDF [0, 0.5, 1] at edges [0, 0.5, 1] is the identity: quantile q is q
    np.testing.assert_allclose(pred.quantiles((0.16, 0.5, 0.84))[0], [0.16, 0.5, 0.84], rtol=1e-6)


def test_z_err_of_a_two_spike_pdf_by_hand() -> None:
    # spikes at 0.25 (p = 0.75) and 1.75 (p = 0.25): mean 0.625, variance 0.75 × 0.25 × 1.5² = 0.421875
    grid = z_grid(4, 2.0)
    pred = Predictions.from_pdf(np.array([1]), np.array([0.3]), np.array([[3.0, 0.0, 0.0, 1.0]]), grid, "mean")
    assert pred.z_phot[0] == pytest.approx(0.625, rel=1e-12)
    assert pred.z_err[0] == pytest.approx(np.sqrt(0.421875), rel=1e-12)


def test_quantiles_without_pdf_are_gaussian() -> None:
    pred = Predictions(np.arange(2), np.array([1.0, 0.5]), np.array([1.0, 0.5]), np.array([0.1, 0.2]))
    # z ± z_err at Φ(±1) = 0.5 ± 0.3413447460685429
    np.testing.assert_allclose(
        pred.quantiles((0.1586552539314571, 0.5, 0.8413447460685429)), [[0.9, 1.0, 1.1], [0.3, 0.5, 0.7]], rtol=1e-9
    )


def test_table_without_pdf_by_hand() -> None:
    pred = Predictions(np.array([3, 4]), np.array([1.0, 0.5]), np.array([1.0, 0.75]), np.array([0.1, 0.2]))
    table = pred.to_table()
    assert table.colnames == TABLE_COLUMNS  # no point-estimate columns without a PDF
    assert list(table["id"]) == [3, 4] and list(table["z_phot"]) == [1.0, 0.75] and list(table["z_err"]) == [0.1, 0.2]
    np.testing.assert_array_equal(table["z_q50"], [1.0, 0.75])  # the median of z ± z_err is z
    np.testing.assert_allclose(table["z_q84"] - table["z_phot"], table["z_phot"] - table["z_q16"], rtol=1e-12)


def test_table_with_pdf_carries_every_point_estimate() -> None:
    grid = z_grid(4, 2.0)
    pred = Predictions.from_pdf(np.array([9]), np.array([0.5]), np.array([[0.5, 0.5, 0.0, 0.0]]), grid, "median")
    table = pred.to_table()
    assert table.colnames == TABLE_COLUMNS + POINT_COLUMNS
    # flat on [0, 1): quantiles q, z* = 11/24, mean 0.5, median 0.5, mode 0.25 (the first of a tie)
    np.testing.assert_allclose([table[c][0] for c in ("z_q16", "z_q50", "z_q84")], [0.16, 0.5, 0.84], rtol=1e-6)
    got = [table[c][0] for c in POINT_COLUMNS]
    np.testing.assert_allclose(got, [11 / 24, 0.5, 0.5, 0.25], rtol=1e-6)
    assert table["z_phot"][0] == table["z_median"][0]


def test_metrics_are_the_point_metrics_with_a_prefix() -> None:
    pred = Predictions(np.arange(5), np.array([0.0, 1.0, 3.0, 0.0, 1.0]), np.array([0.125, 0.875, 3.5, 0.0, 1.5]), np.zeros(5))
    expected = point_metrics(pred.z_phot, pred.z_spec)
    assert pred.metrics("val_") == {f"val_{k}": v for k, v in expected.items()}
    assert pred.metrics()["sigma_mad"] == 1.4826 * 0.125  # the hand value of tests/test_metrics.py


def test_frozen_values_on_a_seeded_sample() -> None:
    """Values frozen at the time of writing: any change of a definition is caught."""
    pdf, grid, z_spec = seeded_pdfs()
    pred = Predictions.from_pdf(np.arange(len(z_spec)), z_spec, 3.0 * pdf, grid)  # not normalised: from_pdf does it
    assert pred.metrics("test_") == pytest.approx(
        {
            "test_sigma_mad": 0.08342051406579241,
            "test_bias": 0.006387195749820491,
            "test_bias_err": 0.006727893747383157,
            "test_eta": 0.555,
            "test_bias_median": 0.0003492589757937444,
            "test_sigma_iqr": 0.08250776764223859,
            "test_outlier_rate": 0.02,
        },
        rel=1e-9,
    )
    table = pred.to_table()
    row0 = [1.5078567047217217, 1.5261049184848838, 0.32304531435315953, 1.5120686988418983, 1.6576030616673827,
            1.7909297694856037, 1.526104885736555, 1.6014496519391908, 1.6576030616673827, 1.675]  # fmt: skip
    np.testing.assert_allclose([table[c][0] for c in table.colnames[1:]], row0, rtol=1e-9)
    sums = {"z_phot": 279.28530895933494, "z_err": 61.28065582048656, "z_q16": 241.2332113342036, "z_q50": 288.5725006903874,
            "z_q84": 336.0746027789277, "z_zstar": 279.28530842324426, "z_mean": 289.14983230279233,
            "z_median": 288.5725006903874, "z_mode": 287.85}  # fmt: skip
    assert {c: float(np.sum(table[c])) for c in sums} == pytest.approx(sums, rel=1e-9)
