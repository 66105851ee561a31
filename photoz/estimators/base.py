"""What every estimator (CNNs and baselines) gives the training entry point and the comparison.

An estimator is fitted on a data set's train split (watching val), predicts any rows of a data
set, counts its trainable parameters and logs itself to the active MLflow run. Predictions carry
the point estimate, an error and, where the estimator has one, the PDF on a shared redshift grid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from photoz.data.format import Dataset
from photoz.predictions.table import Predictions
from photoz.training.hooks import EpochHook


class Estimator(ABC):
    """Common interface of `model=sequential|googlenet|template_fit|random_forest|knn`."""

    uses_trainer: bool = False  # True: trained by photoz.training.loop with trainer.* and optimizer.*
    model_name: str = "model"  # the name log_model logs under; photoz.train sets the run's name

    @classmethod
    def check_installed(cls, name: str) -> None:
        """ConfigError if model `name` needs an optional extra that is not installed."""

    @abstractmethod
    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        """Fit on data's train split, report val metrics through on_epoch."""

    @abstractmethod
    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        """Predict rows `index` of `data`."""

    @abstractmethod
    def n_trainable_params(self) -> int:
        """Trainable parameters (CNN weights; documented per baseline)."""

    @abstractmethod
    def log_model(self) -> None:
        """Log the fitted estimator to the active MLflow run so photoz.predict can load it."""
