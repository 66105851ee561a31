"""Bootstrap intervals of the comparison table (photoz.comparison.intervals, .resample): the
resampled metrics equal their definitions, the σ_MAD interval covers the true value at about its
nominal rate, and paired differences are zero for identical rows and clear for a worse one."""

from __future__ import annotations

import numpy as np
import pytest

from photoz.comparison import resample
from photoz.comparison.intervals import LEVEL, GalaxySample, row_intervals
from photoz.comparison.resample import Drawn, counts_of, metric_of_resamples
from photoz.predictions.metrics import METRICS, sigma_mad
from photoz.predictions.pdf import ks_uniform


def _drawn(values: np.ndarray, idx: np.ndarray) -> Drawn:
    return Drawn(values, np.argsort(values, kind="stable"), counts_of(idx))


@pytest.mark.parametrize("n", [1, 2, 7, 10, 501])
def test_every_resampled_metric_equals_its_definition_on_the_resampled_values(n) -> None:
    """Odd and even n, ties (rounded values), outliers: each form against the METRICS function
    (and scipy's KS statistic) applied to the explicitly resampled array."""
    rng = np.random.default_rng(n)
    dz, u = np.round(rng.standard_t(3, n) * 0.03, 3), rng.uniform(0, 1, n)
    idx = rng.integers(0, n, (25, n))
    d, p = _drawn(dz, idx), _drawn(u, idx)
    for m in METRICS:
        want = [m.function(dz[i]) for i in idx]
        np.testing.assert_allclose(metric_of_resamples(m.name, d), want, rtol=1e-12, atol=1e-15, err_msg=m.name)
    np.testing.assert_allclose(metric_of_resamples("pit_ks", p), [ks_uniform(u[i]) for i in idx], rtol=1e-12)


def test_a_metric_without_a_fast_form_is_computed_by_its_own_function(monkeypatch) -> None:
    """A metric added to METRICS and not to FORMS still gets exact resampled values (slower)."""
    rng = np.random.default_rng(3)
    dz = rng.normal(0, 0.03, 200)
    idx = rng.integers(0, 200, (5, 200))
    monkeypatch.delitem(resample.FORMS, "sigma_mad")
    np.testing.assert_allclose(metric_of_resamples("sigma_mad", _drawn(dz, idx)), [sigma_mad(dz[i]) for i in idx], rtol=1e-12)


def test_the_sigma_mad_interval_covers_the_true_value_at_about_the_nominal_rate() -> None:
    """200 seeded samples of 400 Gaussian Δz with σ = 0.03, whose σ_MAD is σ (1.4826 = 1/Φ⁻¹(3/4)):
    the 95 % intervals cover 0.03 in 95 % ± 1.5 % (binomial) of them; accepted within 3 σ."""
    rng = np.random.default_rng(28)
    sigma, trials, n = 0.03, 200, 400
    covered = 0
    for _ in range(trials):
        sample = GalaxySample(np.arange(n), rng.normal(0.0, sigma, n))
        iv = row_intervals({"row": sample}, "row")["row"].values["sigma_mad"]
        covered += iv.low <= sigma <= iv.high
    rate, se = covered / trials, np.sqrt(LEVEL * (1 - LEVEL) / trials)
    assert abs(rate - LEVEL) < 3 * se, f"coverage {rate:.3f}"


def test_paired_intervals_of_identical_rows_contain_zero_and_a_worse_row_is_told_apart() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    dz, u = rng.normal(0, 0.03, n), rng.uniform(0, 1, n)
    ids = rng.permutation(n) + 1  # any order: rows are matched by id
    samples = {"best": GalaxySample(ids, dz, u), "copy": GalaxySample(ids, dz, u),
               "worse": GalaxySample(ids, 1.5 * dz + rng.normal(0, 0.002, n), u**2)}  # fmt: skip
    stats = row_intervals({k: GalaxySample(*_sorted(s)) for k, s in samples.items()}, "best")
    assert stats["best"].differences == {}
    copy = stats["copy"]
    assert set(copy.differences) == {m.name for m in METRICS if m.table} | {"pit_ks"}
    assert all(d.low <= 0.0 <= d.high for d in copy.differences.values()) and copy.distinguishable_on() == []
    worse = stats["worse"]
    assert {"sigma_mad", "sigma_iqr", "eta", "pit_ks"} <= set(worse.distinguishable_on())
    d = worse.differences["sigma_mad"]
    assert 0 < d.low < d.value < d.high and d.value == pytest.approx(0.5 * sigma_mad(dz), rel=0.1)
    for name, iv in stats["best"].values.items():  # the value of a sample's metric sits in its interval
        assert iv.low <= iv.high, name


def _sorted(s: GalaxySample) -> tuple:
    order = np.argsort(s.ids)
    return s.ids[order], s.dz[order], s.pit[order]


def test_rows_on_other_galaxies_get_intervals_but_no_difference() -> None:
    rng = np.random.default_rng(7)
    a = GalaxySample(np.arange(300), rng.normal(0, 0.03, 300))
    b = GalaxySample(np.arange(1, 301), rng.normal(0, 0.03, 300))
    stats = row_intervals({"a": a, "b": b}, "a")
    assert stats["b"].differences == {} and "sigma_mad" in stats["b"].values and "pit_ks" not in stats["b"].values
    again = row_intervals({"a": a, "b": b}, "a")  # a fixed seed: the same tables give the same intervals
    assert again["a"].values == stats["a"].values
