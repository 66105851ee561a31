"""`model=rail_flexzboost|rail_bpz|rail_knn|rail_cmnn`: LSST DESC RAIL's estimators, run by RAIL.

Needs the optional extra (`pip install -e ".[rail]"`: pz-rail-* and qp-prob). Each estimator is
a RAIL informer/estimator stage pair called through RAIL's stage API (`make_stage`, `inform`,
`estimate`, all in memory); no RAIL code is copied. `model.inform` and `model.estimate` are
passed to the two stages as their config (unknown keys are refused: RAIL would ignore them).

Input: the data set's catalogue fluxes (nJy) as RAIL's columns mag_<b>_lsst / mag_err_<b>_lsst
(AB, σ_m = 2.5/ln10 · σ_f/f). A band with S/N < `model.detection_snr` (or flux ≤ 0) is a
non-detection: magnitude `model.nondetect_val` (RAIL's sentinel, 99), which RAIL replaces by
`mag_limits`, here the train split's 1σ limit per band (AB magnitude of the median flux error).
Output: RAIL's qp.Ensemble evaluated on the photoz grid (bin centres), normalised; as for every
other PDF estimator z_phot is that PDF's `model.point_estimate` (default z*) and z_err its
standard deviation.

Trainable parameters (`n_trainable_params`, the comparison table's cost column):
- rail_flexzboost: every node (split threshold or leaf weight) of the XGBoost trees of all basis
  coefficients, plus the two tuned numbers (bump threshold, sharpening α);
- rail_bpz: the Bayesian prior's fitted numbers; 0 with RAIL's default `output_hdfn: true` (the
  published HDFN prior is used, nothing is fitted; templates and filters are fixed physics);
- rail_knn: the stored training set (KD-tree features + redshifts) plus the tuned σ and k;
- rail_cmnn: the stored training colours, their errors and redshifts.
"""

from __future__ import annotations

import logging
import tempfile
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd

from photoz.data.format import NJY_ZP, Dataset
from photoz.errors import ConfigError, DataError, PhotozError, first_line
from photoz.predictions.table import Predictions
from photoz.estimators.catalog_base import METADATA_KEY, CatalogEstimator, pip_requirements
from photoz.estimators.schema import RailSchema
from photoz.training.hooks import EpochHook

INSTALL_HINT = 'pip install -e ".[rail]"'
_POGSON = 2.5 / np.log(10.0)
MODEL_FILE = "rail_model.pkl"


class RailError(PhotozError):
    """RAIL refused or failed (its reason, one line)."""


def import_rail(path: str, model: str) -> type:
    """The RAIL stage class at "module:Class"; a ConfigError naming the extra if RAIL is missing.
    RAIL's stages log every step through structlog to stdout: only warnings and errors are kept."""
    module, cls = path.split(":")
    try:
        found = getattr(import_module(module), cls)
    except ImportError as err:
        raise ConfigError(f"model={model} needs LSST DESC RAIL ({err.name or err}); install it with {INSTALL_HINT}") from None
    import structlog  # a dependency of RAIL's stages

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return found


def one_sigma_limits(flux_err: np.ndarray) -> np.ndarray:
    """Per-band AB magnitude of the median 1σ flux error (nJy): where RAIL puts non-detections."""
    return NJY_ZP - 2.5 * np.log10(np.maximum(np.median(flux_err, axis=0), 1e-6))


def rail_table(flux: np.ndarray, err: np.ndarray, z: np.ndarray, bands: list[str], snr: float,
               nondetect_val: float) -> dict[str, np.ndarray]:
    """RAIL's input columns: mag_<b>_lsst, mag_err_<b>_lsst (non-detections = nondetect_val), redshift."""
    out: dict[str, np.ndarray] = {"redshift": np.asarray(z, float)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, b in enumerate(bands):
            f, e = np.asarray(flux[:, j], float), np.asarray(err[:, j], float)
            detected = np.isfinite(f) & (f > 0) & (f >= snr * e)
            out[f"mag_{b}_lsst"] = np.where(detected, NJY_ZP - 2.5 * np.log10(f), nondetect_val)
            out[f"mag_err_{b}_lsst"] = np.where(detected, _POGSON * e / f, nondetect_val)
    return out


def described(err: BaseException) -> str:
    """`Type: first line` of a RAIL error (RAIL's messages rarely name their kind)."""
    return f"{type(err).__name__}: {first_line(err)}" if str(err).strip() else type(err).__name__


class RailEstimator(CatalogEstimator):
    """A RAIL informer/estimator pair as a photoz estimator; subclasses name the stages."""

    informer = ""  # "module:Class" of the RAIL informer stage
    estimator = ""  # and of its estimator stage

    model_cfg: RailSchema
    model_format = "rail"  # RAIL's model file is a pickle: loads only with trust_pickles=true

    def __init__(self, model_cfg: RailSchema, seed: int = 0) -> None:
        super().__init__(model_cfg, seed)
        self.informer_cls = import_rail(self.informer, self.model_cfg.name)
        self.estimator_cls = import_rail(self.estimator, self.model_cfg.name)
        self.rail_model: Any = None
        self.mag_limits: np.ndarray | None = None
        for stage, key in ((self.informer_cls, "inform"), (self.estimator_cls, "estimate")):
            unknown = sorted(set(getattr(self.model_cfg, key)) - set(stage.config_options))
            if unknown:
                raise ConfigError(
                    f"model.{key}.{unknown[0]} is not an option of RAIL's {stage.name}; "
                    f"valid: {', '.join(sorted(stage.config_options))}"
                )

    @classmethod
    def check_installed(cls, name: str) -> None:
        import_rail(cls.informer, name)
        import_rail(cls.estimator, name)

    def shared_config(self) -> dict[str, Any]:
        """Config both stages get: columns, bands, grid, non-detection handling."""
        mc, bands = self.model_cfg, self.bands
        if mc.ref_band not in bands:
            raise ConfigError(f"model.ref_band={mc.ref_band!r} is not among the data set's bands {bands}")
        return {
            "hdf5_groupname": "",
            "logging_level": logging.WARNING,
            "output_mode": "return",
            "bands": [f"mag_{b}_lsst" for b in bands],
            "err_bands": [f"mag_err_{b}_lsst" for b in bands],
            "ref_band": f"mag_{mc.ref_band}_lsst",
            "redshift_col": "redshift",
            "nondetect_val": mc.nondetect_val,
            "mag_limits": {f"mag_{b}_lsst": float(m) for b, m in zip(bands, self.mag_limits)},
            "zmin": 0.0,
            "zmax": mc.z_max,
            "nzbins": mc.rail_nzbins,
            "seed": self.seed,
        }

    def extra_config(self) -> dict[str, Any]:
        """Stage config a subclass adds (e.g. BPZ's filter names per band)."""
        return {}

    def _stage(self, cls: type, key: str, **kw: Any) -> Any:
        conf = {**self.shared_config(), **self.extra_config(), **getattr(self.model_cfg, key), **kw}
        conf = {k: v for k, v in conf.items() if k in cls.config_options or k in ("model", "output_mode")}
        try:
            return cls.make_stage(name=f"photoz_{self.model_cfg.name}_{key}", **conf)
        except (TypeError, ValueError, KeyError) as err:  # ceci's type checks, the stage's own
            raise ConfigError(f"model.{key}: RAIL's {cls.name} refuses its config ({described(err)})") from None

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        """RAIL's informer on the train split; val metrics reported once."""
        train = data.split_index("train")
        if train.size < 2:
            raise DataError(f"{data.path}: the train split has {train.size} rows; {self.model_cfg.name} needs more")
        self.use_filters(data)
        self.bands = data.bands
        flux, err = data.fluxes(train)
        self.mag_limits = one_sigma_limits(err)
        stage = self._stage(self.informer_cls, "inform")
        table = self.table(flux, err, np.asarray(data.catalog["redshift"], float)[train])
        try:
            with joblib.parallel_config(backend="threading"):  # XGBoost frees the GIL; no process pool to start
                self.rail_model = stage.inform(table).data
        except Exception as err:  # RAIL and its back ends raise any type
            raise RailError(f"RAIL's {stage.name} failed on the train split of {data.path}: {described(err)}") from None
        self.report_validation(data, on_epoch)

    def table(self, flux: np.ndarray, err: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
        mc = self.model_cfg
        return rail_table(flux, err, z, self.bands, mc.detection_snr, mc.nondetect_val)

    def pdf(self, flux: np.ndarray, err: np.ndarray) -> np.ndarray:
        """(n, n_bins) PDFs on the photoz grid: RAIL's estimator, its qp.Ensemble evaluated there."""
        stage = self._stage(self.estimator_cls, "estimate", model=self.rail_model)
        try:
            ensemble = stage.estimate(self.table(flux, err, np.zeros(len(flux)))).data
        except Exception as err:  # RAIL and its back ends raise any type
            raise RailError(f"RAIL's {stage.name} failed on {len(flux)} galaxies: {described(err)}") from None
        pdf = np.nan_to_num(np.asarray(ensemble.pdf(self.grid), float), nan=0.0, posinf=0.0)
        return pdf.clip(min=0.0) + 1e-300

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        index = np.asarray(index)
        self.check_bands(data)
        pdf = self.pdf(*data.fluxes(index))
        cat = data.catalog
        return Predictions.from_pdf(np.asarray(cat["id"])[index], np.asarray(cat["redshift"], float)[index], pdf, self.grid, self.point)

    def log_model(self) -> None:
        """MLflow pyfunc model holding RAIL's own model file (a pickle, read back by RAIL's
        default_model_read) and photoz metadata (bands, 1σ limits). RAIL models are pickles:
        load only runs you trust."""
        from rail.core.data import default_model_write

        meta = self.metadata({"mag_limits": self.mag_limits.tolist()})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / MODEL_FILE
            default_model_write(self.rail_model, str(path))
            mlflow.pyfunc.log_model(
                name=self.model_name,
                python_model=RailPyfunc(meta),
                artifacts={"rail_model": str(path)},
                metadata=meta,
                pip_requirements=pip_requirements() + [f"pz-rail-base=={version('pz-rail-base')}"],
            )

    def restore(self, bands: list[str], state: dict[str, Any], model_file: str) -> RailEstimator:
        """Set what fit() learned from logged metadata and RAIL's model file."""
        from rail.core.data import default_model_read

        self.bands = bands
        self.mag_limits = np.asarray(state["mag_limits"], float)
        self.rail_model = default_model_read(model_file)
        return self

    @classmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict[str, Any], where: str) -> RailEstimator:
        """Unpickle RAIL's model file: only reached with trust_pickles=true (photoz.estimators.formats)."""
        est, state = cls.from_mlmodel(mlmodel, where)
        return est.restore(est.bands, state, str(folder / "artifacts" / MODEL_FILE))  # type: ignore[attr-defined]


class RailPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc face of a RAIL estimator, for `mlflow models serve`: input columns
    flux_<b>, flux_err_<b> (nJy) for the logged bands; output z_phot, z_err."""

    def __init__(self, metadata: dict) -> None:
        self.meta = metadata[METADATA_KEY]

    def load_context(self, context) -> None:
        from photoz.estimators.build import estimator_class

        est = estimator_class(self.meta["model"]["name"]).from_saved(self.meta)
        self.est = est.restore(self.meta["bands"], self.meta["state"], context.artifacts["rail_model"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        bands = self.est.bands
        flux = model_input[[f"flux_{b}" for b in bands]].to_numpy(float)
        err = model_input[[f"flux_err_{b}" for b in bands]].to_numpy(float)
        pred = Predictions.from_pdf(np.arange(len(flux)), np.zeros(len(flux)), self.est.pdf(flux, err), self.est.grid, self.est.point)
        return pd.DataFrame({"z_phot": pred.z_phot, "z_err": pred.z_err})
