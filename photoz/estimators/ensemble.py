"""model=ensemble: the weighted average of logged runs' PDFs on one redshift grid, as a new run.

Any estimators with a PDF mix (CNNs of every family, the catalogue baselines, RAIL's codes): each
member predicts the galaxies, its PDF is put on the ensemble's grid (`model.n_bins` bins on
[0, `model.z_max`], photoz.predictions.pdf.regrid moves probability, it does not resample it) and
the PDFs are averaged with `model.weights` (equal by default). Averaging the predictive
distributions of independently trained models is the "deep ensemble" of Lakshminarayanan, Pritzel &
Blundell 2017 (NeurIPS), which improves both accuracy and calibration. z_phot and the metrics come
from the averaged PDF exactly as for any estimator. With `model.calibration=pit` the averaged PDFs
are recalibrated by the PIT histogram of the val split (photoz.predictions.calibration, Bordoloi
et al. 2010); a single member is allowed then (a recalibrated run).

Members are found and checked before the run starts (photoz.estimators.ensemble_members); nothing
is trained. The logged model is a plain JSON file (the grid, the members' model URIs, estimators
and weights, the calibration) under the MLmodel flavour `photoz_ensemble`; `load` reads it and
loads each member through its own estimator's loader. No pickle anywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from photoz.config import PhotozConfig, as_schema, plain
from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.estimators.base import Estimator
from photoz.estimators.ensemble_members import FILE, FORMAT, Member, find_members, label, member_names, read_spec, write_spec
from photoz.estimators.naming import SHORT
from photoz.estimators.schema import EnsembleSchema
from photoz.predictions.calibration import PitCalibration
from photoz.predictions.metrics import bias, delta_z
from photoz.predictions.pdf import pit_ks, regrid
from photoz.predictions.table import Predictions, z_grid
from photoz.training.hooks import EpochHook


class EnsembleEstimator(Estimator):
    """The average of its members' PDFs, optionally PIT-recalibrated."""

    model_format = "ensemble"  # photoz.estimators.formats: ensemble.json under the flavour photoz_ensemble

    def __init__(self, model_cfg: EnsembleSchema, seed: int = 0, store: str | None = None) -> None:
        """`store`: the MLflow tracking URI the member runs are in."""
        self.model_cfg, self.seed, self.store = model_cfg, seed, store
        self.grid = z_grid(model_cfg.n_bins, model_cfg.z_max)
        self.members: list[Member] = []
        self.estimators: list[Estimator] = []
        self.calibration: PitCalibration | None = None

    @classmethod
    def from_config(cls, cfg: PhotozConfig) -> EnsembleEstimator:
        """The model config, and the MLflow store its member runs are read from (tracking.uri)."""
        return cls(cfg.model, cfg.seed, cfg.tracking.uri)

    def check(self, data: Dataset) -> None:
        """The members exist, finished, logged test predictions and share `data` (one line otherwise)."""
        self.members = find_members(str(self.store), self.model_cfg, data)

    def label(self) -> str:
        return label(self.members, self.model_cfg.calibration != "none")

    def tags(self) -> dict[str, str]:
        """Its row in photoz.compare (model_config), the member count and the member runs."""
        return {"model_config": self.label(), "ensemble_members": str(len(self.members)),
                "ensemble_runs": ",".join(m.run_id for m in self.members)}  # fmt: skip

    def run_name_parts(self, searched: Collection[str] | None) -> list[str]:
        """After `ensemble`: the members, short (`knn seq`, `5xseq`), and `calibrated` if it is."""
        return member_names(self.members, SHORT) + (["calibrated"] if self.model_cfg.calibration != "none" else [])

    def mixed_pdf(self, data: Dataset, index: np.ndarray) -> tuple[Predictions, np.ndarray]:
        """The first member's predictions (ids, z_spec) and the members' weighted mean PDF on the grid."""
        total, first = 0.0, None
        for member, estimator in zip(self.members, self.estimators):
            pred = estimator.predict(data, index)
            if pred.pdf is None or pred.z_grid is None:
                raise DataError(f"run {member.run_id} ({member.label}) gives no PDF (a regression head?); "
                                "ensembles average PDFs: leave it out")  # fmt: skip
            total = total + member.weight * regrid(pred.pdf, pred.z_grid, self.grid)
            first = first or pred
        return first, total / sum(m.weight for m in self.members)

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        first, pdf = self.mixed_pdf(data, index)
        if self.calibration is not None:
            pdf = self.calibration.apply(pdf, self.grid)
        return Predictions.from_pdf(first.ids, first.z_spec, pdf, self.grid, self.model_cfg.point_estimate)

    def _before_and_after(self, data: Dataset, split: str) -> dict[str, float]:
        """PIT KS and bias of z_phot on `split` before calibration (fitting it first, on val)."""
        first, pdf = self.mixed_pdf(data, data.split_index(split))
        if split == "val":
            self.calibration = PitCalibration.fit(pdf, self.grid, first.z_spec, self.model_cfg.calibration_bins)
        before = Predictions.from_pdf(first.ids, first.z_spec, pdf, self.grid, self.model_cfg.point_estimate)
        return {f"{split}_pit_ks_uncalibrated": pit_ks(pdf, self.grid, first.z_spec),
                f"{split}_bias_uncalibrated": bias(delta_z(before.z_phot, first.z_spec))}  # fmt: skip

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        """Load the members; with a calibration fit it on the val split's averaged PDFs. Reports the
        val metrics once (epoch 0) and, with a calibration, val and test PIT KS and bias before it
        (the test split only measured: after it, the run's test_pit_ks and test_bias)."""
        self.estimators = self._load_members(self.model_cfg.trust_pickles)
        before: dict[str, float] = {}
        if self.model_cfg.calibration != "none":
            before = {**self._before_and_after(data, "val"), **self._before_and_after(data, "test")}
        val = self.predict(data, data.split_index("val"))
        after = {"val_pit_ks": pit_ks(val.pdf.astype(float), self.grid, val.z_spec)} if before else {}
        m = val.metrics("val_")
        on_epoch(0, {k: m[k] for k in ("val_sigma_mad", "val_bias", "val_eta")} | after | before)

    def n_trainable_params(self) -> int:
        """The members' together: what the ensemble's predictions rest on."""
        return int(np.nansum([m.n_trainable_params for m in self.members]))

    def cost(self) -> dict[str, float]:
        """The members' training time and inference FLOPs per galaxy, summed (FLOPs only when every
        member logged them); `train_seconds` replaces the run's own (the seconds spent loading)."""
        out = {"train_seconds": float(np.nansum([m.train_seconds for m in self.members]))}
        flops = [m.flops_per_galaxy for m in self.members]
        return out | ({"flops_per_galaxy": float(sum(flops))} if not np.isnan(flops).any() else {})

    def log_model(self) -> None:
        """Log ensemble.json under the MLmodel flavour photoz_ensemble (no pickle, no code)."""
        from mlflow.models import Model

        calibration = self.calibration.to_dict() if self.calibration is not None else None
        Model.log(None, _Flavour(plain(self.model_cfg), self.members, calibration), name=self.model_name,
                  metadata={"photoz": {"model": {"name": "ensemble"}}})  # fmt: skip

    def _load_members(self, trust_pickles: bool) -> list[Estimator]:
        """Each member loaded by its own estimator (and checked by its own format)."""
        from photoz.estimators.build import estimator_class

        return [estimator_class(m.model).load(m.model_uri, trust_pickles) for m in self.members]

    @classmethod
    def load(cls, model_uri: str, trust_pickles: bool = False) -> EnsembleEstimator:
        """The ensemble a run logged, its members loaded (RAIL members only with `trust_pickles`)."""
        est = super().load(model_uri, trust_pickles)
        est.estimators = est._load_members(trust_pickles)
        return est

    @classmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict[str, Any], where: str) -> EnsembleEstimator:
        """The ensemble whose checked folder is `folder`: its JSON read and checked, members not loaded yet."""
        spec = read_spec(folder / FILE, where)
        est = cls(as_schema(EnsembleSchema, spec["model"]))
        est.members = spec["members"]
        if spec["calibration"] is not None:
            est.calibration = PitCalibration.from_dict(spec["calibration"], where)
        return est


class _Flavour:
    """What mlflow.models.Model.log calls to write the model folder: ensemble.json and the MLmodel."""

    __name__ = FORMAT

    def __init__(self, model: dict[str, Any], members: list[Member], calibration: dict | None) -> None:
        self.spec = (model, members, calibration)

    def save_model(self, path: str, mlflow_model: Any, **kwargs: Any) -> None:
        folder = Path(path)
        folder.mkdir(parents=True)
        write_spec(folder, *self.spec)
        mlflow_model.add_flavor(FORMAT, data=FILE, format_version=1)
        mlflow_model.save(str(folder / "MLmodel"))
