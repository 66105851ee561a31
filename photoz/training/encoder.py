"""A pretrained encoder's files, and a CNN started from one (model.init, model.freeze_encoder).

`python -m photoz.pretrain` logs the encoder (PhotozNet's per-band normalisation + the backbone up to
its pooled features, photoz.training.contrastive.encoder) as the MLflow artifact folder `encoder/`:

    weights.safetensors   its state_dict (the keys a CNN of the same config has, less the head's)
    photoz_model.json     {"format": "photoz-encoder/1", "model": <model config>, "bands": [...],
                           "stamp": [H, W], "pretraining": {run, method, splits, data, ...}}

in photoz's safe format (photoz.training.model_files: no pickle). A training run with
`model.init=<pretraining run id>` builds its CNN as usual and loads these weights into everything
but the dense head (and the catalogue inputs), which start fresh; the normalisation is the
encoder's. With `model.freeze_encoder=true` only the head trains: the encoder's weights take no
gradient and its layers stay in evaluation mode (BatchNorm keeps the pretrained statistics).
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from photoz.config import plain
from photoz.errors import ConfigError
from photoz.models.schema import HeadConfig
from photoz.training.model_files import CONFIG, WEIGHTS, read_model_files, write_model_files
from photoz.training.net import PhotozNet

ENCODER_FORMAT = "photoz-encoder/1"
ARTIFACT = "encoder"  # the artifact folder of a pretraining run
HEAD_KEYS = {f.name for f in dataclasses.fields(HeadConfig)} - {"name"}  # what fine-tuning may change
FRESH = ("backbone.head.", "catalog.")  # state_dict keys a fine-tuning run trains from scratch


@dataclass
class Encoder:
    """A pretrained encoder as read from its files; `where` names it in messages."""

    model: dict[str, Any]
    bands: list[str]
    stamp: tuple[int, int]
    state: dict[str, Any]
    pretraining: dict[str, Any]
    where: str


def write_encoder(folder: str | Path, net: PhotozNet, pretraining: dict[str, Any]) -> dict[str, str]:
    """The encoder `net` (no head) and what made it, as files in `folder`."""
    config = {"model": plain(net.model_cfg), "bands": net.bands, "stamp": list(net.stamp), "pretraining": pretraining}
    return write_model_files(folder, net.state_dict(), config, ENCODER_FORMAT)


def read_encoder(folder: str | Path, where: str) -> Encoder:
    """The encoder in `folder`; ConfigError naming `where` if it holds none."""
    folder = Path(folder)
    if not ((folder / WEIGHTS).is_file() and (folder / CONFIG).is_file()):
        raise ConfigError(f"{where} logged no pretrained encoder; give model.init the run id of a python -m photoz.pretrain run")
    config, state = read_model_files(folder, where, ENCODER_FORMAT)
    return Encoder(config["model"], list(config["bands"]), tuple(config["stamp"]), state, config.get("pretraining", {}), where)


def architecture(model: dict[str, Any]) -> dict[str, Any]:
    """What must match for the weights to fit: the model config less the head's keys."""
    return {k: v for k, v in model.items() if k not in HEAD_KEYS}


def check_fits(encoder: Encoder, model_cfg: HeadConfig, bands: list[str], stamp: tuple[int, ...]) -> None:
    """ConfigError unless the encoder was pretrained for this network, these bands and stamps."""
    where = f"model.init={encoder.where}"
    if encoder.bands != list(bands):
        raise ConfigError(f"{where}: its encoder was pretrained on bands {encoder.bands}, this data set has {list(bands)}; "
                          "pretrain on these bands or pick a run that did")  # fmt: skip
    if tuple(encoder.stamp) != tuple(stamp):
        raise ConfigError(f"{where}: its encoder was pretrained on {tuple(encoder.stamp)} stamps, this data set has "
                          f"{tuple(stamp)}; pretrain on these stamps or pick a run that did")  # fmt: skip
    mine, theirs = architecture(plain(model_cfg)), architecture(encoder.model)
    if mine != theirs:
        keys = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        shown = ", ".join(f"model.{k}={theirs.get(k)} (here {mine.get(k)})" for k in keys[:4])
        raise ConfigError(f"{where}: its encoder is another network: {shown}; use the model settings it was pretrained with")


def load_encoder(net: PhotozNet, encoder: Encoder) -> None:
    """The encoder's weights (and normalisation) into `net`; the head and catalogue inputs stay fresh."""
    missing, unexpected = net.load_state_dict(encoder.state, strict=False)
    wrong = list(unexpected) + [k for k in missing if not k.startswith(FRESH)]
    if wrong:
        raise ConfigError(f"model.init={encoder.where}: its weights do not fit this network ({', '.join(wrong[:3])}); "
                          "use the model settings it was pretrained with")  # fmt: skip


def _stay_in_eval(module: nn.Module) -> None:
    module.eval()
    module.train = types.MethodType(lambda self, mode=True: self, module)  # net.train() leaves it alone


def freeze_encoder(net: PhotozNet) -> None:
    """Only the dense head (and the catalogue inputs' normalisation) train: every other weight
    takes no gradient and every other layer stays in evaluation mode."""
    for name, child in net.backbone.named_children():
        if name != "head":
            child.requires_grad_(False)
            _stay_in_eval(child)


def start_from(net: PhotozNet, encoder: Encoder, freeze: bool) -> None:
    """`net` starts from the pretrained `encoder` (model.init), trained whole or, with `freeze`
    (model.freeze_encoder), head only."""
    load_encoder(net, encoder)
    if freeze:
        freeze_encoder(net)
