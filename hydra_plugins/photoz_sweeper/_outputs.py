"""What a study leaves in sweeps/<study_name>/: best.yaml and the Optuna matplotlib plots."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState

from photoz.job.sweep import RUN_ID_ATTR

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def summary(study: optuna.Study, storage: str, metric: str) -> dict[str, Any]:
    """Counts by state and the best trial (value of `metric`, params, the overrides that rerun it, MLflow run)."""
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    out: dict[str, Any] = {
        "study_name": study.study_name,
        "storage": storage,
        "direction": study.direction.name.lower(),
        "metric": metric,
        "n_complete": count[TrialState.COMPLETE],
        "n_pruned": count[TrialState.PRUNED],
        "n_failed": count[TrialState.FAIL],
        "best_trial": None,
        "best_value": None,
        "best_params": {},
        "best_overrides": [],
        "best_run_id": None,
    }
    if count[TrialState.COMPLETE]:
        best = study.best_trial
        out.update(
            best_trial=best.number,
            best_value=float(best.value),
            best_params=dict(best.params),
            best_overrides=[f"{key}={value}" for key, value in best.params.items()],
            best_run_id=best.user_attrs.get(RUN_ID_ATTR),
        )
    return out


def write_best(path: Path, info: dict[str, Any]) -> Path:
    """best.yaml, replaced atomically (several workers may write it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    OmegaConf.save(OmegaConf.create(info), tmp)
    os.replace(tmp, path)
    return path


def study_figures(study: optuna.Study, metric: str) -> dict[str, Figure]:
    """Optimization history, parameter importances and intermediate values, their value axes named
    `metric` (what the trials return); a plot the study cannot make yet (too few finished trials)
    is left out with a log line."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    from optuna.visualization import matplotlib as vis

    importances = optuna.importance.FanovaImportanceEvaluator(seed=0)  # the same plot every time
    plots = {
        "optimization_history": lambda s: vis.plot_optimization_history(s, target_name=metric),
        "param_importances": lambda s: vis.plot_param_importances(s, evaluator=importances),  # names it from the study
        "intermediate_values": vis.plot_intermediate_values,
    }
    figures = {}
    for name, plot in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning on every matplotlib plot
                axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            log.info("plot %s skipped: %s", name, err)
            continue
        ax = axes if hasattr(axes, "figure") else axes.flat[0]
        if name == "intermediate_values":
            ax.set_ylabel(f"{metric} per epoch")
        figures[name] = ax.figure
    return figures


def write_plots(study: optuna.Study, folder: Path, metric: str) -> list[Path]:
    """study_figures as PNG files in `folder`."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in study_figures(study, metric).items():
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
