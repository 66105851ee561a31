"""`model=random_forest` and `model=knn`: scikit-learn on catalogue magnitudes and colours.

Features are asinh magnitudes and adjacent colours (photoz.data.features), so faint and
undetected galaxies need no special case. The PDF comes from the spread of the ensemble: the
per-tree predictions of the forest, or the redshifts of the k nearest training neighbours,
histogrammed on the CNN heads' z grid and smoothed by `model.pdf_smoothing`.

Trainable parameters (the comparison table's cost column):
- random_forest: total number of tree nodes, each holding fitted numbers (a split threshold or
  a leaf value) learned from the training set;
- knn: n_train × (n_features + 1), the stored training features and redshifts the predictions
  are made from; a kNN "learns" by memorising, so its size grows with the training set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import infer_signature
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from photoz.data.format import Dataset
from photoz.errors import DataError, first_line
from photoz.estimators.formats import UntrustedModel
from photoz.predictions.table import Predictions
from photoz.estimators.catalog_base import CatalogEstimator, pip_requirements, smoothed_histogram
from photoz.data.features import feature_names, magnitude_colour_features, softening
from photoz.estimators.schema import KNNSchema, RandomForestSchema, SklearnSchema
from photoz.training.hooks import EpochHook


class NeighbourRedshifts(BaseEstimator, RegressorMixin):
    """k nearest neighbours in standardised feature space that also returns the neighbours'
    redshifts and weights (KNeighborsRegressor only gives their mean)."""

    def __init__(self, n_neighbors: int = 30, weights: str = "distance", n_jobs: int | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> NeighbourRedshifts:
        self.scaler_ = StandardScaler().fit(X)
        k = min(self.n_neighbors, len(X))
        self.nn_ = NearestNeighbors(n_neighbors=k, n_jobs=self.n_jobs).fit(self.scaler_.transform(X))
        self.y_ = np.asarray(y, float)
        return self

    def samples(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) neighbour redshifts and their weights (1/distance or uniform)."""
        dist, idx = self.nn_.kneighbors(self.scaler_.transform(X))
        w = 1.0 / np.maximum(dist, 1e-9) if self.weights == "distance" else np.ones_like(dist)
        return self.y_[idx], w

    def predict(self, X: np.ndarray) -> np.ndarray:
        z, w = self.samples(X)
        return (z * w).sum(axis=1) / w.sum(axis=1)


class _SklearnEstimator(CatalogEstimator):
    """Fit/predict/log/load shared by the scikit-learn baselines; subclasses build the model,
    give per-galaxy redshift samples, count parameters, and name the types that skops (MLflow's
    safe sklearn serialisation) must trust to load them."""

    trusted_types: list[str] = []
    model_cfg: SklearnSchema
    model_format = "sklearn"

    def __init__(self, model_cfg: SklearnSchema, seed: int = 0) -> None:
        super().__init__(model_cfg, seed)
        self.model = None
        self.soft: np.ndarray | None = None  # asinh softening per band, fixed by the training set

    def build(self):
        raise NotImplementedError

    def samples(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def features(self, data: Dataset, index: np.ndarray) -> np.ndarray:
        flux, _ = data.fluxes(index)
        return magnitude_colour_features(flux, self.soft)

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        train = data.split_index("train")
        if train.size < 2:
            raise DataError(f"{data.path}: the train split has {train.size} rows; {self.model_cfg.name} needs more")
        self.bands = data.bands
        self.soft = softening(data.fluxes(train)[1])
        self.model = self.build().fit(self.features(data, train), np.asarray(data.catalog["redshift"], float)[train])
        self.report_validation(data, on_epoch)

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        index = np.asarray(index)
        self.check_bands(data)
        z, w = self.samples(self.features(data, index))
        pdf = smoothed_histogram(z, self.grid, self.model_cfg.pdf_smoothing, w)
        cat = data.catalog
        z_spec = np.asarray(cat["redshift"], float)[index]
        return Predictions.from_pdf(np.asarray(cat["id"])[index], z_spec, pdf, self.grid, self.point)

    def log_model(self) -> None:
        """mlflow.sklearn model (features → z; feature order in the metadata) with the bands and
        the asinh softening in its metadata."""
        X = magnitude_colour_features(np.ones((2, len(self.bands))), self.soft)
        mlflow.sklearn.log_model(
            self.model,
            name=self.model_name,
            signature=infer_signature(X, self.model.predict(X)),
            input_example=X,
            metadata=self.metadata({"softening": self.soft.tolist(), "features": feature_names(self.bands)}),
            pip_requirements=pip_requirements(),
            skops_trusted_types=self.trusted_types,
        )

    @classmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict[str, Any], where: str) -> _SklearnEstimator:
        """Read model.skops with skops and this class's own trusted types (never the list or the
        serialization format an MLmodel names)."""
        import skops.io

        est, state = cls.from_mlmodel(mlmodel, where)
        try:
            est.soft = np.asarray(state["softening"], float)
            est.model = skops.io.load(folder / "model.skops", trusted=cls.trusted_types)
        except Exception as err:  # skops raises several types for a tampered or foreign file
            raise UntrustedModel(f"{where}: its model.skops is not a photoz {cls.__name__}'s ({first_line(err)}); retrain it") from None
        return est  # type: ignore[return-value]


class RandomForestEstimator(_SklearnEstimator):
    """Random forest regression; PDF from the per-tree predictions."""

    trusted_types = ["sklearn.tree._tree.Tree"]
    model_cfg: RandomForestSchema

    def build(self) -> RandomForestRegressor:
        mc = self.model_cfg
        return RandomForestRegressor(
            n_estimators=mc.n_estimators,
            max_depth=mc.max_depth,
            min_samples_leaf=mc.min_samples_leaf,
            max_features=mc.max_features,
            n_jobs=mc.n_jobs,
            random_state=self.seed,
        )

    def samples(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        return np.stack([tree.predict(X) for tree in self.model.estimators_], axis=1), None

    def n_trainable_params(self) -> int:
        """Total tree nodes (one fitted threshold or leaf value each)."""
        return int(sum(tree.tree_.node_count for tree in self.model.estimators_))


class KNNEstimator(_SklearnEstimator):
    """k nearest neighbours; PDF from the neighbours' redshifts."""

    trusted_types = [
        "photoz.estimators.catalog_ml.NeighbourRedshifts",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
    ]
    model_cfg: KNNSchema

    def build(self) -> NeighbourRedshifts:
        mc = self.model_cfg
        return NeighbourRedshifts(mc.n_neighbors, str(mc.weights), mc.n_jobs)

    def samples(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.samples(X)

    def n_trainable_params(self) -> int:
        """Stored training values: n_train × (n_features + 1)."""
        n, d = self.model.nn_.n_samples_fit_, self.model.nn_.n_features_in_
        return int(n * (d + 1))
