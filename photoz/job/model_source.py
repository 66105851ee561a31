"""Which model `photoz.predict` runs, and on which data set: `run=<id>` or `model_uri=<URI or folder>`
resolved to (estimator name, row label, model URI), the logged model's metadata read without
creating a store (a model folder someone sent you is read as plain YAML), and the data set a
run trained on for a predict without input=.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from photoz.errors import ConfigError, PhotozError, first_line


def resolve_model(cfg: DictConfig) -> tuple[str, str, str]:
    """(estimator name, model label, model URI) from `run=` or `model_uri=`; PhotozError if there
    is no model. The label is the run's model config (tag `model_config`), else the estimator name."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from photoz.estimators.logged import run_model_uri
    from photoz.tracking.tracker import read_only_uri

    if (cfg.run is None) == (cfg.model_uri is None):
        raise ConfigError("give exactly one of run=<mlflow run id> or model_uri=<MLflow model URI>")
    uri, exists = read_only_uri(cfg.tracking.uri)  # reading a model never creates a store or a folder
    if not exists and (cfg.run is not None or str(cfg.model_uri).startswith(("runs:/", "models:/"))):
        raise ConfigError(f"no MLflow store at {uri}; set tracking.uri to the store the run was logged to")
    mlflow.set_tracking_uri(uri)
    model_uri = cfg.model_uri or run_model_uri(MlflowClient(uri), str(cfg.run))
    try:
        logged_by, meta = model_info(model_uri)
    except Exception as err:  # MLflow raises several kinds for a missing run or model
        where = f"run {cfg.run}" if cfg.run else model_uri
        if cfg.run is None and ":/" not in model_uri.removeprefix("file://"):  # a folder: no store involved
            raise PhotozError(f"model_uri={model_uri}: {first_line(err)}; give the folder of a model photoz logged "
                              "(it holds MLmodel), or runs:/<run id>/<model name>") from None
        raise PhotozError(
            f"{where} has no loadable model in {uri} ({first_line(err)}); the run may have failed before "
            "logging it: check the run id in the MLflow UI, or tracking.uri"
        ) from None
    run_id = cfg.run or logged_by
    tags = _run_tags(uri, run_id) if exists else {}
    name = tags.get("model") or _logged_name(meta)
    if not name:
        raise PhotozError(f"{model_uri}: cannot tell which photoz estimator logged it (run tag 'model' missing)")
    return name, tags.get("model_config", name), model_uri


def _logged_name(meta: Any) -> str | None:
    """The estimator name in an MLmodel's metadata (baselines log {"photoz": {"model": {"name"}}},
    CNNs {"photoz_model": {"name"}}); None where it holds none or is not such a mapping (an edited
    MLmodel of a folder someone sent: `metadata: x` raised AttributeError's traceback)."""

    def field(mapping: Any, key: str) -> Any:
        return mapping.get(key) if isinstance(mapping, dict) else None

    name = field(field(field(meta, "photoz"), "model") or field(meta, "photoz_model"), "name")
    return name if isinstance(name, str) and name else None


def model_info(model_uri: str) -> tuple[str | None, dict]:
    """(the id of the run that logged the model, its MLmodel metadata). A model folder on this
    machine is read as plain YAML: MLflow's get_model_info would look its model id up in the
    tracking store, creating one where there is none (a folder someone sent you has no store)."""
    import mlflow

    from photoz.estimators.formats import read_mlmodel

    path = model_uri.removeprefix("file://")
    if ":/" not in path and Path(path).is_dir():  # not runs:/, models:/, s3://, ...
        mlmodel = read_mlmodel(Path(path), model_uri)
        return mlmodel.get("run_id"), mlmodel.get("metadata") or {}
    info = mlflow.models.get_model_info(model_uri)
    return info.run_id, info.metadata or {}


def _run_tags(uri: str, run_id: str | None) -> dict[str, str]:
    """The tags of the run that logged the model; none when it is not in this store (a model
    folder copied from elsewhere)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return MlflowClient(uri).get_run(run_id).data.tags if run_id else {}
    except MlflowException:
        return {}


def run_dataset(cfg: DictConfig, model_uri: str) -> str:
    """The data set directory the model's run trained on (its tag `data`), for predict without input=."""
    from photoz.tracking.tracker import read_only_uri

    uri, exists = read_only_uri(cfg.tracking.uri)
    run_id = cfg.run or model_info(model_uri)[0]
    path = _run_tags(uri, run_id).get("data") if exists else None
    if not path:
        raise ConfigError(f"{model_uri} records no data set (run tag 'data'); give input=<data set directory>")
    return path
