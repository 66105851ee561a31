"""CNNEstimator: the CNNs of photoz.models behind the common Estimator interface.

The network that gets trained, checkpointed and logged to MLflow is a PhotozNet: the per-band
normalisation (fitted on train) followed by the backbone from photoz.models. A logged model
therefore takes raw nJy cutouts (and, with model.catalog_features, the raw catalogue columns,
photoz.training.catalog_inputs); its logits become z_phot, z_err and the PDF through
photoz.models.head_predict (`CNNEstimator.load(uri).predict(...)`, used by photoz.predict).
It is logged as safetensors weights + a JSON config (photoz.training.model_files) with an MLflow
"model from code" (photoz.estimators.pyfunc); `load` rebuilds the network from photoz's own code.
The estimator gets only its slices of the config: the model's dataclass (photoz.models.schema),
the trainer and optimizer configs, the seed and the checkpoint directory.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from photoz.config import OptimizerConfig, TrainerConfig, as_schema, plain
from photoz.data.format import Dataset
from photoz.errors import DataError
from photoz.estimators.base import Estimator
from photoz.estimators.registry import REGISTRY, cnn_names
from photoz.predictions.table import Predictions, z_grid
from photoz.inference.fast import FastPredictor
from photoz.models.build import build_model, check_redshift_range, head_loss, head_predict, n_trainable_params
from photoz.models.catalog import catalog_columns
from photoz.models.cost import flops_per_galaxy
from photoz.models.schema import HeadConfig
from photoz.training import distributed
from photoz.training.batches import BatchSource
from photoz.training.catalog_inputs import CatalogNormalise, catalog_array
from photoz.training.checkpoint import Checkpoints
from photoz.training.hooks import EpochHook
from photoz.training.loop import fit, predict_outputs
from photoz.training.model_files import ModelFileError, read_model_files, write_model_files
from photoz.training.normalise import ArcsinhNormalise, noise_scale
from photoz.training.runtime import Runtime, choose_runtime

log = logging.getLogger(__name__)
PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")  # photoz.estimators.pyfunc, not imported here


class PhotozNet(nn.Module):
    """Normalisation + backbone: raw (B, C, H, W) fluxes in nJy (and the raw (B, K) catalogue
    columns of model.catalog_features) -> the head's logits, (B, n_bins) on z_grid(n_bins, z_max)
    for head=pdf or (B, 1) for head=regression (photoz.models.heads). The catalogue normalisation
    is built unfitted from the config (its numbers are buffers: fitted by build_net or loaded)."""

    def __init__(self, backbone: nn.Module, scale: np.ndarray, model_cfg: HeadConfig, bands: list[str], stamp: tuple[int, int]) -> None:
        super().__init__()
        self.normalise = ArcsinhNormalise(scale)
        self.backbone = backbone
        self.model_cfg = model_cfg  # saved as a JSON dict beside the weights: what load() rebuilds from
        self.bands = list(bands)
        self.stamp = tuple(stamp)
        self.catalog = CatalogNormalise.for_config(self.model_cfg, len(self.bands))

    def forward(self, images: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        if self.catalog is None:
            return self.backbone(self.normalise(images))
        if catalog is None:
            raise ValueError(f"this network also takes the catalogue columns {catalog_columns(self.model_cfg, self.bands)}")
        return self.backbone(self.normalise(images), self.catalog(catalog))

    def example_inputs(self, n: int) -> dict[str, np.ndarray]:
        """Zero inputs for n galaxies by name (images, and catalog with catalog_features)."""
        inputs = {"images": np.zeros((n, len(self.bands), *self.stamp), dtype=np.float32)}
        if self.catalog is not None:
            inputs["catalog"] = np.zeros((n, len(catalog_columns(self.model_cfg, self.bands))), dtype=np.float32)
        return inputs


def square_stamp(data: Dataset) -> int:
    """The stamps' side in pixels; DataError if they are not square."""
    stamp = data.images.shape[2:]
    if stamp[0] != stamp[1]:
        raise DataError(f"{data.path}: stamps are {stamp[0]}x{stamp[1]}; the CNNs need square stamps")
    return int(stamp[0])


def check_inputs(model_cfg: HeadConfig, data: Dataset) -> None:
    """ConfigError/DataError (one line) unless `model_cfg` builds for `data`'s bands and stamps
    and the catalogue has the columns of model.catalog_features."""
    build_model(model_cfg, len(data.bands), square_stamp(data))
    catalog_array(model_cfg, data, np.arange(len(data)))


class CNNEstimator(Estimator):
    """model=sequential | googlenet | resnet | efficientnet | timm, trained by photoz.training.loop."""

    uses_trainer = True

    def __init__(
        self, model_cfg: HeadConfig, seed: int = 0, trainer: TrainerConfig | None = None,
        optimizer: OptimizerConfig | None = None, checkpoint_dir: str | None = None, net: PhotozNet | None = None,
    ) -> None:  # fmt: skip
        """`model_cfg` builds the network; `trainer` (default: TrainerConfig()) sets device, precision
        and batches; `optimizer` and `seed` are for fit, which checkpoints into `checkpoint_dir`
        (None: a fresh temp dir). `net`: an already built network (a loaded model)."""
        self.model_cfg = model_cfg
        self.seed = seed
        self.trainer = trainer or TrainerConfig()
        self.optimizer = optimizer
        self.checkpoint_dir = checkpoint_dir
        self.net = net
        self._fast: FastPredictor | None = None  # built for self.net on the first predict
        self._fast_for: nn.Module | None = None

    def runtime(self) -> Runtime:
        """Resolve trainer.device/precision and move the net there in the matching memory layout."""
        rt = choose_runtime(self.trainer)
        rt = dataclasses.replace(rt, device=distributed.local_device(rt.device))  # a GPU per torchrun rank
        self.net.to(rt.device, memory_format=torch.channels_last if rt.channels_last else torch.contiguous_format)
        return rt

    def _source(self, data: Dataset, index: np.ndarray, rt: Runtime) -> BatchSource:
        z = np.asarray(data.catalog["redshift"], dtype=np.float32)[index]
        catalog = catalog_array(self.net.model_cfg, data, index)
        return BatchSource(data.images, index, z, rt.device, self.trainer.preload_max_gb, catalog)

    def _predictions(self, logits: np.ndarray, data: Dataset, index: np.ndarray) -> Predictions:
        model_cfg = self.net.model_cfg
        z_phot, z_err, pdf = head_predict(torch.from_numpy(logits), model_cfg)
        grid = z_grid(model_cfg.n_bins, model_cfg.z_max) if pdf is not None else None
        ids = np.asarray(data.catalog["id"])[index]
        return Predictions(ids, np.asarray(data.catalog["redshift"], float)[index], z_phot, z_err, pdf, grid)

    def build_net(self, data: Dataset, train_idx: np.ndarray) -> PhotozNet:
        """A fresh PhotozNet for `data`'s bands and stamps, normalised on the rows `train_idx`."""
        torch.manual_seed(self.seed)  # same seed, same initial weights, whoever calls fit
        backbone = build_model(self.model_cfg, len(data.bands), square_stamp(data))
        net = PhotozNet(backbone, noise_scale(data.images, train_idx), self.model_cfg, data.bands, data.images.shape[2:])
        if net.catalog is not None:
            net.catalog.fit(catalog_array(self.model_cfg, data, train_idx), data.fluxes(train_idx)[1])
        return net

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        if self.optimizer is None:
            raise ValueError("this CNNEstimator has no optimizer config (a loaded model); build one with it to train")
        train_idx, val_idx = data.split_index("train"), data.split_index("val")
        check_redshift_range(np.asarray(data.catalog["redshift"])[train_idx], self.model_cfg)
        model_cfg = self.model_cfg
        self.net = self.build_net(data, train_idx)
        rt = self.runtime()
        distributed.init()
        log.info("training %s on %s (%d train, %d val)", model_cfg.name, rt.describe(), len(train_idx), len(val_idx))
        train = self._source(data, distributed.shard(train_idx), rt)  # this rank's shard under torchrun
        val = self._source(data, val_idx, rt) if distributed.is_main() else None
        eval_batch = 2 * self.trainer.batch_size

        def validate() -> dict[str, float]:
            return self._predictions(predict_outputs(self.net, val, rt, eval_batch), data, val_idx).metrics("val_")

        def loss(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return head_loss(logits, z, model_cfg)

        ckpt_dir = self.checkpoint_dir or tempfile.mkdtemp(prefix="photoz-ckpt-")
        fit(self.net, train, validate, loss, self.trainer, self.optimizer, self.seed, rt, Checkpoints(ckpt_dir), on_epoch)

    def _check_compatible(self, data: Dataset) -> None:
        if data.bands != self.net.bands:
            raise DataError(f"{data.path} has bands {data.bands} but the model was trained on {self.net.bands}")
        if tuple(data.images.shape[2:]) != self.net.stamp:
            raise DataError(f"{data.path} has {data.images.shape[2:]} stamps but the model was trained on {self.net.stamp}")

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        self._check_compatible(data)
        rt = self.runtime()
        source = self._source(data, index, rt)
        if self.net.catalog is not None:  # images + catalogue: the eager network (the fast path takes images only)
            return self._predictions(predict_outputs(self.net, source, rt, 2 * self.trainer.batch_size), data, index)
        if self._fast is None or self._fast_for is not self.net:  # the fast path (photoz.inference.fast)
            self._fast, self._fast_for = FastPredictor(self.net, rt, source.take(torch.arange(min(2, len(source))))[0]), self.net
            log.info("predicting with %s", self._fast.backend)
        out = self._fast.outputs(lambda pos: source.take(pos)[0], len(source))
        return self._predictions(out, data, index)

    def n_trainable_params(self) -> int:
        return n_trainable_params(self.net)

    def flops_per_galaxy(self) -> int:
        """Inference FLOPs of one galaxy (photoz.models.cost), counted on the net where it is."""
        device = next(self.net.parameters()).device
        inputs = [torch.from_numpy(a).to(device) for a in self.net.example_inputs(1).values()]
        return flops_per_galaxy(self.net, *inputs)

    def log_model(self) -> None:
        """Log the PhotozNet (fp32) as weights + config with its tensor signature, no pickle: one
        input `images`, or two named inputs `images` and `catalog` with catalog_features."""
        import mlflow
        from mlflow.models import infer_signature

        net = copy.deepcopy(self.net).float().cpu().to(memory_format=torch.contiguous_format).eval()
        example = net.example_inputs(2)
        with torch.inference_mode():
            out = net(*(torch.from_numpy(a) for a in example.values())).numpy()
        signature = infer_signature(example if len(example) > 1 else example["images"], out)
        one = net.example_inputs(1)  # the input example: MLflow loads the logged model and runs it once
        model = plain(net.model_cfg)  # the JSON beside the weights and the MLmodel metadata: a plain dict
        config = {"model": model, "bands": net.bands, "stamp": list(net.stamp)}
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.pyfunc.log_model(
                name=self.model_name,
                python_model=str(PYFUNC_CODE),  # "model from code": imports photoz, unpickles nothing
                artifacts=write_model_files(tmp, net.state_dict(), config),
                signature=signature,
                input_example=one if len(one) > 1 else one["images"],
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}", "safetensors", "photoz"],
                metadata={"photoz_model": model, "bands": net.bands, "stamp": list(net.stamp)},
            )

    @classmethod
    def from_folder(cls, folder: str | Path, where: str) -> CNNEstimator:
        """The estimator whose weights + config (photoz.training.model_files) are in `folder`."""
        config, state = read_model_files(folder, where)
        try:  # the saved dict as the model's dataclass (keys added since it was saved: their defaults)
            name = config["model"]["name"]
            if name not in cnn_names():
                raise KeyError(name)
            model_cfg = as_schema(REGISTRY[name].schema, config["model"])
        except (KeyError, TypeError, OmegaConfBaseException) as err:
            raise ModelFileError(f"{where}: its model config is not a photoz CNN's ({str(err).splitlines()[0]}); retrain it") from None
        bands, stamp = list(config["bands"]), tuple(config["stamp"])
        backbone = build_model(model_cfg, len(bands), int(stamp[0]))
        net = PhotozNet(backbone, np.ones(len(bands), np.float32), model_cfg, bands, stamp)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise ModelFileError(f"{where}: the weights do not fit the config's network ({str(err).splitlines()[0]}); retrain it") from None
        return cls(model_cfg, net=net.eval())

    @classmethod
    def load(cls, model_uri: str) -> CNNEstimator:
        """The estimator a run logged (runs:/<id>/model); predicts on CPU or trainer defaults."""
        import mlflow

        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
            return cls.from_folder(Path(local) / "artifacts", model_uri)
