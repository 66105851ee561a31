"""`python -m photoz.compare`: the model-comparison table and plots from MLflow.

    python -m photoz.compare [tracking.experiment=<name>] [parent_run=<sweep parent run id>] [runs=all]

Takes the best finished run per model by validation σ_MAD (runs=all: every finished run), prints the table of its test metrics
and cost (markdown; also written as CSV and LaTeX), draws side-by-side plots from each run's
logged test prediction table, writes comparison.html (table, figures, the command), and logs all
of it to a run named `comparison`, whose description is the table; it prints that run's link.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from photoz.config import TrackingConfig, as_schema, check_known_keys
from photoz.errors import PhotozError, exit_on_user_error, first_line
from photoz.tool_schemas import register_schemas

register_schemas()  # conf/compare.yaml composes against photoz/tool_schemas.py
WHICH = {"best": "best run per model", "all": "every finished run",
         "seeds": "one row per model over runs that differ only in seed (its best run's values and intervals; mean ± std)"}


def _prediction_tables(rows, artifact: str, tmp: Path) -> dict:
    """run id → its test prediction table; runs that logged none are skipped."""
    import mlflow
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
    from tqdm import tqdm

    tables = {}
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set(False)  # one bar over the runs below, not one per file
    for r in tqdm(rows, desc="reading test predictions", unit="run", leave=False):
        try:
            path = mlflow.artifacts.download_artifacts(run_id=r.run_id, artifact_path=artifact, dst_path=str(tmp / r.run_id))
        except Exception:  # missing artifact: MLflow raises store-specific errors
            print(f"photoz: note: run {r.run_id} ({r.model}) has no {artifact}; left out of the plots and intervals")
            continue
        table = _readable_table(path)
        if isinstance(table, str):
            print(f"photoz: note: run {r.run_id} ({r.model}): its {artifact} {table}; left out of the plots and intervals")
        else:
            tables[r.run_id] = table
    return tables


def _attach_intervals(rows, tables: dict) -> str:
    """Each row's bootstrap intervals over its test galaxies, and its paired difference from the
    first (best) row where both predicted the same galaxies (photoz.comparison.intervals); returns
    the line that says how they were made."""
    import time

    from photoz.comparison.intervals import LEVEL, N_RESAMPLES, SEED, GalaxySample, row_intervals

    samples = {r.run_id: GalaxySample.from_table(tables[r.run_id]) for r in rows if r.run_id in tables}
    if not samples:
        return "no run logged test predictions: no intervals"
    start = time.perf_counter()
    stats = row_intervals(samples, rows[0].run_id if rows[0].run_id in samples else None)
    for r in rows:
        r.stats = stats.get(r.run_id)
    n = len(next(iter(samples.values())).ids)
    return (f"[low, high]: {LEVEL:.0%} percentile bootstrap intervals over the {n:,} test galaxies ({N_RESAMPLES} "
            f"resamples, seed {SEED}; {time.perf_counter() - start:.1f} s); differences from the best (first) row are paired")


def _rows(cfg: DictConfig, client, experiment) -> list:
    """The table's rows: the best run per model, every run (runs=all) or one row per model over
    its seeds (runs=seeds, photoz.comparison.seeds)."""
    from photoz.comparison.seeds import seed_rows
    from photoz.comparison.table import best_runs

    if cfg.runs == "seeds":
        return seed_rows(client, experiment, cfg.parent_run)
    return best_runs(client, experiment, cfg.parent_run, every=cfg.runs == "all")


def _command() -> str:
    """The command line that made this comparison (Hydra's overrides as typed)."""
    if not HydraConfig.initialized():
        return "photoz.compare.compare(cfg), called from Python"
    return " ".join(["python -m photoz.compare", *(shlex.quote(o) for o in HydraConfig.get().overrides.task)])


def _figures(rows, tables: dict, out: Path) -> dict[str, Path]:
    """sigma_vs_cost.png and, from the best runs' test predictions (`tables`: model → table),
    zphot_vs_zspec.png and metrics_per_z.png."""
    import matplotlib.pyplot as plt

    from photoz.comparison.figures import metrics_per_z, sigma_vs_cost, zphot_panels

    figures = {"sigma_vs_cost": sigma_vs_cost(rows)}
    if tables:
        figures.update(zphot_vs_zspec=zphot_panels(tables), metrics_per_z=metrics_per_z(tables))
    paths = {}
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=120)
        plt.close(fig)
        paths[name] = out / f"{name}.png"
    return paths


def _log_run(tracker, experiment, rows, files: list[Path], command: str, every: bool) -> None:
    """The `comparison` run: the files as artifacts, the table as its description, each best run's
    values as metrics <model>/<column> (photoz.comparison.table.metric_key); then its link."""
    import mlflow

    from photoz.comparison.report import description
    from photoz.comparison.table import first_per_model, metric_key
    from photoz.tracking.links import browse_lines, run_url
    from photoz.tracking.record import set_description

    tracker.use_experiment(experiment.name)
    tags = {"photoz_kind": "comparison", "compared_runs": ",".join(r.run_id for r in rows)}
    with tracker.run("comparison", tags) as run_id:
        for f in files:
            mlflow.log_artifact(str(f), "comparison")
        set_description(description(rows, experiment.experiment_id, run_id, every, command))
        mlflow.log_metrics({metric_key(r.model, k): v for r in first_per_model(rows) for k, v in r.values.items() if v == v})
    print(f"photoz: logged to MLflow run comparison ({run_id}) in experiment {experiment.name!r}")
    for line in browse_lines(tracker.uri, [("the comparison", run_url(tracker.uri, experiment.experiment_id, run_id))]):
        print(f"  {line}")


def _readable_table(path: str):
    """The prediction table at `path` with finite z_spec and z_phot columns, or why not (a phrase)."""
    import numpy as np
    from astropy.table import Table

    try:
        table = Table.read(path)
    except Exception as err:  # astropy raises many types for a file that is not a table
        return f"is not a readable table ({first_line(err, 120)})"
    missing = [c for c in ("z_spec", "z_phot") if c not in table.colnames]
    if missing:
        return f"has no column {', '.join(missing)}"
    try:
        z = np.asarray(table["z_spec"], float), np.asarray(table["z_phot"], float)
    except (TypeError, ValueError):
        return "has non-numeric z_spec or z_phot"
    return table if len(table) and all(np.isfinite(c).any() for c in z) else "holds no finite redshifts"


def compare(cfg: DictConfig) -> Path:
    """Build, print, save and log the comparison; returns the output folder."""
    check_known_keys(cfg)  # a key forced in with + is refused, as photoz.train does
    from photoz.comparison.report import write_report
    from photoz.comparison.table import find_experiment, first_per_model, write_tables
    from photoz.tracking.tracker import Tracker, read_only_uri

    tracking = as_schema(TrackingConfig, cfg.tracking)
    uri, exists = read_only_uri(tracking.uri)  # a store that is not there is not created
    if not exists:
        raise PhotozError(f"no MLflow store at {uri}; train first (python -m photoz.train) or set tracking.uri")
    tracker = Tracker(tracking, parent_run_id=cfg.parent_run)  # the comparison run: a child of parent_run
    experiment = find_experiment(tracker.client, tracking.experiment, cfg.parent_run, uri)
    every = cfg.runs == "all"
    rows = _rows(cfg, tracker.client, experiment)
    best = first_per_model(rows)  # runs=all: each model's best run for the per-model plots and metrics
    out = Path(hydra.utils.to_absolute_path(cfg.output)) if cfg.output else Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        by_run = _prediction_tables(rows, cfg.predictions_artifact, Path(tmp))
    how = _attach_intervals(rows, by_run)
    files = list(write_tables(rows, out).values())
    print(f"Experiment {experiment.name!r}: {WHICH[str(cfg.runs)]} by val σ_MAD; test-split metrics\n")
    print(files[0].read_text())
    print(how + "\n")
    figures = _figures(rows, {r.model: by_run[r.run_id] for r in best if r.run_id in by_run}, out)
    command, title = _command(), f"photoz comparison: experiment {experiment.name}, {WHICH[str(cfg.runs)]}"
    files += [*figures.values(), write_report(rows, figures, command, title, every, out)]
    print(f"tables, plots and {files[-1].name} in {out}")
    if cfg.log_run:
        _log_run(tracker, experiment, rows, files, command, every)
    return out


@hydra.main(config_path="../conf", config_name="compare", version_base="1.3")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(compare)(cfg)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main)
