"""The data set a finished run read, found again for a report (benchmarks/default_study.py and
benchmarks/labels_study.py join each run's test predictions with its catalogue's true i;
bias_diagnostics.py and int8_accuracy.py predict on its images)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astropy.table import Table
    from mlflow.entities import Run

    from photoz.data import Dataset


def run_dataset(run: Run, validate: bool = True) -> Dataset:
    """The data set `run` (an MLflow run) read: the folder its `data` tag names or, when that folder
    is gone (the worktree or machine it ran in), the data set of the same name under ./data (the
    name carries the data set's hash). Neither: one line and a non-zero exit."""
    from photoz.data import read_dataset

    tagged = Path(run.data.tags["data"])
    found = [p for p in (tagged, Path("data") / tagged.name) if p.is_dir()]
    if not found:
        raise SystemExit(f"run {run.info.run_id} read the data set {tagged}, which is gone, and there is no "
                         f"data/{tagged.name} here: run from the folder whose data/ holds it, or rebuild it with python -m photoz.simulate")
    return read_dataset(str(found[0]), validate=validate)


def run_catalog(run: Run) -> Table:
    """The catalogue of the data set `run` read (run_dataset's, unvalidated: a report reads columns)."""
    return run_dataset(run, validate=False).catalog
