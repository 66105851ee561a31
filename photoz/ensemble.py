"""`python -m photoz.ensemble`: average logged runs' PDFs into a new MLflow run.

    python -m photoz.ensemble runs=[<run id>,<run id>,...] [model.weights=[...]] [model.calibration=pit]

The members (any estimators with a PDF, trained on one data set) are read from the MLflow store
at tracking.uri; the new run is made by the same job as `python -m photoz.train model=ensemble`
(photoz.job.run, photoz.estimators.ensemble) on the members' data set and in the first member's
experiment, so it logs the full metrics, PIT, plots and a model photoz.predict loads, and
photoz.compare shows it as a row with its member count. A user mistake (one member, unknown or
unfinished runs, members on different data sets, a run without test predictions) is one line and
exit status 2.
"""

from __future__ import annotations

import dataclasses

import hydra
from omegaconf import DictConfig, OmegaConf

from photoz.config import AdamWConfig, PhotozConfig, TrackingConfig, TrainerConfig, TrialConfig, as_schema, check_known_keys
from photoz.data.schema import DirectoryData
from photoz.errors import ConfigError, PhotozError, exit_on_user_error
from photoz.estimators.schema import EnsembleSchema
from photoz.tool_schemas import register_schemas

register_schemas()  # conf/ensemble.yaml composes against photoz/tool_schemas.py


def members_place(uri: str, run_id: str) -> tuple[str, str]:
    """(data set directory, experiment name) of the first member run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except Exception:  # MLflow raises store-specific errors for an unknown id
        raise PhotozError(f"run {run_id}: no such run in {uri}; copy member ids from the MLflow UI or the run id "
                          "column of python -m photoz.compare, or set tracking.uri") from None  # fmt: skip
    if "data" not in run.data.tags:
        raise PhotozError(f"run {run_id} records no data set (tag data): members must be photoz training runs")
    return run.data.tags["data"], client.get_experiment(run.info.experiment_id).name


def ensemble_config(cfg: DictConfig) -> PhotozConfig:
    """The photoz.train config of the ensemble run: model=ensemble with the members, on their data
    set and in their experiment (unless tracking.experiment is set)."""
    from photoz.estimators.ensemble_members import check_runs
    from photoz.tracking.tracker import read_only_uri, resolve_uri

    check_known_keys(cfg)
    model = as_schema(EnsembleSchema, cfg.model)
    if cfg.runs and model.runs:
        raise ConfigError("give the members once: runs=[...] or model.runs=[...], not both")
    model = dataclasses.replace(model, runs=list(cfg.runs) or list(model.runs))
    check_runs(model)
    tracking = as_schema(TrackingConfig, cfg.tracking)
    if not read_only_uri(tracking.uri)[1]:  # checked before resolve_uri, which creates the store's folder
        raise PhotozError(f"no MLflow store at {tracking.uri}; set tracking.uri to the store of the member runs")
    uri = resolve_uri(tracking.uri)  # the ensemble run is written there: it must be writable
    data, experiment = members_place(uri, model.runs[0])
    tracking = dataclasses.replace(tracking, uri=uri, experiment=tracking.experiment or experiment)
    return PhotozConfig(data=DirectoryData(path=data), model=model, optimizer=AdamWConfig(), seed=0,
                        trainer=TrainerConfig(progress=False), tracking=tracking, trial=TrialConfig())  # fmt: skip


def make_ensemble(cfg: DictConfig) -> float:
    """Check the members, then run the ensemble job; returns its val σ_MAD."""
    typed = ensemble_config(cfg)
    from photoz.job.run import run

    return run(typed)


@hydra.main(config_path="../conf", config_name="ensemble", version_base="1.3")
def main(cfg: DictConfig) -> None:
    OmegaConf.resolve(cfg)
    exit_on_user_error(make_ensemble)(cfg)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main)
