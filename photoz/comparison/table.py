"""Find the best MLflow run per model and write the comparison table (markdown, CSV, LaTeX).

Runs are those that photoz.train finished (status FINISHED, tag `model`); a model is the config
the run was composed with (tag `model_config`, e.g. googlenet_pasquet; runs logged before that tag
fall back to `model`, the estimator name), so every conf/model option has its own row. The best
per model is the one with the lowest validation σ_MAD of its final model (metric
`best_val_sigma_mad`, else the last `val_sigma_mad`); a CNN with model.catalog_features is its own
model (`resnet+catalog`; its comparison-run metrics: `resnet_catalog/<metric>`, metric_key), and so is
each label budget (data.labels: `sequential (500 vvds)`), with the labelled train galaxies
(`n_labelled`) and the selection as columns.
The table reports that run's test-split metrics: a column per point metric registered with
`table=True` in photoz.predictions.metrics.METRICS (read from its MLflow metric `test_<name>`,
`logged_name`) and PIT KS, then what the run cost. photoz.compare adds to each row its bootstrap
intervals (photoz.comparison.intervals); with runs=seeds a row stands for the runs of a model
that differ only in their seed (photoz.comparison.seeds) and also shows their mean ± std.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from astropy.table import Table
from mlflow.entities import Experiment, Run
from mlflow.tracking import MlflowClient

from photoz.comparison.columns import DIFF_HEADERS, difference_cells, metric_cell, raw_statistics, runs_cell
from photoz.comparison.intervals import RowIntervals
from photoz.errors import PhotozError
from photoz.estimators.logged import row_label
from photoz.predictions.metrics import METRICS, logged_name

VAL_KEYS = (logged_name("best_val", "sigma_mad"), logged_name("val", "sigma_mad"))
# (column, MLflow metric, markdown/LaTeX header, format): the registered metrics, then the cost
COLUMNS = [(m.name, logged_name("test", m.name), m.header, m.format) for m in METRICS if m.table] + [
    ("pit_ks", "test_pit_ks", "PIT KS", "{:.3f}"),  # PDF calibration (photoz.predictions.pdf); n/a without a PDF
    ("n_labelled", "n_labelled", "labels", "{:,.0f}"),  # labelled train galaxies (photoz.data.labels)
    ("n_params", "n_trainable_params", "trainable params", "{:,.0f}"),
    ("flops", "flops_per_galaxy", "FLOPs/galaxy", "{:.3g}"),
    ("train_seconds", "train_seconds", "train s", "{:.1f}"),
    ("galaxies_per_s", "test_galaxies_per_s", "galaxies/s", "{:,.0f}"),
    ("val_sigma_mad", None, "val σ_MAD", "{:.4f}"),
]
LATEX_HEADERS = {**{m.header: m.latex for m in METRICS if m.table and m.latex}, "val σ_MAD": r"val $\sigma_\mathrm{MAD}$",
                 "Δσ_MAD vs best [95 %]": r"$\Delta\sigma_\mathrm{MAD}$ vs best [95 \%]"}


METRIC_COLUMNS = [m.name for m in METRICS if m.table] + ["pit_ks"]  # with intervals; the rest is labels, cost and val σ_MAD


@dataclass
class Best:
    """The best run of one model and the numbers of its table row."""

    model: str
    run_id: str
    values: dict[str, float]
    run_name: str = ""  # the run's name in MLflow (seq d4 lr2e-3, t3 d5 lr1.3e-3): which run stands for the model
    runs: int = 1  # runs=seeds: how many runs (seeds) the row stands for; `values` are its best run's
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)  # column -> (mean, std) over those runs
    members: int = 0  # an ensemble's member count (its tag ensemble_members; photoz.ensemble)
    stats: RowIntervals | None = None  # bootstrap intervals over the test galaxies (photoz.comparison.intervals)
    selection: str = "random"  # data.labels.selection of the run


def val_sigma(run: Run) -> float:
    m = run.data.metrics
    return next((m[k] for k in VAL_KEYS if k in m), math.nan)


def model_label(run: Run) -> str:
    """The run's row: its model config, `+catalog` with catalogue features (photoz.estimators.logged)."""
    return row_label(run.data.tags, run.data.params)


def selection_of(run: Run) -> str:
    """data.labels.selection of the run (random for runs older than label budgets)."""
    return run.data.params.get("data.labels.selection", "random")


def metric_key(label: str, metric: str) -> str:
    """The comparison run's MLflow metric for a row's `metric`: the row name with every character
    MLflow refuses in a key (anything but letters, digits, _ - . space /) as `_`, so the row
    `sequential+catalog` logs `sequential_catalog/sigma_mad`."""
    return re.sub(r"[^\w.\- /]", "_", label) + "/" + metric


def find_experiment(client: MlflowClient, name: str | None, parent_run: str | None, uri: str) -> Experiment:
    """The experiment to compare: by name, the parent run's, or the only one holding photoz runs."""
    if parent_run:
        try:
            return client.get_experiment(client.get_run(parent_run).info.experiment_id)
        except Exception:  # MLflow raises MlflowException with a store-specific message
            raise PhotozError(f"parent_run={parent_run}: no such run in {uri}; copy the id from the MLflow UI") from None
    experiments = client.search_experiments()
    if name is not None:
        for exp in experiments:
            if exp.name == name:
                return exp
        known = ", ".join(sorted(e.name for e in experiments)) or "none"
        raise PhotozError(f"unknown experiment {name!r} in {uri} (experiments: {known}); set tracking.experiment=<name>")
    used = [e for e in experiments if client.search_runs([e.experiment_id], "tags.model != ''", max_results=1)]
    if not used:
        raise PhotozError(f"no photoz runs in {uri}; train some first (python -m photoz.train model=...)")
    if len(used) > 1:
        names = ", ".join(sorted(e.name for e in used))
        raise PhotozError(f"{uri} holds runs of several experiments ({names}); choose one with tracking.experiment=<name>")
    return used[0]


def finished_runs(client: MlflowClient, experiment: Experiment, parent_run: str | None) -> list[Run]:
    """Every run photoz.train (or photoz.ensemble) finished in `experiment` (children of
    `parent_run` only, if given)."""
    query = "attributes.status = 'FINISHED' and tags.model != ''"
    if parent_run:
        query += f" and tags.mlflow.parentRunId = '{parent_run}'"
    runs, token = [], None
    while True:
        page = client.search_runs([experiment.experiment_id], query, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def row_of(run: Run) -> Best:
    """The table row of one run: its test metrics and cost, val σ_MAD, an ensemble's member count."""
    values = {col: run.data.metrics.get(metric, math.nan) for col, metric, *_ in COLUMNS if metric}
    values["val_sigma_mad"] = val_sigma(run)
    return Best(model_label(run), run.info.run_id, values, run.info.run_name or "", selection=selection_of(run),
                members=int(run.data.tags.get("ensemble_members", 0)))


def best_runs(client: MlflowClient, experiment: Experiment, parent_run: str | None, every: bool = False) -> list[Best]:
    """The best finished run per model (lowest val σ_MAD), or with `every` each finished run,
    sorted by val σ_MAD (so a model's first row is its best run)."""
    runs = finished_runs(client, experiment, parent_run)
    best: dict[str, Run] = {}
    for run in runs:
        model, score = model_label(run), val_sigma(run)
        key = run.info.run_id if every else model
        if not math.isnan(score) and (key not in best or score < val_sigma(best[key])):
            best[key] = run
    if not best:
        where = f"children of run {parent_run}" if parent_run else f"experiment {experiment.name!r}"
        raise PhotozError(f"no finished photoz runs with a validation σ_MAD among the {where}; train some first")
    return sorted((row_of(run) for run in best.values()), key=lambda b: b.values["val_sigma_mad"])


def first_per_model(rows: list[Best]) -> list[Best]:
    """Each model's first row (its best, as best_runs sorts by val σ_MAD), in the rows' order."""
    first: dict[str, Best] = {}
    for r in rows:
        first.setdefault(r.model, r)
    return list(first.values())


def _cell(value: float, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else fmt.format(value)


def _cells(r: Best, is_best: bool) -> list[str]:
    """One row's cells: model, runs, the metrics with their intervals (and mean ± std over seeds),
    the paired difference from the best row, the cost, val σ_MAD and the run id."""
    metrics = [metric_cell(r.values.get(c, math.nan), f, r.stats.values.get(c) if r.stats else None, r.spread.get(c))
               for c, _, _, f in COLUMNS if c in METRIC_COLUMNS]  # fmt: skip
    cost = [_cell(r.values.get(c, math.nan), f) for c, _, _, f in COLUMNS if c not in METRIC_COLUMNS]
    headers = {c: h for c, _, h, _ in COLUMNS}
    return [r.model, r.selection, runs_cell(r.runs, r.members), *metrics, *difference_cells(r.stats, is_best, headers), *cost, r.run_id]


def table_cells(rows: list[Best]) -> tuple[list[str], list[list[str]]]:
    """The table as people read it, headers and formatted cells (markdown and LaTeX tables, the
    comparison run's description and comparison.html): model, selection (data.labels), runs, the metrics,
    the paired differences, the cost, run id. The first row is the best (lowest val
    σ_MAD): the others' paired differences are from it."""
    metric_headers = [h for c, _, h, _ in COLUMNS if c in METRIC_COLUMNS]
    headers = ["model", "selection", "runs", *metric_headers, *DIFF_HEADERS, *(h for c, _, h, _ in COLUMNS if c not in METRIC_COLUMNS), "run id"]
    return headers, [_cells(r, i == 0) for i, r in enumerate(rows)]


def write_tables(rows: list[Best], out_dir: Path) -> dict[str, Path]:
    """comparison.md, .csv and .tex in out_dir; returns them by format."""
    headers, cells = table_cells(rows)
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(row) + " |" for row in cells]
    paths = {"md": out_dir / "comparison.md", "csv": out_dir / "comparison.csv", "tex": out_dir / "comparison.tex"}
    paths["md"].write_text("\n".join(md) + "\n")
    raw = [{"model": r.model, "selection": r.selection, "runs": r.runs, "members": r.members, **{c: r.values.get(c, math.nan) for c, *_ in COLUMNS},
            **raw_statistics(METRIC_COLUMNS, r.stats, r.spread), "run_id": r.run_id} for r in rows]  # fmt: skip
    Table(rows=[list(d.values()) for d in raw], names=list(raw[0])).write(paths["csv"], format="ascii.csv", overwrite=True)
    latex = [[c.replace("%", r"\%").replace("_", r"\_") for c in row] for row in cells]
    tex = Table(rows=latex, names=[LATEX_HEADERS.get(h, h) for h in headers])
    tex.write(paths["tex"], format="ascii.latex", overwrite=True)
    return paths
