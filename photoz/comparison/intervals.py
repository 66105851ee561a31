"""95 % bootstrap intervals of the comparison table's metrics over the test galaxies, and the
paired interval of each row's difference from the best row on the same galaxies.

For every row (a run's logged test prediction table): each table metric of METRICS and, where the
table has a `pit` column, PIT KS, with a percentile bootstrap interval over test galaxies
(`scipy.stats.bootstrap`, N_RESAMPLES resamples, seed SEED, so the same table always gives the
same interval). Rows predicted on the same galaxies (same ids) are resampled together: one
resample draws the same galaxies for every row, so the difference row − best of a metric has a
paired interval (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13–14). For a
metric whose ideal is zero (bias), the difference is of |value|. A row is distinguishable from the
best on a metric when that interval excludes zero. Percentile rather than BCa intervals: BCa's
jackknife costs n statistics of n galaxies each, 2·10⁸ values for 14,000 galaxies, per metric.
The resamples' metrics are computed from how often each galaxy was drawn
(photoz.comparison.resample), so 10 rows × 14,000 galaxies take seconds
(benchmarks/intervals_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from photoz.comparison.resample import Drawn, counts_of, metric_of_resamples
from photoz.predictions.metrics import METRICS, delta_z
from photoz.predictions.pdf import ks_uniform

N_RESAMPLES = 1000  # bootstrap resamples of the test galaxies
LEVEL = 0.95  # confidence level of every interval
SEED = 0  # the resamples' seed: the same tables give the same intervals
BATCH_VALUES = 1_400_000  # resamples × galaxies computed at once (100 × 14,000; ~6 MB per int32 array)
TABLE_METRICS = [m for m in METRICS if m.table]
FUNCTIONS = {m.name: m.function for m in METRICS}
ZERO_IS_BEST = {m.name for m in METRICS if m.direction == "zero"}  # their differences are of |value|


@dataclass(frozen=True)
class Interval:
    """A value and its interval [low, high]."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass
class RowIntervals:
    """One row's metrics with intervals, and its paired differences from the best row."""

    values: dict[str, Interval]
    differences: dict[str, Interval] = field(default_factory=dict)  # empty: the best row, or other galaxies

    def distinguishable_on(self) -> list[str]:
        """The metrics on which the row differs from the best row (paired interval excludes zero)."""
        return [name for name, d in self.differences.items() if d.excludes_zero()]


@dataclass
class GalaxySample:
    """A row's test galaxies: ids (sorted), Δz of z_phot and, if logged, PIT values."""

    ids: np.ndarray
    dz: np.ndarray
    pit: np.ndarray | None = None

    @classmethod
    def from_table(cls, table: Table) -> GalaxySample:
        """From a run's logged test prediction table (columns id, z_spec, z_phot, optional pit)."""
        order = np.argsort(np.asarray(table["id"]), kind="stable")
        dz = delta_z(np.asarray(table["z_phot"], float), np.asarray(table["z_spec"], float))[order]
        pit = np.asarray(table["pit"], float)[order] if "pit" in table.colnames else None
        return cls(np.asarray(table["id"])[order], dz, pit)

    def names(self) -> list[str]:
        return [m.name for m in TABLE_METRICS] + (["pit_ks"] if self.pit is not None else [])

    def value(self, name: str) -> float:
        return ks_uniform(self.pit) if name == "pit_ks" else float(FUNCTIONS[name](self.dz))


def _score(name: str, x: np.ndarray) -> np.ndarray:
    return np.abs(x) if name in ZERO_IS_BEST else x


class _Statistic:
    """The vectorised statistic scipy.stats.bootstrap resamples: galaxy indices in, every row's
    metrics (then every row's difference from row 0) out."""

    def __init__(self, samples: list[GalaxySample]) -> None:
        self.samples = samples
        self.orders = [(np.argsort(s.dz, kind="stable"), None if s.pit is None else np.argsort(s.pit, kind="stable"))
                       for s in samples]  # fmt: skip
        self.names = [s.names() for s in samples]
        common = set(self.names[0])
        self.paired = [[n for n in names if n in common] for names in self.names[1:]]

    def __call__(self, indices: np.ndarray, axis: int = -1) -> np.ndarray:
        one = indices.ndim == 1
        counts = counts_of(np.atleast_2d(indices).astype(np.int64))
        per_row = []
        for s, (o_dz, o_pit), names in zip(self.samples, self.orders, self.names):
            dz = Drawn(s.dz, o_dz, counts)
            pit = Drawn(s.pit, o_pit, counts) if o_pit is not None else None
            per_row.append({n: metric_of_resamples(n, pit if n == "pit_ks" else dz) for n in names})
        out = [v for row in per_row for v in row.values()]
        for row, names in zip(per_row[1:], self.paired):
            out += [_score(n, row[n]) - _score(n, per_row[0][n]) for n in names]
        stacked = np.stack(out)
        return stacked[:, 0] if one else stacked


def _bootstrap(samples: list[GalaxySample]) -> list[RowIntervals]:
    """Intervals of every row of `samples` (all on the same galaxies, in the same order); the
    differences are from samples[0]."""
    from scipy.stats import bootstrap

    stat = _Statistic(samples)
    n = len(samples[0].ids)
    batch = max(1, min(N_RESAMPLES, BATCH_VALUES // n))
    res = bootstrap((np.arange(n),), stat, vectorized=True, n_resamples=N_RESAMPLES, batch=batch,
                    method="percentile", confidence_level=LEVEL, rng=np.random.default_rng(SEED))  # fmt: skip
    lows, highs = iter(res.confidence_interval.low), iter(res.confidence_interval.high)
    rows = [RowIntervals({name: Interval(s.value(name), next(lows), next(highs)) for name in names})
            for s, names in zip(samples, stat.names)]  # fmt: skip
    best = samples[0]
    for row, s, names in zip(rows[1:], samples[1:], stat.paired):
        for name in names:
            value = float(_score(name, np.float64(s.value(name))) - _score(name, np.float64(best.value(name))))
            row.differences[name] = Interval(value, next(lows), next(highs))
    return rows


def row_intervals(samples: dict[str, GalaxySample], best: str | None) -> dict[str, RowIntervals]:
    """Intervals of every row (key: e.g. a run id), and for rows on the same galaxies as row
    `best`, the paired differences from it (none if `best` is None)."""
    out: dict[str, RowIntervals] = {}
    if best is not None:
        reference = samples[best]
        same = [k for k, s in samples.items() if k != best and np.array_equal(s.ids, reference.ids)]
        out = dict(zip([best, *same], _bootstrap([reference, *(samples[k] for k in same)])))
    for key, s in samples.items():
        if key not in out:  # other galaxies than the best row's: its own interval, no difference
            out[key] = _bootstrap([s])[0]
    return {key: out[key] for key in samples}
