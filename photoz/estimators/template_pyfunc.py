"""The MLflow "model from code" of a logged template fit, for `mlflow models serve` and
`mlflow.pyfunc.load_model`: input columns flux_<b>, flux_err_<b> (nJy) for the logged bands,
output z_phot, z_err.

MLflow logs this file as the model's code and the fit's config (a JSON file: the photoz metadata)
as its artifact, so the logged model holds no pickle. photoz itself never runs the logged copy of
this file: `TemplateFitEstimator.load` reads only the MLmodel metadata.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd


class TemplateFitModel(mlflow.pyfunc.PythonModel):
    """Rebuilds the template fit from the model's JSON config, then fits the given fluxes."""

    def load_context(self, context: Any) -> None:
        from photoz.estimators.template_fit import TemplateFitEstimator

        with open(context.artifacts["config"]) as f:
            self.meta = json.load(f)["photoz"]
        self.est = TemplateFitEstimator.from_saved(self.meta)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from photoz.predictions.table import Predictions

        bands = self.meta["bands"]
        flux = model_input[[f"flux_{b}" for b in bands]].to_numpy(float)
        err = model_input[[f"flux_err_{b}" for b in bands]].to_numpy(float)
        pdf = self.est.pdf(flux, err, bands)
        pred = Predictions.from_pdf(np.arange(len(flux)), np.zeros(len(flux)), pdf, self.est.grid, self.est.point)
        return pd.DataFrame({"z_phot": pred.z_phot, "z_err": pred.z_err})


mlflow.models.set_model(TemplateFitModel())
