"""The comparison table's cells for what a row's numbers are uncertain by: its bootstrap interval,
its mean ± std over seeds, how many runs it stands for, and its paired difference from the best row.

Markdown and LaTeX get one cell per metric, `value [low, high]` (95 % bootstrap interval over the
test galaxies) and, for a row of several seeds, `; mean ± std`; the CSV gets every number in a
column of its own (`<metric>_low`, `<metric>_high`, `<metric>_mean`, `<metric>_std`,
`<metric>_diff`, `<metric>_diff_low`, `<metric>_diff_high`).
"""

from __future__ import annotations

import math

from photoz.comparison.intervals import Interval, RowIntervals

DIFF_HEADERS = ["Δσ_MAD vs best [95 %]", "differs from best on"]


def _fmt(value: float, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else fmt.format(value)


def runs_cell(runs: int, members: int) -> str:
    """What a row stands for: "5 members" (an ensemble; "1 member" recalibrated), "3 seeds" (runs=seeds) or "1"."""
    if members:
        return f"{members} member{'s' if members > 1 else ''}"
    return f"{runs} seeds" if runs > 1 else "1"


def metric_cell(value: float, fmt: str, interval: Interval | None, spread: tuple[float, float] | None) -> str:
    """`value [low, high]`, then `; mean ± std` over seeds when the row has several."""
    cell = _fmt(value, fmt)
    if interval is not None and not math.isnan(interval.low):
        cell += f" [{_fmt(interval.low, fmt)}, {_fmt(interval.high, fmt)}]"
    if spread is not None:
        cell += f"; {_fmt(spread[0], fmt)} ± {_fmt(spread[1], fmt.replace('+', ''))}"
    return cell


def difference_cells(stats: RowIntervals | None, is_best: bool, headers: dict[str, str]) -> list[str]:
    """The σ_MAD difference from the best row with its paired interval, and the metrics (by
    header) on which the row is distinguishable from the best; "best" / "—" on the best row."""
    if is_best:
        return ["best", "—"]
    if stats is None or "sigma_mad" not in stats.differences:
        return ["n/a", "n/a"]  # no test predictions, or other galaxies than the best row's
    d = stats.differences["sigma_mad"]
    differs = [headers.get(name, name) for name in stats.distinguishable_on()]
    return [f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]", ", ".join(differs) or "no"]


def raw_statistics(columns: list[str], stats: RowIntervals | None, spread: dict[str, tuple[float, float]]) -> dict:
    """The CSV's columns of intervals, seed spread and paired differences for metric `columns`."""
    nan = math.nan
    out: dict = {}
    for c in columns:
        value = stats.values.get(c) if stats else None
        diff = stats.differences.get(c) if stats else None
        mean, std = spread.get(c, (nan, nan))
        out.update({f"{c}_low": value.low if value else nan, f"{c}_high": value.high if value else nan,
                    f"{c}_mean": mean, f"{c}_std": std, f"{c}_diff": diff.value if diff else nan,
                    f"{c}_diff_low": diff.low if diff else nan, f"{c}_diff_high": diff.high if diff else nan})  # fmt: skip
    out["differs_from_best_on"] = ";".join(stats.distinguishable_on()) if stats else ""
    return out
