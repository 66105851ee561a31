"""Typed schemas of `conf/predict.yaml` and `conf/compare.yaml`, so Hydra refuses a misspelt key
or a bad value (`format=csv`) of `python -m photoz.predict` / `python -m photoz.compare` at
composition. Each default is also written in its YAML (tests/test_schema_defaults.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore

from photoz.choices import CompareRuns, PredictFormat, PredictPrecision
from photoz.config import TrackingConfig


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


def register_schemas() -> None:
    """Store predict_schema and compare_schema in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="predict_schema", node=PredictConfig)
    cs.store(name="compare_schema", node=CompareConfig)
