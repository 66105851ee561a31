"""The members of an ensemble: found in MLflow and checked before any run starts, and written to
and read from the ensemble's model file (plain JSON: what each member is and where its model is).

A member is a finished photoz run with a logged model and logged test predictions, trained on the
very data set the ensemble is made on (tag data_checksum, else the data set's path): then every
member predicts the same test galaxies from the same bands. Each refusal is one line naming the
run and what to do.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from photoz.data.format import Dataset
from photoz.errors import ConfigError, DataError, PhotozError
from photoz.estimators.logged import row_label, run_model_uri
from photoz.estimators.schema import EnsembleSchema
from photoz.registry import REGISTRY

FORMAT = "photoz_ensemble"  # the model file's "format" and the MLmodel flavour
VERSION = 1
FILE = "ensemble.json"
TEST_PREDICTIONS = "predictions/test_predictions.fits"  # logged by photoz.tracking.record for every run


@dataclass(frozen=True)
class Member:
    """One member: its run, estimator (the class that loads it), comparison row, model and weight."""

    run_id: str
    model: str  # the estimator name (tag model): photoz.estimators.build.estimator_class(model).load(model_uri)
    label: str  # its comparison row (photoz.estimators.logged.row_label)
    model_uri: str
    weight: float
    n_trainable_params: float
    train_seconds: float
    flops_per_galaxy: float


def check_runs(cfg: EnsembleSchema) -> None:
    """ConfigError for a member list or weights an ensemble cannot be made of."""
    runs = list(cfg.runs)
    if not runs:
        raise ConfigError("no member runs; give them: python -m photoz.ensemble runs=[<run id>,<run id>]")
    if len(runs) == 1 and cfg.calibration == "none":
        raise ConfigError(f"an ensemble needs at least two member runs (got only {runs[0]}); to recalibrate one "
                          "run, add model.calibration=pit")  # fmt: skip
    twice = [r for r, n in Counter(runs).items() if n > 1]
    if twice:
        raise ConfigError(f"run {twice[0]} is a member twice; list each run once (model.weights= weighs them)")
    if cfg.weights and (len(cfg.weights) != len(runs) or min(cfg.weights) <= 0):
        raise ConfigError(f"model.weights={list(cfg.weights)}: give one positive weight per member run ({len(runs)})")


def find_member(client: Any, run_id: str, weight: float, data: Dataset) -> Member:
    """The member run `run_id` of the store `client` reads, checked against the data set `data`."""
    try:
        run = client.get_run(run_id)
    except Exception:  # MLflow raises store-specific errors for an unknown id
        raise PhotozError(f"run {run_id}: no such run in the MLflow store; copy member ids from the MLflow UI "
                          "or the run id column of python -m photoz.compare") from None  # fmt: skip
    tags, metrics = run.data.tags, run.data.metrics
    if tags.get("model") not in REGISTRY or run.info.status != "FINISHED":
        raise PhotozError(f"run {run_id} is not a finished photoz training run (status {run.info.status}, tag model "
                          f"{tags.get('model')!r}); members must be runs photoz.train or photoz.ensemble finished")  # fmt: skip
    if TEST_PREDICTIONS not in {f.path for f in client.list_artifacts(run_id, "predictions")}:
        raise PhotozError(f"run {run_id} has no test predictions ({TEST_PREDICTIONS}); members must be runs that "
                          "finished training and predicting their test split")  # fmt: skip
    if "test_pit_ks" not in metrics:  # logged with every test prediction that has a PDF
        raise PhotozError(f"run {run_id} ({tags.get('model_config', tags['model'])}) predicts no PDF (a regression "
                          "head?); ensembles average PDFs: leave it out")  # fmt: skip
    ours, theirs = str(data.meta.get("checksum", "")), tags.get("data_checksum", "")
    same = ours == theirs if ours and theirs else str(Path(tags.get("data", "")).resolve()) == str(Path(data.path).resolve())
    if not same:
        raise DataError(f"run {run_id} was trained on {tags.get('data')} (checksum {theirs or 'unknown'}), not on "
                        f"{data.path} (checksum {ours or 'unknown'}): ensemble members must share the data set, "
                        "its bands and its test galaxies")  # fmt: skip
    nan = float("nan")
    return Member(run_id, tags["model"], row_label(tags, run.data.params), run_model_uri(client, run_id), weight,
                  metrics.get("n_trainable_params", nan), metrics.get("train_seconds", nan),
                  metrics.get("flops_per_galaxy", nan))  # fmt: skip


def find_members(store: str, cfg: EnsembleSchema, data: Dataset) -> list[Member]:
    """Every member of cfg.runs in the MLflow store at `store`, checked (check_runs, find_member)."""
    from mlflow.tracking import MlflowClient

    check_runs(cfg)
    weights = list(cfg.weights) or [1.0] * len(cfg.runs)
    client = MlflowClient(store)
    return [find_member(client, run_id, float(w), data) for run_id, w in zip(cfg.runs, weights)]


def member_names(members: list[Member], short: dict[str, str] | None = None) -> list[str]:
    """The members' rows, each once, counted: [knn, sequential], [5xsequential]; `short` renames rows."""
    counts = Counter((short or {}).get(m.label, m.label) for m in members)
    return [name if n == 1 else f"{n}x{name}" for name, n in sorted(counts.items())]


def label(members: list[Member], calibrated: bool) -> str:
    """The ensemble's comparison row: ensemble-5xsequential, ensemble-rail_flexzboost-sequential,
    sequential-calibrated (one member, recalibrated)."""
    parts = member_names(members)
    name = "-".join(parts) if len(members) == 1 else "ensemble-" + "-".join(parts)
    return name + ("-calibrated" if calibrated else "")


def write_spec(folder: Path, model: dict[str, Any], members: list[Member], calibration: dict | None) -> Path:
    """The ensemble's model file: the grid and options, the members, the fitted calibration."""
    spec = {"format": FORMAT, "version": VERSION, "model": model, "members": [asdict(m) for m in members],
            "calibration": calibration}  # fmt: skip
    path = folder / FILE
    path.write_text(json.dumps(spec, indent=1))
    return path


def read_spec(path: Path, where: str) -> dict[str, Any]:
    """The model file written by write_spec, checked: PhotozError naming `where` otherwise."""
    try:
        spec = json.loads(path.read_text())
        spec["members"] = [Member(**m) for m in spec["members"]]
        ok = spec["format"] == FORMAT and spec["version"] == VERSION and isinstance(spec["model"], dict)
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise PhotozError(f"{where}: {FILE} is not a photoz ensemble (format {FORMAT} version {VERSION}); log it again")
    return spec
