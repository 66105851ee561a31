"""The prediction side of CNNEstimator (photoz.estimators.cnn): its network's logits for any rows
of a data set, turned into Predictions by the head (photoz.models.head_predict).

Images-only networks predict through the fast path (photoz.inference.fast: batch norm folded,
ONNX Runtime or eager PyTorch, whichever measures faster), with reading, the network and the
head's summaries of consecutive batches overlapping (photoz.inference.stream), so that a long
prediction (photoz.predict) runs at nearly the network's own speed. Networks that also take
catalogue columns predict with the eager network, batch by batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from photoz.config import TrainerConfig
from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.inference.fast import BATCH_CANDIDATES, Batched, FastPredictor
from photoz.inference.quantize import BACKEND, Int8Model, calibration_rows, quantize
from photoz.inference.stream import read_rows, stream_predictions
from photoz.models.build import head_predict
from photoz.predictions.table import Predictions, z_grid
from photoz.training.batches import BatchSource
from photoz.training.catalog_inputs import catalog_array
from photoz.training.loop import predict_outputs
from photoz.training.net import PhotozNet
from photoz.training.runtime import Runtime

log = logging.getLogger(__name__)


class CNNPrediction:
    """Mixed into CNNEstimator, which provides `net`, `trainer` and `runtime()`."""

    net: PhotozNet
    trainer: TrainerConfig
    _fast: Batched | None = None  # the fast path, built for `_fast_for` (a net) on first use
    _fast_for: nn.Module | None = None
    int8: Int8Model | None = None  # a quantised copy of the net, made by quantised

    def runtime(self) -> Runtime:
        raise NotImplementedError

    def _source(self, data: Dataset, index: np.ndarray, rt: Runtime) -> BatchSource:
        z = np.asarray(data.catalog["redshift"], dtype=np.float32)[index]
        catalog = catalog_array(self.net.model_cfg, data, index)
        return BatchSource(data.images, index, z, rt.device, self.trainer.preload_max_gb, catalog)

    def _predictions(self, logits: np.ndarray | torch.Tensor, data: Dataset, index: np.ndarray) -> Predictions:
        model_cfg = self.net.model_cfg
        z_phot, z_err, pdf = head_predict(torch.as_tensor(logits), model_cfg)
        grid = z_grid(model_cfg.n_bins, model_cfg.z_max) if pdf is not None else None
        ids = np.asarray(data.catalog["id"])[index]
        return Predictions(ids, np.asarray(data.catalog["redshift"], float)[index], z_phot, z_err, pdf, grid)

    def _check_compatible(self, data: Dataset) -> None:
        if self.int8 is not None and self._fast is not None and self._fast.backend == BACKEND:
            self.int8.check(data.bands, tuple(data.images.shape[2:]), str(data.path))
        if data.bands != self.net.bands:
            raise DataError(f"{data.path} has bands {data.bands} but the model was trained on {self.net.bands}")
        if tuple(data.images.shape[2:]) != self.net.stamp:
            raise DataError(f"{data.path} has {data.images.shape[2:]} stamps but the model was trained on {self.net.stamp}")

    def _fast_path(self, data: Dataset, rt: Runtime) -> Batched:
        """The fast path (photoz.inference.fast) for self.net, built on first use."""
        if self._fast is None or self._fast_for is not self.net:
            example = torch.from_numpy(read_rows(data.images, np.arange(min(2, len(data)))))
            self._fast, self._fast_for = FastPredictor(self.net, rt, example), self.net
            log.info("predicting with %s", self._fast.backend)
        return self._fast

    def quantised(self, calibration: Dataset) -> Int8Model:
        """The net quantised to int8 (photoz.inference.quantize; once), calibrated on train-split
        stamps of `calibration`; predictions stay as they are (use_int8 switches them)."""
        if self.int8 is None:
            self._check_compatible(calibration)
            stamps = read_rows(calibration.images, calibration_rows(calibration.split_index("train")))
            self.int8 = quantize(self.net, stamps, {"data": str(calibration.path), "split": "train"})
            log.info("quantised to int8 on %d train stamps of %s", len(stamps), calibration.path)
        return self.int8

    def use_int8(self, calibration: Dataset) -> Int8Model:
        """Predict with the int8 model from now on (`quantised`)."""
        model = self.quantised(calibration)
        self._fast, self._fast_for = model.predictor(), self.net
        return model

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        (pred,) = self.predict_batches(data, [index])
        return pred

    def prepare_predict(self, data: Dataset, index: np.ndarray) -> None:
        """Build the fast path and let it pick its backend and batch size on the first rows."""
        self._check_compatible(data)
        if self.net.catalog is None:
            self._fast_path(data, self.runtime()).prepare(read_rows(data.images, index[: sum(BATCH_CANDIDATES)]))

    def predict_batches(self, data: Dataset, batches: Iterable[np.ndarray]) -> Iterator[Predictions]:
        """The fast path with reading, the network and the head's summaries overlapping
        (photoz.inference.stream); with catalogue inputs the eager network (images only there)."""
        self._check_compatible(data)
        rt = self.runtime()
        if self.net.catalog is not None:
            eager = lambda index: predict_outputs(self.net, self._source(data, index, rt), rt, 2 * self.trainer.batch_size)  # noqa: E731
            return (self._predictions(eager(index), data, index) for index in batches)
        summarise = lambda index, logits: self._predictions(logits, data, index)  # noqa: E731
        return stream_predictions(self._fast_path(data, rt), data.images, batches, summarise)
