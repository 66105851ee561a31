"""The comparison table's metrics on many bootstrap resamples of the test galaxies at once.

A bootstrap resample of n galaxies is fully described by how many times it drew each galaxy (a row
of `counts`, summing to n). With the values sorted once, the cumulative counts give every order
statistic of every resample by a binary search, so the quantile metrics (σ_MAD, σ_IQR, median
Δz), the threshold metrics (η, RAIL outlier rate), the mean Δz and the PIT KS distance of 1,000
resamples of 14,000 galaxies cost a few passes over a (resamples × galaxies) integer array instead
of 1,000 sorts. Each function returns exactly what its photoz.predictions.metrics (or .pdf)
definition gives on the resampled values (tests/predictions/test_intervals.py checks every one
against the definition); a metric of METRICS without a form here is computed by its own function on
each resample, slower but the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from photoz.predictions.metrics import ETA_THRESHOLD, METRICS, RAIL_OUTLIER_FLOOR

MAD_SCALE, IQR_SCALE = 1.4826, 1.349  # as sigma_mad and sigma_iqr define them
MAD_STEPS = 56  # bisection steps of the median absolute deviation (to float64 resolution), then snapped to a draw


class Drawn:
    """One sample (a row's Δz or PIT values) and a batch of resamples of it given as counts."""

    def __init__(self, values: np.ndarray, order: np.ndarray, counts: np.ndarray) -> None:
        """`order` sorts `values`; `counts` (resamples, n), int32, says how often each galaxy was drawn."""
        self.v = values[order]  # sorted values
        self.c = counts[:, order]  # counts in sorted order
        b, self.n = counts.shape
        self.rows = np.arange(b)
        # cum[r, i]: how many of resample r's draws lie before sorted position i, shifted by r·(n + 1)
        # so that the flattened array is sorted (each row's counts lie in [0, n])
        self.shift = self.rows * (self.n + 1)
        self.cum = np.empty((b, self.n + 1), np.int32)
        self.cum[:, 0] = 0
        np.cumsum(self.c, axis=1, out=self.cum[:, 1:])
        self.cum += self.shift[:, None].astype(np.int32)
        self.flat = self.cum.ravel()
        self.quantiles: dict[float, np.ndarray] = {}  # computed once per q (σ_IQR and the outlier rate share them)

    def before(self, pos: np.ndarray) -> np.ndarray:
        """How many draws of each resample lie before sorted position pos (one per resample)."""
        return self.cum[self.rows, pos] - self.shift

    def order_stat(self, k: int | np.ndarray) -> np.ndarray:
        """The k-th smallest (0-based) value of each resample."""
        return self.v[np.searchsorted(self.flat, self.shift + k, side="right") - self.shift - 1]

    def quantile(self, q: float) -> np.ndarray:
        """numpy's default (linear) quantile of each resample."""
        if q not in self.quantiles:
            h = (self.n - 1) * q
            k = int(np.floor(h))
            lo, hi = self.order_stat(k), self.order_stat(min(k + 1, self.n - 1))
            self.quantiles[q] = lo + (h - k) * (hi - lo)
        return self.quantiles[q]

    def median(self) -> np.ndarray:
        return 0.5 * (self.order_stat((self.n - 1) // 2) + self.order_stat(self.n // 2))

    def at_most(self, t: np.ndarray) -> np.ndarray:
        """How many drawn values are <= t (one threshold per resample)."""
        return self.before(np.searchsorted(self.v, t, side="right"))

    def below(self, t: np.ndarray) -> np.ndarray:
        """How many drawn values are < t."""
        return self.before(np.searchsorted(self.v, t, side="left"))

    def share_beyond(self, t: np.ndarray) -> np.ndarray:
        """Share of drawn values with |value| > t."""
        return (self.below(-t) + self.n - self.at_most(t)) / self.n

    def mean(self) -> np.ndarray:
        return self.weighted_sum(self.v) / self.n

    def weighted_sum(self, x: np.ndarray) -> np.ndarray:
        """Σ over the draws of x (x per sorted position), per resample."""
        return np.einsum("ij,j->i", self.c, x)  # integer counts straight in: no float copy

    def median_abs_deviation(self, m: np.ndarray) -> np.ndarray:
        """median |value − m| of each resample (numpy's median: the mean of the two middle values).
        The lower middle distance by bisection on r (how many draws lie within [m − r, m + r]), then
        snapped to the farthest draw inside that window; the upper one is the same or the nearest
        draw outside it."""
        k = (self.n - 1) // 2
        lo, hi = np.full(len(m), -1.0), np.full(len(m), self.v[-1] - self.v[0])
        for _ in range(MAD_STEPS):
            r = 0.5 * (lo + hi)
            enough = self.at_most(m + r) - self.below(m - r) >= k + 1
            hi, lo = np.where(enough, r, hi), np.where(enough, lo, r)
        upto, under = self.at_most(m + hi), self.below(m - hi)  # the window holds draws under..upto-1
        lower = np.maximum(self.order_stat(upto - 1) - m, m - self.order_stat(under))
        if self.n % 2:
            return lower
        right = np.where(upto < self.n, self.order_stat(np.minimum(upto, self.n - 1)) - m, np.inf)
        left = np.where(under > 0, m - self.order_stat(np.maximum(under - 1, 0)), np.inf)
        upper = np.where(upto - under >= k + 2, lower, np.minimum(right, left))
        return 0.5 * (lower + upper)


def sigma_mad(d: Drawn) -> np.ndarray:
    return MAD_SCALE * d.median_abs_deviation(d.median())


def sigma_iqr(d: Drawn) -> np.ndarray:
    return (d.quantile(0.75) - d.quantile(0.25)) / IQR_SCALE


def bias_error(d: Drawn) -> np.ndarray:
    if d.n < 2:
        return np.full(len(d.rows), np.nan)  # as metrics.bias_error
    mean = d.mean()
    var = (d.weighted_sum(d.v**2) - d.n * mean**2) / (d.n - 1)
    return np.sqrt(np.maximum(var, 0.0) / d.n)


def outlier_rate(d: Drawn) -> np.ndarray:
    return d.share_beyond(np.maximum(RAIL_OUTLIER_FLOOR, 3.0 * sigma_iqr(d)))


def pit_ks(d: Drawn) -> np.ndarray:
    """KS distance of each resample's PIT values from U(0, 1) (scipy.stats.kstest's statistic):
    the largest gap between the empirical CDF just after and just before each value and the value.
    Values a resample did not draw add nothing: there the gap is smaller than at its neighbours."""
    nv = d.n * d.v  # d.cum: draws before each sorted position, shifted by d.shift
    after = (d.cum[:, 1:] - nv).max(axis=1) - d.shift
    before = (nv - d.cum[:, :-1]).max(axis=1) + d.shift
    return np.maximum(after, before) / d.n


FORMS: dict[str, Callable[[Drawn], np.ndarray]] = {
    "sigma_mad": sigma_mad,
    "bias": Drawn.mean,
    "bias_err": bias_error,
    "eta": lambda d: d.share_beyond(np.full(len(d.rows), ETA_THRESHOLD)),
    "bias_median": Drawn.median,
    "sigma_iqr": sigma_iqr,
    "outlier_rate": outlier_rate,
}
FUNCTIONS = {m.name: m.function for m in METRICS}


def metric_of_resamples(name: str, d: Drawn) -> np.ndarray:
    """Metric `name` (a METRICS entry, or "pit_ks" of a PIT sample) of every resample in `d`."""
    if name == "pit_ks":
        return pit_ks(d)
    if name in FORMS:
        return FORMS[name](d)
    return np.array([FUNCTIONS[name](np.repeat(d.v, row)) for row in d.c])  # a metric without a fast form


def counts_of(indices: np.ndarray) -> np.ndarray:
    """(resamples, n) draws of each galaxy from (resamples, n) drawn indices."""
    b, n = indices.shape
    flat = (indices + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.int32)
