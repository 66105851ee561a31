"""What `python -m photoz.train` prints when it ends: where everything it made is, and how to see it.

    photoz: finished run seq d4 lr2e-3 (3f2a...) in MLflow experiment lsst_sim-1a2b3c4d5e
      test (14000 galaxies): σ_MAD 0.0336  bias -0.0024 ± 0.0008  η 24.4 %  RAIL outliers 8.10 %
      data set:    /home/me/photoz/data/lsst_sim-1a2b3c4d5e
      checkpoints: /home/me/photoz/outputs/2026-12-02/06-14-07/checkpoints
      browse:      serve the UI: mlflow ui --backend-store-uri sqlite:////home/me/photoz/mlruns/mlflow.db
                   runs table: http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning&viewStateShareKey=photoz
                   this run: http://127.0.0.1:5000/#/experiments/1/runs/3f2a...?workflowType=machine_learning
      predict:     python -m photoz.predict run=3f2a... tracking.uri=sqlite:////home/me/photoz/mlruns/mlflow.db
                   (its own data set; input=<dir> for another)

η and the outlier rate are printed in percent, as everywhere in photoz. The links open MLflow's
machine-learning view (photoz.tracking.links).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from photoz.tracking.links import browse_lines, run_url, runs_table_url
from photoz.tracking.notes import markdown_table


def format_test_metrics(metrics: dict[str, float]) -> str:
    """σ_MAD, bias ± its error, η and the RAIL outlier rate, η and outliers in percent."""
    bias_err = f" ± {metrics['bias_err']:.4f}" if "bias_err" in metrics else ""
    return (
        f"σ_MAD {metrics['sigma_mad']:.4f}  bias {metrics['bias']:+.4f}{bias_err}  "
        f"η {100 * metrics['eta']:.1f} %  RAIL outliers {100 * metrics['outlier_rate']:.2f} %"
    )


def run_description(test_metrics: dict[str, float], n_trainable_params: int) -> str:
    """Markdown for the run's description (tag mlflow.note.content, shown atop the run's page): the
    curated test metrics as a table (η and outliers in percent), then the MLflow metrics they are."""
    bias_err = f" ± {test_metrics['bias_err']:.4f}" if "bias_err" in test_metrics else ""
    headers = ["test σ_MAD", "bias", "η", "RAIL outliers", "trainable params"]
    row = [
        f"{test_metrics['sigma_mad']:.4f}", f"{test_metrics['bias']:+.4f}{bias_err}", f"{100 * test_metrics['eta']:.1f} %",
        f"{100 * test_metrics['outlier_rate']:.2f} %", f"{n_trainable_params:,}",
    ]  # fmt: skip
    keys = "test_sigma_mad, test_bias ± test_bias_err, test_eta_pct, test_outlier_rate_pct, n_trainable_params"
    return markdown_table(headers, [row]) + f"\nMLflow metrics: {keys} (test_eta and test_outlier_rate: the fractions).\n"


@dataclass(frozen=True)
class RunPlace:
    """Where a run is: its name and id, its experiment's name and id, and the store's URI."""

    run_name: str
    run_id: str
    experiment: str
    experiment_id: str
    tracking_uri: str


def run_summary(
    place: RunPlace, test_metrics: dict[str, float], n_test: int, data_dir: str, checkpoint_dir: str | None
) -> str:
    """The end-of-run summary (see the module docstring); checkpoint_dir None: an estimator that
    keeps no checkpoints."""
    run_id, tracking_uri = place.run_id, place.tracking_uri
    lines = [
        f"photoz: finished run {place.run_name} ({run_id}) in MLflow experiment {place.experiment}",
        f"  test ({n_test} galaxies): {format_test_metrics(test_metrics)}",
        f"  data set:    {data_dir}",
    ]
    if checkpoint_dir:
        lines.append(f"  checkpoints: {checkpoint_dir}")
    links = [("runs table", runs_table_url(tracking_uri, place.experiment_id)),
             ("this run", run_url(tracking_uri, place.experiment_id, run_id))]  # fmt: skip
    browse = browse_lines(tracking_uri, links)
    lines += [f"  browse:      {browse[0]}", *(f"               {line}" for line in browse[1:])]
    store = shlex.quote(f"tracking.uri={tracking_uri}")
    lines.append(f"  predict:     python -m photoz.predict run={run_id} {store}  (its own data set; input=<dir> for another)")
    return "\n".join(lines)
