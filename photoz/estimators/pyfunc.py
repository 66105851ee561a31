"""The MLflow "model from code" of a logged photoz CNN, for `mlflow models serve` and
`mlflow.pyfunc.load_model`: input (N, C, H, W) float32 fluxes in nJy, output the head's logits;
`params={"precision": "int8"}` runs the int8 copy a run logged with trainer.log_int8=true
(photoz.inference.quantize, ONNX Runtime) instead of the fp32 network.

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
        from photoz.inference.quantize import load_int8

        folder = Path(context.artifacts["weights"]).parent
        self.net = CNNEstimator.from_folder(folder, "the MLflow model").net.eval()
        self.int8, self.int8_run = load_int8(folder, self.net, "the MLflow model")  # one ONNX Runtime session

    def predict(self, context: Any, model_input: np.ndarray, params: dict | None = None) -> np.ndarray:
        """Logits for (N, C, H, W) cutouts. np.ndarray is the hint from which MLflow infers no schema
        (the logged tensor signature is the schema); with catalog features MLflow passes a dict of
        such arrays, `images` and `catalog`, which its type hints cannot express."""
        named = model_input if isinstance(model_input, dict) else {"images": model_input}  # + catalog
        inputs = [torch.from_numpy(np.asarray(named[k], dtype=np.float32)) for k in ("images", "catalog") if k in named]
        precision = (params or {}).get("precision", "fp32")
        if precision not in ("fp32", "int8"):
            raise ValueError(f"params precision={precision!r}: expected fp32 or int8")
        if precision == "int8":
            if self.int8 is None or self.int8_run is None:
                raise ValueError("this model holds no int8 copy: train it with trainer.log_int8=true, or predict in fp32")
            self.int8.check(self.net.bands, tuple(inputs[0].shape[2:]), "the input")
            return self.int8_run(inputs[0]).numpy()
        with torch.inference_mode():
            return self.net(*inputs).numpy()


mlflow.models.set_model(PhotozCNNModel())
