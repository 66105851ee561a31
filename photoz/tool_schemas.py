"""Typed schemas of `conf/predict.yaml`, `conf/compare.yaml` and `conf/ensemble.yaml`, so Hydra
refuses a misspelt key or a bad value (`format=csv`) of `python -m photoz.predict` /
`python -m photoz.compare` / `python -m photoz.ensemble` at composition. Each default is also
written in its YAML (tests/test_schema_defaults.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from hydra.core.config_store import ConfigStore

from photoz.choices import CompareRuns, PredictFormat, PredictPrecision
from photoz.config import TrackingConfig
from photoz.estimators.schema import EnsembleSchema


@dataclass
class StoreConfig:
    """The MLflow store a run was logged to."""

    uri: str = "sqlite:///mlruns/mlflow.db"


@dataclass
class PredictConfig:
    run: Optional[str] = None  # MLflow run id whose logged model to load
    model_uri: Optional[str] = None  # or any MLflow model URI
    input: Optional[str] = None  # data set directory; null = the run's own
    output: Optional[str] = None  # null = <hydra run dir>/predictions.fits (.hdf5 with format=qp)
    overwrite: bool = False  # also replace an output file photoz did not write
    trust_pickles: bool = False  # allow loading a RAIL model (its files are pickles)
    format: PredictFormat = PredictFormat.fits
    pdf: bool = False
    batch_size: int = 4096
    precision: PredictPrecision = PredictPrecision.fp32  # int8: quantised CNN (photoz.inference.quantize)
    shard: Optional[str] = None  # i/n
    tracking: StoreConfig = field(default_factory=StoreConfig)


@dataclass
class CompareConfig:
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    parent_run: Optional[str] = None
    runs: CompareRuns = CompareRuns.best  # best: the best run per model; all: every finished run
    output: Optional[str] = None
    log_run: bool = True
    predictions_artifact: str = "predictions/test_predictions.fits"


@dataclass
class EnsembleToolConfig:
    runs: List[str] = field(default_factory=list)  # the member runs' ids (or model.runs)
    model: EnsembleSchema = field(default_factory=EnsembleSchema)  # weights, calibration, grid, point estimate
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def register_schemas() -> None:
    """Store predict_schema, compare_schema and ensemble_tool_schema in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="predict_schema", node=PredictConfig)
    cs.store(name="compare_schema", node=CompareConfig)
    cs.store(name="ensemble_tool_schema", node=EnsembleToolConfig)
