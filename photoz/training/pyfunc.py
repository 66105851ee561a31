"""The MLflow "model from code" of a logged photoz CNN, for `mlflow models serve` and
`mlflow.pyfunc.load_model`: input (N, C, H, W) float32 fluxes in nJy, output the head's logits.

MLflow logs this file as the model's code and the weights + config (photoz.training.model_files)
as its artifacts, so the logged model holds no pickle. photoz itself never runs the logged copy of
this file: `CNNEstimator.load` reads only the weights and the config and rebuilds the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import torch


class PhotozCNNModel(mlflow.pyfunc.PythonModel):
    """Rebuilds the PhotozNet from the model's artifacts, then maps cutouts to logits."""

    def load_context(self, context: Any) -> None:
        from photoz.estimators.cnn import CNNEstimator

        self.net = CNNEstimator.from_folder(Path(context.artifacts["weights"]).parent, "the MLflow model").net.eval()

    def predict(self, context, model_input, params=None):  # no type hints: MLflow would read them as a schema
        named = model_input if isinstance(model_input, dict) else {"images": model_input}  # + catalog
        inputs = [torch.from_numpy(np.asarray(named[k], dtype=np.float32)) for k in ("images", "catalog") if k in named]
        with torch.inference_mode():
            return self.net(*inputs).numpy()


mlflow.models.set_model(PhotozCNNModel())
