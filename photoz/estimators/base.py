"""What every estimator (CNNs and baselines) gives the training job and the comparison.

An estimator is built from its slices of the typed config, checks a data set before any MLflow
run starts, is fitted on the data set's train split (watching val), predicts any rows of a data
set, counts its trainable parameters and logs itself to the active MLflow run. What differs between
a CNN and a catalogue estimator is said here, by each class, not by the job that runs it
(photoz.job.run): which config sections it reads (and a run logs), its data checks, what its run
name shows, how many epochs it reports, where it keeps checkpoints and what it costs. The defaults
below are a one-shot estimator's (fit once, report val once, no checkpoints).
Predictions carry the point estimate, an error and, where the estimator has one, the PDF on a
shared redshift grid.

Labels (photoz.data.labels): `fit` learns redshifts from the train split only; every estimator
gets the same labelled galaxies there. The `unlabelled` galaxies of the data set it is given have
images and photometry but no redshift (NaN in that data set's catalogue); an estimator that learns
from them as well says so with `uses_unlabelled` (a CNN started from a pretrained encoder).
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from photoz.config import PhotozConfig
from photoz.data.format import Dataset
from photoz.errors import ConfigError
from photoz.estimators.formats import FORMATS, checked_model_folder
from photoz.predictions.table import Predictions
from photoz.training.hooks import EpochHook


class Estimator(ABC):
    """Common interface of every `model=` option (photoz.registry)."""

    # config sections (besides model and seed) it does not read: a run does not log them as params
    ignores: ClassVar[tuple[str, ...]] = ("optimizer", "trainer")
    model_name: str = "model"  # the name log_model logs under; photoz.job.run sets the run's name
    checkpoint_dir: str | None = None  # where fit keeps checkpoints to resume from; None: it keeps none
    model_format: ClassVar[str]  # its line of photoz.estimators.formats.FORMATS: what log_model writes
    uses_unlabelled: bool = False  # whether it learns from the images or photometry of unlabelled galaxies too

    @classmethod
    def from_config(cls, cfg: PhotozConfig) -> Estimator:
        """A fresh estimator given its slices of the typed config: the model config and the seed."""
        return cls(cfg.model, cfg.seed)

    @classmethod
    def check_installed(cls, name: str) -> None:
        """ConfigError if model `name` needs an optional extra that is not installed."""

    def check(self, data: Dataset) -> None:
        """Refuse (ConfigError/DataError, one line) what fit would fail on, before a run starts."""

    def use_checkpoint_dir(self, path: str) -> None:
        """Keep fit's checkpoints in `path` (the job resolves it, for resuming); one-shot estimators keep none."""

    def tags(self) -> dict[str, str]:
        """Run tags it sets or overrides after the job's own (an ensemble: its row, model_config)."""
        return {}

    def run_name_parts(self, searched: Collection[str] | None) -> list[str]:
        """What the MLflow run name shows after the model config; `searched`: the keys a sweep
        searches (None outside a sweep)."""
        return []

    @property
    def max_epochs(self) -> int:
        """The last epoch fit reports through its hook (0: it reports once, at epoch 0)."""
        return 0

    def cost(self) -> dict[str, float]:
        """Metrics of its cost beyond n_trainable_params, logged after fit (e.g. FLOPs per galaxy)."""
        return {}

    @abstractmethod
    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        """Fit on data's train split, report val metrics through on_epoch."""

    @abstractmethod
    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        """Predict rows `index` of `data`."""

    def prepare_predict(self, data: Dataset, index: np.ndarray) -> None:
        """Start-up work before predict_batches over rows `index` of `data` (photoz.predict times it
        apart from its loop): a CNN builds its fast inference path there."""

    def use_int8(self, calibration: Dataset) -> object:
        """Predict with an int8-quantised copy from now on, calibrated on `calibration`'s train
        split (photoz.predict precision=int8); the CNNs can, other estimators refuse in one line."""
        raise ConfigError(f"precision=int8 applies to the CNNs; {type(self).__name__} is not one: drop precision=int8")

    def predict_batches(self, data: Dataset, batches: Iterable[np.ndarray]) -> Iterator[Predictions]:
        """predict(data, index) for each index array of `batches`, in order; an estimator may
        overlap the batches' work (a CNN reads, runs its network and summarises in parallel)."""
        for index in batches:
            yield self.predict(data, index)

    @abstractmethod
    def n_trainable_params(self) -> int:
        """Trainable parameters (CNN weights; documented per baseline)."""

    @abstractmethod
    def log_model(self) -> None:
        """Log the fitted estimator to the active MLflow run so photoz.predict can load it."""

    @classmethod
    def load(cls, model_uri: str, trust_pickles: bool = False) -> Estimator:
        """The estimator logged at `model_uri` (runs:/…, models:/…, a folder), once its folder holds
        exactly its format's flavours and files (photoz.estimators.formats); a pickle format
        (RAIL's) loads only with `trust_pickles`."""
        with tempfile.TemporaryDirectory() as tmp:
            folder, mlmodel = checked_model_folder(model_uri, FORMATS[cls.model_format], tmp, trust_pickles)
            return cls.from_model_folder(folder, mlmodel, model_uri)

    @classmethod
    @abstractmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict[str, Any], where: str) -> Estimator:
        """The estimator whose checked model folder (and parsed MLmodel) is `folder`."""
