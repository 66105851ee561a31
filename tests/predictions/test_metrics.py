"""Known-value tests of the metrics, RAIL-style: hand-computed answers on a few dyadic numbers
(exact in floating point, so no threshold sits on a rounding error) and frozen values on a
seeded sample, so a change of any definition shows up here and not only in a logged run."""

from __future__ import annotations

import numpy as np
import pytest

from photoz.predictions import metrics

# Δz = (z_phot − z_spec)/(1 + z_spec) = [0.125, −0.0625, 0.125, 0, 0.25]
Z_SPEC = np.array([0.0, 1.0, 3.0, 0.0, 1.0])
Z_PHOT = np.array([0.125, 0.875, 3.5, 0.0, 1.5])
DZ = np.array([0.125, -0.0625, 0.125, 0.0, 0.25])


def test_delta_z_by_hand() -> None:
    np.testing.assert_array_equal(metrics.delta_z(Z_PHOT, Z_SPEC), DZ)


def test_point_metrics_by_hand() -> None:
    # median Δz = 0.125; |Δz − 0.125| = [0, 0.1875, 0, 0.125, 0.125] → median 0.125
    # quartiles (linear) of sorted [−0.0625, 0, 0.125, 0.125, 0.25]: 0 and 0.125
    # std(ddof=1): mean 0.0875, squared deviations sum 0.059375 → sqrt(0.059375/4)/sqrt(5)
    got = metrics.point_metrics(Z_PHOT, Z_SPEC)
    assert got == pytest.approx(
        {
            "sigma_mad": 1.4826 * 0.125,
            "bias": 0.0875,
            "bias_err": np.sqrt(0.059375 / 4) / np.sqrt(5),
            "eta": 0.8,  # all but the Δz = 0 galaxy have |Δz| > 0.05
            "bias_median": 0.125,
            "sigma_iqr": 0.125 / 1.349,
            "outlier_rate": 0.0,  # the floor is max(0.06, 3 σ_IQR = 0.278)
        },
        rel=1e-12,
    )


def test_eta_is_two_sided_and_strict() -> None:
    assert metrics.eta(np.array([-0.0625, 0.0625, 0.05, -0.05])) == 0.5


def test_outlier_rate_floor_applies_when_iqr_is_zero() -> None:
    # σ_IQR = 0, so the threshold is RAIL's floor 0.06: only the 0.5 counts
    assert metrics.outlier_rate(np.array([0.0, 0.0, 0.0, 0.0, 0.5])) == 0.2


def test_bias_error_of_one_galaxy_is_nan() -> None:
    assert np.isnan(metrics.bias_error(np.array([0.1])))


def test_per_z_bin_by_hand() -> None:
    # bins [0, 1), [1, 2), [2, 3): 5 galaxies, 4 (too few: NaN) and 6; z = 1 belongs to the bin it
    # starts, z = 3 (the last edge) and z < 0 to no bin
    z_spec = np.array([0.0, 0.25, 0.5, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.0, 2.25, 2.5, 2.75, 2.75, 3.0, -0.5])
    dz = np.array([0.0, 0.125, 0.25, 0.5, 1.0, 9.0, 9.0, 9.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.125, 9.0, 9.0])
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(metrics.per_z_bin(np.median, dz, z_spec, edges), [0.25, np.nan, 0.0])
    np.testing.assert_array_equal(metrics.per_z_bin(metrics.eta, dz, z_spec, edges), [0.8, np.nan, 1 / 6])
    # σ_MAD of bin 0: median 0.25, |Δz − 0.25| = [0.25, 0.125, 0, 0.25, 0.75] → median 0.25
    assert metrics.per_z_bin(metrics.sigma_mad, dz, z_spec, edges)[0] == 1.4826 * 0.25


def test_frozen_values_on_a_seeded_sample() -> None:
    """A Gaussian core (σ = 0.03) with 5 % uniform outliers, seeded: values frozen at the time
    of writing, so any change of a definition or of numpy's percentile rule is caught."""
    rng = np.random.default_rng(2019)
    z_spec = rng.uniform(0.0, 3.0, 1000)
    dz = rng.normal(0.001, 0.03, 1000)
    outliers = rng.random(1000) < 0.05
    dz[outliers] = rng.uniform(-0.5, 0.5, outliers.sum())
    z_phot = z_spec + dz * (1 + z_spec)
    got = metrics.point_metrics(z_phot, z_spec)
    assert got["sigma_mad"] == pytest.approx(0.03, rel=0.1)  # the core's σ, as it should be
    assert got == pytest.approx(
        {
            "sigma_mad": 0.031235974288100307,
            "bias": 0.004835048454380337,
            "bias_err": 0.002029191352431346,
            "eta": 0.126,
            "bias_median": -0.00016233383988156004,
            "sigma_iqr": 0.03177984743795186,
            "outlier_rate": 0.035,
        },
        rel=1e-9,
    )


def test_point_metrics_are_the_registry_entries() -> None:
    """point_metrics computes exactly the METRICS entries, each with a known direction and a format
    the comparison table can print."""
    got = metrics.point_metrics(Z_PHOT, Z_SPEC)
    assert list(got) == [m.name for m in metrics.METRICS]
    for m in metrics.METRICS:
        assert m.direction in ("lower", "zero") and m.format.format(got[m.name])
        assert got[m.name] == m.function(DZ)


def test_the_comparison_table_columns_come_from_the_registry() -> None:
    """Its metric columns are the `table` entries in registry order, read from test_<name> (the
    MLflow name every run logs them under); frozen: the table of today."""
    from photoz.comparison.table import COLUMNS, LATEX_HEADERS

    shown = [m for m in metrics.METRICS if m.table]
    assert [m.name for m in shown] == ["sigma_mad", "bias", "eta", "sigma_iqr", "outlier_rate"]
    assert COLUMNS[: len(shown)] == [(m.name, f"test_{m.name}", m.header, m.format) for m in shown]
    assert metrics.logged_name("test", "eta") == "test_eta"
    assert {m.header: LATEX_HEADERS[m.header] for m in shown if m.latex} == {m.header: m.latex for m in shown if m.latex}
