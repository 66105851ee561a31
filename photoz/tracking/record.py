"""What a photoz run records in its MLflow run: params and the config, metrics, the prediction
tables and plots, its description, and the name its model is logged under.

Called inside `Tracker.run` (photoz.tracking.tracker), on the active MLflow run; mlflow is imported where
it is used.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from photoz.config import PhotozConfig
from photoz.predictions.metrics import logged_name, percent_copies
from photoz.predictions.table import Predictions
from photoz.tracking.notes import NOTE_TAG
from photoz.tracking.tracker import MAX_PARAM_CHARS

NOT_PARAMS = ("tracking", "trial")  # recorded as tags or not at all


def git_commit() -> str:
    """The photoz checkout's commit (with '-dirty' if it has local changes), or 'unknown'."""
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "-uno"], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if commit.returncode != 0:
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def flat_params(cfg: PhotozConfig, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The resolved config as dotted keys (model.depth, optimizer.lr, ...) for mlflow.log_params,
    without the top-level sections in NOT_PARAMS and `skip`."""
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            out[prefix[:-1]] = str(node)[:MAX_PARAM_CHARS]

    container = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)
    walk({k: v for k, v in container.items() if k not in NOT_PARAMS + skip}, "")
    return out


def model_name(run_name: str) -> str:
    """The run's name as a logged-model name, which a runs:/<id>/<name> URI can carry: spaces become
    '-' and what MLflow refuses (/ : . % " ') '_': t3 d4 lr2.7e-3 -> t3-d4-lr2_7e-3."""
    return re.sub(r"[/:.%\"']", "_", "-".join(run_name.split()))


def set_description(markdown: str) -> None:
    """The active run's description (MLflow's tag mlflow.note.content)."""
    import mlflow

    mlflow.set_tag(NOTE_TAG, markdown)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Log metrics to the active run (at `step`, e.g. the epoch)."""
    import mlflow

    mlflow.log_metrics(metrics, step=step)


def logged_steps(run_id: str, key: str) -> set[int]:
    """The steps (epochs) at which run `run_id` of the active store has logged metric `key`."""
    import mlflow

    return {m.step for m in mlflow.MlflowClient().get_metric_history(run_id, key)}


def log_config(cfg: PhotozConfig, skip: tuple[str, ...] = ()) -> None:
    """Flattened params (less `skip` sections) and the resolved YAML (config.yaml) of the whole
    config the run ran with, to the active run."""
    import mlflow

    mlflow.log_params(flat_params(cfg, skip))
    mlflow.log_text(OmegaConf.to_yaml(OmegaConf.structured(cfg), resolve=True), "config.yaml")


def log_predictions(pred: Predictions, split: str) -> None:
    """`split` metrics (prefixed), the prediction table (FITS and CSV, and qp HDF5 where qp is
    installed; with a PDF it carries each galaxy's PIT value) and the plots of the active run."""
    import matplotlib.pyplot as plt
    import mlflow

    from photoz.predictions.plots import prediction_figures
    from photoz.predictions.qpio import qp_available, write_qp

    metrics = {logged_name(split, k): v for k, v in pred.metrics().items()}  # test_sigma_mad, ...
    mlflow.log_metrics({**metrics, **percent_copies(metrics)})  # ... and test_eta_pct, test_outlier_rate_pct
    table = pred.to_table()
    if pred.pdf is not None:  # bias of every point estimate, the PDF-predicted biases, PIT KS
        from photoz.predictions.pdf import pdf_metrics, pit

        pdf = pred.pdf.astype(float)
        mlflow.log_metrics({logged_name(split, k): v for k, v in pdf_metrics(pdf, pred.z_grid, pred.z_spec).items()})
        table["pit"] = pit(pdf, pred.z_grid, pred.z_spec)  # per galaxy: photoz.compare's PIT KS intervals
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("fits", "csv"):  # CSV beside FITS: MLflow's artifact viewer previews CSV
            path = Path(tmp) / f"{split}_predictions.{fmt}"
            table.write(path, format=fmt if fmt == "fits" else "ascii.csv")
            mlflow.log_artifact(str(path), "predictions")
        if qp_available():  # the [rail] extra: the same predictions as a qp.Ensemble (docs/rail.md)
            mlflow.log_artifact(str(write_qp(pred, Path(tmp) / f"{split}_predictions.hdf5")), "predictions")
    for name, fig in prediction_figures(pred, title=split).items():
        mlflow.log_figure(fig, f"plots/{split}_{name}.png")
        plt.close(fig)
