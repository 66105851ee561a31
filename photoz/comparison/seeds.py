"""runs=seeds: one row per model from its runs that differ only in their seed.

The runs of a model (its row label, photoz.comparison.table.model_label) must have been trained on
the same data set (tag data_checksum) with the same config except `seed` and the keys that say
where or how a run ran rather than what it computed (HOW_NOT_WHAT: checkpoint folder, threads,
device, progress bar, ...). Anything else differing is refused with one line naming the model,
the key, two of its values and two run ids: a mean over different configs is not a seed scatter.
The row shows the mean ± sample standard deviation over its runs of every table column read from
MLflow, and the count; its own values, intervals and run id are its best single run's (lowest val
σ_MAD), so a reader sees both. Rows are sorted by their runs' mean val σ_MAD.
"""

from __future__ import annotations

import math

import numpy as np
from mlflow.entities import Experiment, Run
from mlflow.tracking import MlflowClient

from photoz.comparison.table import COLUMNS, Best, finished_runs, model_label, row_of, val_sigma
from photoz.errors import PhotozError

SEED = "seed"
# params that say where or how a run ran, not what it computed: equal results either way
HOW_NOT_WHAT = {
    "trainer.checkpoint_dir", "trainer.resume", "trainer.progress", "trainer.num_threads", "trainer.device",
    "trainer.preload_max_gb", "data.root", "data.output", "data.overwrite", "data.workers", "data.chunk_size",
}  # fmt: skip


def _what(run: Run) -> dict[str, str]:
    """What a run computed from: its params less seed and HOW_NOT_WHAT, and its data set's checksum."""
    params = {k: v for k, v in run.data.params.items() if k != SEED and k not in HOW_NOT_WHAT}
    return {**params, "data set (tag data_checksum)": run.data.tags.get("data_checksum", "")}


def check_only_seeds_differ(model: str, runs: list[Run]) -> None:
    """PhotozError naming the first key on which two runs of `model` differ, seed aside."""
    first = _what(runs[0])
    for run in runs[1:]:
        other = _what(run)
        for key in sorted(set(first) | set(other)):
            if first.get(key) != other.get(key):
                a, b = runs[0].info.run_id, run.info.run_id
                raise PhotozError(
                    f"runs=seeds: the runs of {model} differ in {key} ({first.get(key, 'unset')} in run {a}, "
                    f"{other.get(key, 'unset')} in run {b}), not only in seed; compare them with runs=best or "
                    "runs=all, or keep one config per model (tracking.experiment=..., parent_run=...)"
                )


def spread_of(runs: list[Run]) -> dict[str, tuple[float, float]]:
    """Column -> (mean, sample std) over `runs` of every table column read from MLflow (NaN std for one run)."""
    out = {}
    for col, metric, *_ in COLUMNS:
        values = np.array([val_sigma(r) if metric is None else r.data.metrics.get(metric, math.nan) for r in runs])
        std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        out[col] = (float(np.mean(values)), std)
    return out


def seed_rows(client: MlflowClient, experiment: Experiment, parent_run: str | None) -> list[Best]:
    """One row per model over its runs (which must differ only in seed), sorted by mean val σ_MAD."""
    groups: dict[str, list[Run]] = {}
    for run in finished_runs(client, experiment, parent_run):
        if not math.isnan(val_sigma(run)):
            groups.setdefault(model_label(run), []).append(run)
    if not groups:
        where = f"children of run {parent_run}" if parent_run else f"experiment {experiment.name!r}"
        raise PhotozError(f"no finished photoz runs with a validation σ_MAD among the {where}; train some first")
    rows = []
    for model, runs in groups.items():
        check_only_seeds_differ(model, runs)
        row = row_of(min(runs, key=val_sigma))
        row.runs, row.spread = len(runs), spread_of(runs) if len(runs) > 1 else {}
        rows.append(row)
    return sorted(rows, key=lambda r: r.spread.get("val_sigma_mad", (r.values["val_sigma_mad"],))[0])
