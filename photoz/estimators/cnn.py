"""CNNEstimator: the CNNs of photoz.models behind the common Estimator interface.

The network that gets trained, checkpointed and logged to MLflow is a PhotozNet
(photoz.training.net): the per-band normalisation (fitted on train) followed by the backbone from
photoz.models. A logged model therefore takes raw nJy cutouts (and, with model.catalog_features,
the raw catalogue columns, photoz.training.catalog_inputs); its logits become z_phot, z_err and the PDF through
photoz.models.head_predict (`CNNEstimator.load(uri).predict(...)`, used by photoz.predict).
It is logged as safetensors weights + a JSON config (photoz.training.model_files) with an MLflow
"model from code" (photoz.estimators.pyfunc); `load` rebuilds the network from photoz's own code.
It gets only its slices of the config (model, trainer, optimizer, seed, the checkpoint directory,
and tracking.uri, where model.init's pretraining run is: photoz.estimators.pretrained). Unlike the
one-shot catalogue estimators it reads trainer.* and optimizer.*, checks that the network fits the
data before a run starts, trains for trainer.max_epochs, checkpoints for resuming, and names its
runs and states its cost by its network (depth/width or arch, lr; FLOPs per galaxy).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import tempfile
from collections.abc import Collection
from pathlib import Path

import numpy as np
import torch

from photoz.config import OptimizerConfig, PhotozConfig, TrainerConfig, plain
from photoz.data.format import UNLABELLED, Dataset
from photoz.errors import ConfigError
from photoz.estimators.base import Estimator
from photoz.estimators.cnn_predict import CNNPrediction
from photoz.estimators.naming import short_number
from photoz.estimators.pretrained import pretrained_for
from photoz.estimators.teacher import check_teacher, teacher_targets
from photoz.inference.quantize import check_quantisable, write_int8
from photoz.models.build import build_model, check_redshift_range, head_loss, n_trainable_params
from photoz.models.cost import flops_per_galaxy
from photoz.models.schema import HeadConfig
from photoz.training import distributed
from photoz.training.augment import Augment, random_dihedral
from photoz.training.catalog_inputs import catalog_array
from photoz.training.checkpoint import Checkpoints
from photoz.training.consistency import Consistency, check_semi_supervised, strong_views
from photoz.training.dimming import check_dimming, dimming_for
from photoz.training.encoder import Encoder, start_from
from photoz.training.hooks import EpochHook
from photoz.training.inputs import check_inputs, square_stamp
from photoz.training.loop import FitContext, Task, fit, predict_outputs
from photoz.training.model_files import write_model_files
from photoz.training.net import PhotozNet, read_net
from photoz.training.normalise import noise_scale
from photoz.training.runtime import Runtime, choose_runtime

log = logging.getLogger(__name__)
PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")  # photoz.estimators.pyfunc, not imported here


class CNNEstimator(CNNPrediction, Estimator):
    """model=sequential | googlenet | resnet | efficientnet | timm, trained by photoz.training.loop."""

    ignores = ()  # it reads trainer.* and optimizer.*: a run logs them
    model_format = "cnn"
    tracking_uri = "sqlite:///mlruns/mlflow.db"  # where model.init's pretraining run is (from_config: tracking.uri)
    encoder: Encoder | None = None  # model.init's pretrained encoder, fetched by check (or build_net)

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
        # a pretrained encoder learnt from unlabelled images too, and so does consistency training
        self.uses_unlabelled = bool(model_cfg.init) or model_cfg.semi_supervised != "none"

    @classmethod
    def from_config(cls, cfg: PhotozConfig) -> CNNEstimator:
        """The model config, the seed, the trainer and optimizer configs, and tracking.uri."""
        est = cls(cfg.model, cfg.seed, trainer=cfg.trainer, optimizer=cfg.optimizer)
        est.tracking_uri = cfg.tracking.uri
        return est

    def check(self, data: Dataset) -> None:
        """A network that fits `data` (bands, stamps, catalogue columns; an unknown timm arch), a
        train split at least one batch long, and trainer.device on this machine."""
        check_inputs(self.model_cfg, data)
        self.encoder = pretrained_for(self.model_cfg, self.tracking_uri, data.bands, data.images.shape[2:])
        n_train = len(data.split_index("train"))
        if self.trainer.batch_size > n_train:
            raise ConfigError(
                f"trainer.batch_size={self.trainer.batch_size} is larger than the train split ({n_train} "
                f"galaxies in {data.path}); use trainer.batch_size={min(n_train, 64)} or more data"
            )
        check_semi_supervised(self.model_cfg, data.bands, len(data.split_index(UNLABELLED)))
        check_teacher(self.model_cfg, self.seed, data)
        check_dimming(self.model_cfg)
        choose_runtime(self.trainer)
        if self.trainer.log_int8:
            check_quantisable(self.model_cfg)

    def use_checkpoint_dir(self, path: str) -> None:
        self.checkpoint_dir = path

    def run_name_parts(self, searched: Collection[str] | None) -> list[str]:
        """d<depth> (or the timm arch), lr<lr>, and w<width> where it is not the network's default:
        d4 lr2e-3, d5 lr3e-4 w64; in a sweep, what differs between trials, lr with two digits and
        w<width> only if the sweep searches it (d5 lr3.2e-4)."""
        m, lr = self.model_cfg, self.optimizer.lr
        lr_part = f"lr{short_number(lr, 1 if searched is None else 2)}"
        if hasattr(m, "arch"):
            return [m.arch, lr_part]
        width = m.width != type(m)().width if searched is None else "model.width" in searched
        return [f"d{m.depth}", lr_part] + ([f"w{m.width}"] if width else [])

    @property
    def max_epochs(self) -> int:
        return self.trainer.max_epochs

    def cost(self) -> dict[str, float]:
        """FLOPs per galaxy (photoz.models.cost), beside the parameters every estimator counts."""
        return {"flops_per_galaxy": self.flops_per_galaxy()}

    def runtime(self) -> Runtime:
        """Resolve trainer.device/precision and move the net there in the matching memory layout."""
        rt = choose_runtime(self.trainer)
        rt = dataclasses.replace(rt, device=distributed.local_device(rt.device))  # a GPU per torchrun rank
        self.net.to(rt.device, memory_format=torch.channels_last if rt.channels_last else torch.contiguous_format)
        return rt

    def build_net(self, data: Dataset, train_idx: np.ndarray) -> PhotozNet:
        """A fresh PhotozNet for `data`'s bands and stamps, normalised on the rows `train_idx`."""
        torch.manual_seed(self.seed)  # same seed, same initial weights, whoever calls fit
        backbone = build_model(self.model_cfg, len(data.bands), square_stamp(data))
        net = PhotozNet(backbone, noise_scale(data.images, train_idx), self.model_cfg, data.bands, data.images.shape[2:])
        if net.catalog is not None:
            net.catalog.fit(catalog_array(self.model_cfg, data, train_idx), data.fluxes(train_idx)[1])
        if self.model_cfg.init:  # model.init: the pretrained encoder's weights and normalisation
            self.encoder = self.encoder or pretrained_for(self.model_cfg, self.tracking_uri, data.bands, net.stamp)
            start_from(net, self.encoder, self.model_cfg.freeze_encoder)
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

        unlabelled = self._consistency(data, rt) if model_cfg.semi_supervised != "none" else None
        checkpoints = Checkpoints(self.checkpoint_dir or tempfile.mkdtemp(prefix="photoz-ckpt-"))
        task = Task(train, validate, loss, unlabelled, self._augment(data))
        fit(self.net, task, self.trainer, self.optimizer, FitContext(rt, checkpoints, on_epoch, self.seed))
        if self.trainer.log_int8 and distributed.is_main():
            self.quantised(data)  # the final net, for log_model

    def _augment(self, data: Dataset) -> Augment:
        """Each labelled batch's augmentation: a flip / 90° rotation, with model.dimming also the
        dimming, its sky noise (and with model.dimming_to=sample the photometric sample's
        brightness) measured on every non-test stamp, labelled or not (a selection's labelled
        galaxies are bright, and their stamps' borders hold galaxy light)."""
        if not self.model_cfg.dimming:
            return random_dihedral
        rows = np.concatenate([data.split_index(s) for s in ("train", "val", UNLABELLED)])
        return dimming_for(self.model_cfg, data.images, rows)

    def _consistency(self, data: Dataset, rt: Runtime) -> Consistency:
        """model.semi_supervised=consistency's term: this rank's unlabelled galaxies and their
        strong views, noise re-drawn at their own sky level."""
        index = distributed.shard(data.split_index(UNLABELLED))
        cfg = self.model_cfg.consistency
        views = strong_views(cfg, data.bands, noise_scale(data.images, index))
        per_step = cfg.ratio * self.trainer.batch_size
        log.info("semi-supervised: %d unlabelled galaxies, %d drawn per step (with replacement)", len(index), per_step)
        if per_step > len(index):
            log.warning("model.consistency.ratio=%d draws %d unlabelled galaxies per step from %d: each is seen "
                        "several times per step; a lower ratio costs less", cfg.ratio, per_step, len(index))  # fmt: skip
        targets = teacher_targets(self.model_cfg, self.seed, data, index)  # None: the network's own PDF
        targets = None if targets is None else torch.from_numpy(targets).to(rt.device)
        return Consistency(cfg, self._source(data, index, rt), views, self.trainer.batch_size, targets)

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
        signature = infer_signature(example if len(example) > 1 else example["images"], out, params={"precision": "fp32"})
        one = net.example_inputs(1)  # the input example: MLflow loads the logged model and runs it once
        model = plain(net.model_cfg)  # the JSON beside the weights and the MLmodel metadata: a plain dict
        config = {"model": model, "bands": net.bands, "stamp": list(net.stamp)}
        with tempfile.TemporaryDirectory() as tmp:
            artifacts = write_model_files(tmp, net.state_dict(), config)
            if self.int8 is not None:  # trainer.log_int8
                artifacts.update(write_int8(self.int8, Path(tmp)))
            mlflow.pyfunc.log_model(
                name=self.model_name,
                python_model=str(PYFUNC_CODE),  # "model from code": imports photoz, unpickles nothing
                artifacts=artifacts,
                signature=signature,
                input_example=one if len(one) > 1 else one["images"],
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}", "safetensors", "photoz"],
                metadata={"photoz_model": model, "bands": net.bands, "stamp": list(net.stamp)},
            )

    @classmethod
    def from_folder(cls, folder: str | Path, where: str) -> CNNEstimator:
        """The estimator whose weights + config (photoz.training.model_files) are in `folder`."""
        net = read_net(folder, where)
        return cls(net.model_cfg, net=net.eval())

    @classmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict, where: str) -> CNNEstimator:
        """The estimator a run logged, from its checked folder; predicts on CPU or trainer defaults."""
        return cls.from_folder(folder / "artifacts", where)
