"""CNNEstimator: the sequential and GoogLeNet CNNs behind the common Estimator interface.

The network that gets trained, checkpointed and logged to MLflow is a PhotozNet: the per-band
normalisation (fitted on train) followed by the backbone from photoz.models. A logged model
therefore takes raw nJy cutouts; its logits become z_phot, z_err and the PDF through
photoz.models.head_predict (`CNNEstimator.load(uri).predict(...)`, used by photoz.predict).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import tempfile
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from photoz.config import TrainerConfig
from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.estimators.base import EpochHook, Estimator, Predictions, z_grid
from photoz.inference import FastPredictor
from photoz.models.build import build_model, check_redshift_range, head_loss, head_predict, n_trainable_params
from photoz.training import distributed
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints
from photoz.training.loop import fit, predict_outputs
from photoz.training.normalise import ArcsinhNormalise, noise_scale
from photoz.training.runtime import Runtime, choose_runtime

log = logging.getLogger(__name__)


class PhotozNet(nn.Module):
    """Normalisation + backbone: raw (B, C, H, W) fluxes in nJy -> the head's logits, (B, n_bins)
    on z_grid(n_bins, z_max) for head=pdf or (B, 1) for head=regression (photoz.models.heads)."""

    def __init__(self, backbone: nn.Module, scale: np.ndarray, model_cfg: dict[str, Any], bands: list[str], stamp: tuple[int, int]) -> None:
        super().__init__()
        self.normalise = ArcsinhNormalise(scale)
        self.backbone = backbone
        self.model_cfg = dict(model_cfg)  # pickled with the module: what load() needs to rebuild
        self.bands = list(bands)
        self.stamp = tuple(stamp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalise(x))


class CNNEstimator(Estimator):
    """model=sequential | googlenet, trained by photoz.training.loop."""

    def __init__(self, cfg: DictConfig, net: PhotozNet | None = None) -> None:
        self.cfg = cfg
        self.net = net
        self._fast: FastPredictor | None = None  # built for self.net on the first predict
        self._fast_for: nn.Module | None = None

    def runtime(self) -> Runtime:
        """Resolve trainer.device/precision and move the net there in the matching memory layout."""
        rt = choose_runtime(self.cfg.trainer)
        rt = dataclasses.replace(rt, device=distributed.local_device(rt.device))  # a GPU per torchrun rank
        self.net.to(rt.device, memory_format=torch.channels_last if rt.channels_last else torch.contiguous_format)
        return rt

    def _source(self, data: Dataset, index: np.ndarray, rt: Runtime) -> BatchSource:
        z = np.asarray(data.catalog["redshift"], dtype=np.float32)[index]
        return BatchSource(data.images, index, z, rt.device, self.cfg.trainer.preload_max_gb)

    def _predictions(self, logits: np.ndarray, data: Dataset, index: np.ndarray) -> Predictions:
        model_cfg = OmegaConf.create(self.net.model_cfg)
        z_phot, z_err, pdf = head_predict(torch.from_numpy(logits), model_cfg)
        grid = z_grid(model_cfg.n_bins, model_cfg.z_max) if pdf is not None else None
        ids = np.asarray(data.catalog["id"])[index]
        return Predictions(ids, np.asarray(data.catalog["redshift"], float)[index], z_phot, z_err, pdf, grid)

    def build_net(self, data: Dataset, train_idx: np.ndarray) -> PhotozNet:
        """A fresh PhotozNet for `data`'s bands and stamps, normalised on the rows `train_idx`."""
        torch.manual_seed(self.cfg.seed)  # same seed, same initial weights, whoever calls fit
        backbone = build_model(self.cfg.model, len(data.bands), data.images.shape[2])
        plain_cfg = OmegaConf.to_container(self.cfg.model, resolve=True)
        return PhotozNet(backbone, noise_scale(data.images, train_idx), plain_cfg, data.bands, data.images.shape[2:])

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        train_idx, val_idx = data.split_index("train"), data.split_index("val")
        check_redshift_range(np.asarray(data.catalog["redshift"])[train_idx], self.cfg.model)
        stamp = data.images.shape[2:]
        if stamp[0] != stamp[1]:
            raise DataError(f"{data.path}: stamps are {stamp[0]}x{stamp[1]}; the CNNs need square stamps")
        model_cfg = self.cfg.model
        self.net = self.build_net(data, train_idx)
        rt = self.runtime()
        distributed.init()
        log.info("training %s on %s (%d train, %d val)", self.cfg.model.name, rt.describe(), len(train_idx), len(val_idx))
        train = self._source(data, distributed.shard(train_idx), rt)  # this rank's shard under torchrun
        val = self._source(data, val_idx, rt) if distributed.is_main() else None
        eval_batch = 2 * self.cfg.trainer.batch_size

        def validate() -> dict[str, float]:
            return self._predictions(predict_outputs(self.net, val, rt, eval_batch), data, val_idx).metrics("val_")

        def loss(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return head_loss(logits, z, model_cfg)

        ckpt_dir = self.cfg.trainer.checkpoint_dir or tempfile.mkdtemp(prefix="photoz-ckpt-")
        fit(self.net, train, validate, loss, self.cfg, rt, Checkpoints(ckpt_dir), on_epoch)

    def _check_compatible(self, data: Dataset) -> None:
        if data.bands != self.net.bands:
            raise DataError(f"{data.path} has bands {data.bands} but the model was trained on {self.net.bands}")
        if tuple(data.images.shape[2:]) != self.net.stamp:
            raise DataError(f"{data.path} has {data.images.shape[2:]} stamps but the model was trained on {self.net.stamp}")

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        self._check_compatible(data)
        rt = self.runtime()
        source = self._source(data, index, rt)
        if self._fast is None or self._fast_for is not self.net:  # the fast path (photoz.inference)
            self._fast, self._fast_for = FastPredictor(self.net, rt, source.take(torch.arange(min(2, len(source))))[0]), self.net
            log.info("predicting with %s", self._fast.backend)
        out = self._fast.outputs(lambda pos: source.take(pos)[0], len(source))
        return self._predictions(out, data, index)

    def n_trainable_params(self) -> int:
        return n_trainable_params(self.net)

    def log_model(self) -> None:
        """mlflow.pytorch.log_model of the whole PhotozNet (fp32, CPU) with its tensor signature."""
        import mlflow
        from mlflow.models import infer_signature

        net = copy.deepcopy(self.net).float().cpu().to(memory_format=torch.contiguous_format).eval()
        example = np.zeros((2, len(net.bands), *net.stamp), dtype=np.float32)
        with torch.inference_mode():
            signature = infer_signature(example, net(torch.from_numpy(example)).numpy())
        mlflow.pytorch.log_model(
            net,
            name=self.model_name,
            signature=signature,
            serialization_format="pickle",  # a PhotozNet with its attributes; needs photoz to load
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}"],
            metadata={"photoz_model": net.model_cfg, "bands": net.bands, "stamp": list(net.stamp)},
        )

    @classmethod
    def load(cls, model_uri: str) -> CNNEstimator:
        """The estimator a run logged (runs:/<id>/model); predicts on CPU or trainer defaults."""
        import mlflow

        net = mlflow.pytorch.load_model(model_uri, map_location="cpu")
        cfg = OmegaConf.create({"model": net.model_cfg, "trainer": OmegaConf.structured(TrainerConfig)})
        return cls(cfg, net)
