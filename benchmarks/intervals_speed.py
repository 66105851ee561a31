"""How long photoz.compare's bootstrap intervals take: 10 rows × 14,000 test galaxies (the default
test split), photoz's draw-count statistic beside the plain one that scipy.stats.bootstrap
documents (each resample's Δz and PIT arrays gathered, then numpy medians, percentiles, means and
a sort for KS along the resample axis), with the same resamples.

    python benchmarks/intervals_speed.py                    # 10 rows, 14,000 galaxies, 1,000 resamples
    python benchmarks/intervals_speed.py --rows 20 --galaxies 100000

Both go through scipy.stats.bootstrap with the same seed and batch, so they draw the same galaxies:
the printed largest difference of any interval end checks that they compute the same intervals.
Prints wall and CPU seconds of each, their ratio, the CPU model and the load average. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from photoz.comparison import intervals
from photoz.comparison.intervals import GalaxySample, row_intervals
from photoz.predictions.metrics import ETA_THRESHOLD, METRICS, RAIL_OUTLIER_FLOOR


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def samples(rows: int, n: int) -> dict[str, GalaxySample]:
    """Rows of Δz on the same galaxies (each a noisier copy of the first, with 5 % outliers) and PIT values."""
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.03, n) + (rng.random(n) < 0.05) * rng.normal(0, 0.3, n)
    return {f"row{k}": GalaxySample(np.arange(n), base + rng.normal(0, 0.002 * k + 1e-9, n), rng.beta(1 + 0.02 * k, 1, n))
            for k in range(rows)}  # fmt: skip


def plain_statistic(values: dict[str, GalaxySample]):
    """The statistic written the plain way on resampled arrays: galaxy indices in (as photoz's),
    each row's Δz and PIT gathered, the table's metrics along the last axis, then the paired
    differences from the first row: the same outputs in the same order as photoz's."""
    names = [m.name for m in METRICS if m.table]
    zero = {m.name for m in METRICS if m.direction == "zero"}

    def metrics(d: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
        med = np.median(d, axis=-1, keepdims=True)
        q25, q75 = np.percentile(d, [25, 75], axis=-1)
        iqr = (q75 - q25) / 1.349
        s = np.sort(u, axis=-1)
        i = np.arange(1, s.shape[-1] + 1) / s.shape[-1]
        out = {"sigma_mad": 1.4826 * np.median(np.abs(d - med), axis=-1), "bias": d.mean(axis=-1),
               "eta": (np.abs(d) > ETA_THRESHOLD).mean(axis=-1), "sigma_iqr": iqr,
               "outlier_rate": (np.abs(d) > np.maximum(RAIL_OUTLIER_FLOOR, 3 * iqr)[..., None]).mean(axis=-1),
               "pit_ks": np.maximum((i - s).max(axis=-1), (s - (i - 1 / s.shape[-1])).max(axis=-1))}  # fmt: skip
        return {k: out[k] for k in [*names, "pit_ks"]}

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = [metrics(s.dz[idx], s.pit[idx]) for s in values.values()]
        out = [v for r in rows for v in r.values()]
        score = lambda k, x: np.abs(x) if k in zero else x  # noqa: E731
        out += [score(k, r[k]) - score(k, rows[0][k]) for r in rows[1:] for k in r]
        return np.stack(out)

    return statistic


def timed(f):
    wall, cpu = time.perf_counter(), time.process_time()
    result = f()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--galaxies", type=int, default=14000)
    args = parser.parse_args()
    from scipy.stats import bootstrap

    values = samples(args.rows, args.galaxies)
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    ours, wall, cpu = timed(lambda: row_intervals(values, "row0"))
    print(f"photoz (draw counts):     {wall:6.2f} s wall, {cpu:6.2f} s CPU for {args.rows} rows × {args.galaxies:,} galaxies, "
          f"{intervals.N_RESAMPLES} resamples")  # fmt: skip
    batch = max(1, min(intervals.N_RESAMPLES, intervals.BATCH_VALUES // args.galaxies))
    plain, pwall, pcpu = timed(lambda: bootstrap(
        (np.arange(args.galaxies),), plain_statistic(values), vectorized=True, n_resamples=intervals.N_RESAMPLES,
        batch=batch, method="percentile", confidence_level=intervals.LEVEL, rng=np.random.default_rng(intervals.SEED)))  # fmt: skip
    print(f"plain (resampled arrays): {pwall:6.2f} s wall, {pcpu:6.2f} s CPU; photoz / plain: {wall / pwall:.2f} wall, "
          f"{cpu / pcpu:.2f} CPU")  # fmt: skip
    ends = [e for part in ("values", "differences") for r in ours.values() for i in getattr(r, part).values() for e in (i.low, i.high)]
    ref = np.concatenate([plain.confidence_interval.low[:, None], plain.confidence_interval.high[:, None]], axis=1).ravel()
    print(f"largest difference of any interval end between the two: {np.max(np.abs(np.array(ends) - ref)):.2e} "
          f"({len(ends)} ends); load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip


if __name__ == "__main__":
    main()
