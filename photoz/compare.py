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


def _prediction_tables(rows, artifact: str, tmp: Path) -> dict:
    """model → its run's test prediction table (one row per model); models whose run logged none
    are skipped."""
    import mlflow
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
    from tqdm import tqdm

    tables = {}
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set(False)  # one bar over the runs below, not one per file
    for r in tqdm(rows, desc="reading test predictions", unit="run", leave=False):
        try:
            path = mlflow.artifacts.download_artifacts(run_id=r.run_id, artifact_path=artifact, dst_path=str(tmp / r.run_id))
        except Exception:  # missing artifact: MLflow raises store-specific errors
            print(f"photoz: note: run {r.run_id} ({r.model}) has no {artifact}; left out of the plots")
            continue
        table = _readable_table(path)
        if isinstance(table, str):
            print(f"photoz: note: run {r.run_id} ({r.model}): its {artifact} {table}; left out of the plots")
        else:
            tables[r.model] = table
    return tables


def _command() -> str:
    """The command line that made this comparison (Hydra's overrides as typed)."""
    if not HydraConfig.initialized():
        return "photoz.compare.compare(cfg), called from Python"
    return " ".join(["python -m photoz.compare", *(shlex.quote(o) for o in HydraConfig.get().overrides.task)])


def _figures(rows, best, cfg: DictConfig, out: Path) -> dict[str, Path]:
    """sigma_vs_cost.png and, from the best runs' test predictions, zphot_vs_zspec.png and metrics_per_z.png."""
    import matplotlib.pyplot as plt

    from photoz.comparison.figures import metrics_per_z, sigma_vs_cost, zphot_panels

    with tempfile.TemporaryDirectory() as tmp:
        tables = _prediction_tables(best, cfg.predictions_artifact, Path(tmp))
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
    from photoz.comparison.table import best_runs, find_experiment, first_per_model, write_tables
    from photoz.tracking.tracker import Tracker, read_only_uri

    tracking = as_schema(TrackingConfig, cfg.tracking)
    uri, exists = read_only_uri(tracking.uri)  # a store that is not there is not created
    if not exists:
        raise PhotozError(f"no MLflow store at {uri}; train first (python -m photoz.train) or set tracking.uri")
    tracker = Tracker(tracking, parent_run_id=cfg.parent_run)  # the comparison run: a child of parent_run
    experiment = find_experiment(tracker.client, tracking.experiment, cfg.parent_run, uri)
    every = cfg.runs == "all"
    rows = best_runs(tracker.client, experiment, cfg.parent_run, every=every)
    best = first_per_model(rows)  # runs=all: each model's best run for the per-model plots and metrics
    out = Path(hydra.utils.to_absolute_path(cfg.output)) if cfg.output else Path(HydraConfig.get().runtime.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = list(write_tables(rows, out).values())
    which = "every finished run" if every else "best run per model"
    print(f"Experiment {experiment.name!r}: {which} by val σ_MAD; test-split metrics\n")
    print(files[0].read_text())
    figures, command = _figures(rows, best, cfg, out), _command()
    title = f"photoz comparison: experiment {experiment.name}, {which}"
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
