"""MLflow tracking of a photoz run: store, experiment, run lifecycle and what a run logs.

Local default: a SQLite store at tracking.uri (relative paths taken from where the command runs)
with every experiment's artifacts under tracking.artifact_root/<experiment> (an explicit artifact
location, else MLflow drops them in ./mlruns of whatever folder the process runs in). One
experiment per data set. A run that raises ends FAILED with the error as tag `error`; a pruned
Optuna trial ends KILLED with tag trial_state=PRUNED; Ctrl-C ends KILLED (resumable).

mlflow is imported where it is used, so the path checks here fail fast without loading it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from photoz.errors import ConfigError
from photoz.estimators.base import Predictions

if TYPE_CHECKING:
    from mlflow.entities import Run

MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value
NOT_PARAMS = ("tracking", "trial")  # recorded as tags or not at all


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def resolve_uri(uri: str) -> str:
    """tracking.uri with a relative SQLite path made absolute and its folder created."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri[len(prefix) :] in ("", ":memory:"):
        return uri
    path = Path(to_absolute_path(uri[len(prefix) :]))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"tracking.uri={uri}: cannot create {path.parent} ({err.strerror or _first_line(err)}); "
            "point tracking.uri at a writable place, e.g. tracking.uri=sqlite:///mlruns/mlflow.db"
        ) from None
    return prefix + str(path)


def artifact_location(root: str, experiment: str) -> str:
    """Absolute artifact location of a new experiment: <artifact_root>/<experiment>."""
    if "://" in root:
        return f"{root.rstrip('/')}/{experiment}"
    path = Path(to_absolute_path(root)) / experiment
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"tracking.artifact_root={root}: cannot create {path} ({err.strerror or _first_line(err)}); "
            "set tracking.artifact_root to a writable folder"
        ) from None
    return path.as_uri()


def experiment_name(cfg: DictConfig, data_dir: str | Path) -> str:
    """tracking.experiment, else the data set's directory name (one experiment per data set)."""
    return cfg.tracking.experiment or Path(data_dir).name


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


def flat_params(cfg: DictConfig, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The resolved config as dotted keys (model.depth, optimizer.lr, ...) for mlflow.log_params,
    without the top-level sections in NOT_PARAMS and `skip`."""
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            out[prefix[:-1]] = str(node)[:MAX_PARAM_CHARS]

    container = OmegaConf.to_container(cfg, resolve=True)
    walk({k: v for k, v in container.items() if k not in NOT_PARAMS + skip}, "")
    return out


class Tracker:
    """An opened MLflow store; checks it is writable before any expensive work starts."""

    def __init__(self, cfg: DictConfig) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.cfg = cfg
        self.uri = resolve_uri(cfg.tracking.uri)
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)
        try:
            self.client.search_experiments(max_results=1)  # creates / migrates the store
        except Exception as err:  # SQLAlchemy, HTTP and MLflow each raise their own kind
            raise ConfigError(
                f"tracking.uri={cfg.tracking.uri}: cannot open the MLflow store ({_first_line(err)}); "
                "point tracking.uri at a writable place or a reachable server"
            ) from None
        self.experiment_id: str | None = None
        self.experiment_name: str | None = None

    def use_experiment(self, name: str) -> str:
        """Get or create experiment `name` (with an explicit artifact location); returns its id."""
        self.experiment_name = name
        found = self.client.get_experiment_by_name(name)
        if found is not None and found.lifecycle_stage == "deleted":
            raise ConfigError(
                f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) "
                "or choose another name with tracking.experiment=..."
            )
        if found is None:
            location = artifact_location(self.cfg.tracking.artifact_root, name)
            self.experiment_id = self.client.create_experiment(name, artifact_location=location)
        else:
            self.experiment_id = found.experiment_id
        return self.experiment_id

    def find_unfinished(self, config_hash: str) -> Run | None:
        """The latest run of this config that did not finish and was not pruned (for resume)."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.config_hash = '{config_hash}' and attributes.status != 'FINISHED'",
            order_by=["attributes.start_time DESC"],
        )
        runs = [r for r in runs if r.data.tags.get("trial_state") != "PRUNED"]
        return runs[0] if runs else None

    @contextmanager
    def run(self, run_name: str, tags: dict[str, str], run_id: str | None = None) -> Iterator[str]:
        """Start (or, with run_id, reopen) a run; end it FINISHED, FAILED or KILLED by outcome."""
        import mlflow

        parent = self.cfg.trial.parent_run_id if run_id is None else None
        mlflow.set_experiment(experiment_id=self.experiment_id)  # reopening a run checks the active experiment
        active = mlflow.start_run(
            run_id=run_id,
            experiment_id=self.experiment_id,
            run_name=None if run_id else run_name,
            parent_run_id=parent,
            tags=tags,
        )
        try:
            yield active.info.run_id
        except BaseException as err:
            status, extra = _outcome(err)
            mlflow.set_tags(extra)
            mlflow.end_run(status)
            raise
        mlflow.end_run("FINISHED")


def _outcome(err: BaseException) -> tuple[str, dict[str, str]]:
    if type(err).__name__ == "TrialPruned":
        return "KILLED", {"trial_state": "PRUNED"}
    if isinstance(err, KeyboardInterrupt):
        return "KILLED", {"error": "interrupted (KeyboardInterrupt); continue with trainer.resume=true"}
    return "FAILED", {"error": f"{type(err).__name__}: {err}"[:MAX_PARAM_CHARS]}


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Log metrics to the active run (at `step`, e.g. the epoch)."""
    import mlflow

    mlflow.log_metrics(metrics, step=step)


def log_config(cfg: DictConfig, skip: tuple[str, ...] = ()) -> None:
    """Flattened params (less `skip` sections) and the resolved YAML (config.yaml) of the active run."""
    import mlflow

    mlflow.log_params(flat_params(cfg, skip))
    mlflow.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")


def log_predictions(pred: Predictions, split: str) -> None:
    """`split` metrics (prefixed), the prediction table (FITS) and the plots of the active run."""
    import matplotlib.pyplot as plt
    import mlflow

    from photoz.plots import prediction_figures

    mlflow.log_metrics(pred.metrics(f"{split}_"))
    if pred.pdf is not None:  # bias of every point estimate, the PDF-predicted biases, PIT KS
        from photoz.estimators.point import pdf_metrics

        pdf = pred.pdf.astype(float)
        mlflow.log_metrics({f"{split}_{k}": v for k, v in pdf_metrics(pdf, pred.z_grid, pred.z_spec).items()})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{split}_predictions.fits"
        pred.to_table().write(path, format="fits")
        mlflow.log_artifact(str(path), "predictions")
    for name, fig in prediction_figures(pred, title=split).items():
        mlflow.log_figure(fig, f"plots/{split}_{name}.png")
        plt.close(fig)
