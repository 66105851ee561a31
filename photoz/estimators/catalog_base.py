"""What the catalogue baselines (template_fit, random_forest, knn) share: config, bands, the
validation report, and the MLflow model metadata that `load` rebuilds them from.

Each baseline logs an MLflow model named "model" whose MLmodel metadata holds
{"photoz": {"model": <model config>, "seed": …, "bands": […], "state": {…}}}; `load(model_uri)`
reads that back from the checked folder (`from_mlmodel`, `from_saved`: the model config as its
registered schema), so a run's model is self-describing without the run's params.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from omegaconf.errors import OmegaConfBaseException

from photoz.config import as_schema, plain
from photoz.data.filters import dataset_curves
from photoz.data.format import Dataset
from photoz.errors import DataError, PhotozError, first_line
from photoz.estimators.base import Estimator
from photoz.estimators.formats import photoz_metadata
from photoz.estimators.schema import GridSchema
from photoz.physics.curves import Curve, parse_curve
from photoz.predictions.table import Predictions, z_grid
from photoz.registry import REGISTRY
from photoz.training.hooks import EpochHook

METADATA_KEY = "photoz"


class CatalogEstimator(Estimator):
    """An estimator that reads only the catalogue photometry (flux_<b>, flux_err_<b>)."""

    # photometric systems whose filter curves it models (Dataset.photometric_system); () = any
    filter_systems: ClassVar[tuple[str, ...]] = ()
    # True: it fits a data set's own filter curves (photoz.ingest filter_curves=) when the set has them
    own_curves: ClassVar[bool] = False

    def __init__(self, model_cfg: GridSchema, seed: int = 0) -> None:
        self.model_cfg = model_cfg
        self.seed = seed
        self.grid = z_grid(model_cfg.n_bins, model_cfg.z_max)
        self.point = model_cfg.point_estimate
        self.bands: list[str] | None = None  # set by fit (or load); predict checks data against it
        self.curves: dict[str, Curve] | None = None  # own_curves: the data set's curves it was fitted with

    def check(self, data: Dataset) -> None:
        """Before a run starts: the data set's filters are ones it models."""
        self.check_filters(data)

    def check_filters(self, data: Dataset) -> None:
        """DataError (one line) if it fits filter curves and the data set's are not among them."""
        system = data.photometric_system
        if not self.filter_systems or system in self.filter_systems or (self.own_curves and data.meta.get("filter_curves")):
            return
        name, models = self.model_cfg.name, ", ".join(self.filter_systems)
        curves = "filter_curves=<a folder of its bands' curves>"
        if system is None:
            raise DataError(f"{data.path}: records no photometric system (meta.json 'filters') and {name} fits {models} "
                            f"filter curves; if its bands are {models}'s, re-import it with filters={self.filter_systems[0]}"
                            + (f", else with {curves}" if self.own_curves else ""))
        raise DataError(f"{data.path}: its bands are {system}'s filters but {name} fits {models} filter curves only; "
                        + (f"re-import it with {curves} or " if self.own_curves else "")
                        + "use model=random_forest or model=knn, which learn from the data set's own photometry")

    def use_filters(self, data: Dataset) -> None:
        """At fit: take the data set's own filter curves (own_curves, if it has them), else its named system's."""
        self.check_filters(data)
        self.curves = dataset_curves(data.path, data.meta) if self.own_curves else None

    def check_curves(self, data: Dataset) -> None:
        """DataError (one line) if the data set's own filter curves are not those the model was fitted with."""
        ours = {b: c.sha256 for b, c in self.curves.items()} if self.curves else None
        theirs = data.meta.get("filter_curves") or None
        if self.own_curves and ours != theirs:
            builtin, name = f"{self.filter_systems[0]}'s built-in curves", self.model_cfg.name
            raise DataError(f"{data.path}: its filters ({_named(theirs, builtin, data.bands)}) are not those this {name} "
                            f"model was made with ({_named(ours, builtin, data.bands)}); predict on data observed through "
                            f"the model's filters or run {name} on this data set")

    def check_bands(self, data: Dataset) -> None:
        """DataError if the data set's bands differ from the ones the model was fitted on, or its
        filters are not ones it models."""
        self.check_filters(data)
        if self.bands is not None and data.bands != self.bands:
            raise DataError(
                f"{data.path}: bands {data.bands} differ from the model's {self.bands}; "
                "predict on a data set with the same bands or train a model on this one"
            )
        self.check_curves(data)

    def report_validation(self, data: Dataset, on_epoch: EpochHook) -> Predictions:
        """Predict the val split and report val_sigma_mad/val_bias/val_eta once (epoch 0)."""
        val = data.split_index("val")
        if val.size == 0:
            raise DataError(f"{data.path}: the val split is empty; the data set needs val rows")
        pred = self.predict(data, val)
        m = pred.metrics("val_")
        on_epoch(0, {k: m[k] for k in ("val_sigma_mad", "val_bias", "val_eta")})
        return pred

    def metadata(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """MLmodel metadata from which `from_metadata` rebuilds this estimator (with the text of the
        filter curves it was fitted with, if any: state `filter_curves`)."""
        if self.curves:
            state = {**(state or {}), "filter_curves": {b: c.text for b, c in self.curves.items()}}
        return {
            METADATA_KEY: {
                "model": plain(self.model_cfg),
                "seed": self.seed,
                "bands": self.bands,
                "state": state or {},
            }
        }

    @classmethod
    def from_saved(cls, meta: dict[str, Any]) -> CatalogEstimator:
        """An instance configured by a logged model's photoz metadata (its model config as the
        schema registered for its name, keys added since it was logged at their defaults, e.g.
        point_estimate: zstar)."""
        est = cls(as_schema(REGISTRY[meta["model"]["name"]].schema, meta["model"]), meta["seed"])
        est.bands = meta["bands"]
        est.curves = saved_curves(meta.get("state", {}).get("filter_curves"), est.bands) if cls.own_curves else None
        return est

    @classmethod
    def from_mlmodel(cls, mlmodel: dict[str, Any], where: str) -> tuple[CatalogEstimator, dict[str, Any]]:
        """A fresh instance configured from a checked model's MLmodel metadata, and its saved state;
        one line if the metadata is not a photoz baseline's."""
        meta = photoz_metadata(mlmodel, where, METADATA_KEY)
        try:
            return cls.from_saved(meta), dict(meta["state"])
        except (KeyError, TypeError, ValueError, DataError, OmegaConfBaseException) as err:
            raise PhotozError(f"{where}: its photoz metadata is not a {cls.__name__}'s ({first_line(err)}); retrain it") from None


def _named(curves: dict[str, str] | None, builtin: str, bands: list[str]) -> str:
    """Filter curves in a message: each band's file and the start of its sha256, or `builtin`."""
    return ", ".join(f"{b}.dat sha256 {curves[b][:10]}" for b in bands) if curves else builtin


def saved_curves(texts: Any, bands: list[str]) -> dict[str, Curve] | None:
    """The filter curves a logged model carries (band -> file text), each checked as a curve file is
    (photoz.physics.curves) before use; ValueError if they are not one per band."""
    if texts is None:
        return None
    if not isinstance(texts, dict) or sorted(texts) != sorted(bands) or not all(isinstance(t, str) for t in texts.values()):
        raise ValueError(f"its filter_curves are not one curve text per band {bands}")
    return {b: parse_curve(texts[b], f"its filter curve of band {b}") for b in bands}


def pip_requirements() -> list[str]:
    """Explicit requirements, so logging skips MLflow's slow requirement inference."""
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "astropy", "galsim")] + ["photoz"]


def smoothed_histogram(samples: np.ndarray, grid: np.ndarray, smoothing: float, weights=None) -> np.ndarray:
    """(n, n_bins) PDF from (n, k) redshift samples (per-tree predictions, neighbour redshifts):
    a weighted histogram on the bins (samples beyond the grid go to the end bins) convolved with
    a Gaussian of width `smoothing` in z, so k samples give a smooth PDF rather than spikes."""
    from scipy.ndimage import gaussian_filter1d

    samples = np.asarray(samples, float)
    w = np.ones_like(samples) if weights is None else np.asarray(weights, float)
    width = grid[1] - grid[0]
    bins = np.clip(np.floor((samples - (grid[0] - width / 2)) / width).astype(int), 0, len(grid) - 1)
    hist = np.zeros((len(samples), len(grid)))
    np.add.at(hist, (np.repeat(np.arange(len(samples)), samples.shape[1]), bins.ravel()), w.ravel())
    if smoothing > 0:
        hist = gaussian_filter1d(hist, smoothing / width, axis=1, mode="constant")
    hist += 1e-12  # never an all-zero row
    return hist / hist.sum(axis=1, keepdims=True)
