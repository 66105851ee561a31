"""Benchmark: every estimator at its defaults on the default set, written as the README's Results.

    python benchmarks/default_study.py                                   # all models, empirical (v8, the default)
    python benchmarks/default_study.py --sed-models empirical,cosmos --models template_fit,random_forest,sequential
    python benchmarks/default_study.py -- trainer.max_epochs=4           # extra photoz.train overrides

For each `data.sed_model` and model it runs `python -m photoz.train model=<m> data.sed_model=<s>`
(one process each, into its own MLflow store under --workdir), then reads each run's metrics and
test prediction table back from MLflow and writes `<workdir>/results.md`: per SED model one table
(σ_MAD, bias of z* and of the PDF mean ± standard error, η, RAIL σ_IQR and outlier rate, PIT KS,
trainable parameters, train time) and one per i-magnitude bin (σ_MAD, bias, η of z_phot). It prints
the tables and the load average it ran under. Not a test; the full run takes hours on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table, join

ROOT = Path(__file__).resolve().parents[1]
MODELS = "template_fit,random_forest,knn,rail_flexzboost,sequential,googlenet"
MAG_BINS = (17.0, 22.0, 23.0, 24.0, 24.5, 25.3)


def train(model: str, sed: str, work: Path, overrides: list[str]) -> float:
    """One photoz.train run; returns its wall time (s), simulation of a new set included."""
    cmd = [sys.executable, "-m", "photoz.train", f"model={model}", f"data.sed_model={sed}", "trainer.progress=false",
           f"tracking.uri=sqlite:///{work / 'mlflow.db'}", f"tracking.artifact_root={work / 'artifacts'}",
           f"tracking.experiment=default_study-{sed}", f"hydra.run.dir={work / 'runs' / f'{sed}-{model}'}", *overrides]
    print("$", " ".join(cmd), f"(load {os.getloadavg()[0]:.1f})", flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - start


def latest_runs(uri: str, experiment: str) -> dict:
    """model name -> its latest FINISHED run in `experiment` of the store at `uri`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'", order_by=["attributes.start_time DESC"])
    out: dict = {}
    for run in runs:
        out.setdefault(run.data.tags["model"], run)
    return out


def test_table(run, tmp: Path) -> Table:
    """The run's test predictions joined with the data set's true i magnitude."""
    import mlflow

    from run_dataset import run_catalog

    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="predictions/test_predictions.fits",
                                               dst_path=str(tmp / run.info.run_id))
    cat = run_catalog(run)
    return join(Table.read(path), cat["id", "true_mag_i"], keys="id")


def summary_rows(runs: dict) -> list[str]:
    m = lambda r, k: r.data.metrics.get(k, float("nan"))  # noqa: E731
    rows = ["| model | σ_MAD | bias z* ± SE | bias mean ± SE | η | σ_IQR | RAIL outliers | PIT KS | params | train s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        rows.append(
            f"| {name} | {m(r, 'test_sigma_mad'):.4f} | {m(r, 'test_bias_of_zstar'):+.4f} ± {m(r, 'test_bias_err_of_zstar'):.4f} | "
            f"{m(r, 'test_bias_of_mean'):+.4f} ± {m(r, 'test_bias_err_of_mean'):.4f} | {100 * m(r, 'test_eta'):.1f} % | "
            f"{m(r, 'test_sigma_iqr'):.4f} | {100 * m(r, 'test_outlier_rate'):.1f} % | {m(r, 'test_pit_ks'):.3f} | "
            f"{int(m(r, 'n_trainable_params')):,} | {m(r, 'train_seconds'):.0f} |"
        )
    return rows


def magnitude_rows(runs: dict, tmp: Path) -> list[str]:
    from photoz.predictions.metrics import point_metrics

    bins = [f"{lo:g}–{hi:g}" for lo, hi in zip(MAG_BINS[:-1], MAG_BINS[1:])]
    rows = ["| model | " + " | ".join(f"i {b}" for b in bins) + " |", "|---" * (len(bins) + 1) + "|"]
    for name, r in runs.items():
        t = test_table(r, tmp)
        mag = np.asarray(t["true_mag_i"], float)
        cells = []
        for lo, hi in zip(MAG_BINS[:-1], MAG_BINS[1:]):
            sel = (mag >= lo) & (mag < hi)
            pm = point_metrics(np.asarray(t["z_phot"])[sel], np.asarray(t["z_spec"])[sel])
            cells.append(f"{pm['sigma_mad']:.3f} / {100 * pm['eta']:.0f} % / {pm['bias']:+.3f} (N={sel.sum()})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--sed-models", default="empirical")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "default_study"))
    parser.add_argument("--report-only", action="store_true", help="only read runs already made")
    parser.add_argument("--store", default=None, help="with --report-only: an MLflow URI other than <workdir>/mlflow.db")
    parser.add_argument("--experiments", default=None,
                        help="with --report-only: sed=experiment,... other than default_study-<sed>")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for photoz.train (after --)")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    import mlflow

    uri = args.store or f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiments = dict(kv.split("=") for kv in args.experiments.split(",")) if args.experiments else {}
    lines = [f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"]
    for sed in args.sed_models.split(","):
        if not args.report_only:
            for model in args.models.split(","):
                wall = train(model, sed, work, args.overrides)
                lines.append(f"{sed} {model}: {wall:.0f} s wall (load {os.getloadavg()[0]:.1f} after)")
        runs = latest_runs(uri, experiments.get(sed, f"default_study-{sed}"))
        with tempfile.TemporaryDirectory() as tmp:
            lines += ["", f"### data.sed_model={sed}: test split", "", *summary_rows(runs), "",
                      f"### data.sed_model={sed}: σ_MAD / η / bias of z_phot per true i-magnitude bin", "",
                      *magnitude_rows(runs, Path(tmp))]
    text = "\n".join(lines) + "\n"
    (work / "results.md").write_text(text)
    print(text)
    print(f"written to {work / 'results.md'}")


if __name__ == "__main__":
    main()
