"""The files of a logged CNN: weights in safetensors plus the model's config in JSON, no pickle.

    <folder>/weights.safetensors   every tensor of the PhotozNet's state_dict (normalisation + backbone)
    <folder>/photoz_model.json     {"format": FORMAT, "model": <model config>, "bands": [...], "stamp": [H, W]}

Neither file can run code when read: safetensors is a JSON header plus raw tensor bytes, and the
network is rebuilt by photoz's own code from the config (photoz.estimators.cnn). A folder in any
other form (an old pickled `mlflow.pytorch` model, a tampered file) is refused with one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from photoz.errors import PhotozError, first_line

FORMAT = "photoz-cnn/1"
WEIGHTS, CONFIG = "weights.safetensors", "photoz_model.json"


class ModelFileError(PhotozError):
    """A model folder that is not in photoz's weights + config format."""


def write_model_files(folder: str | os.PathLike, state: dict[str, torch.Tensor], config: dict[str, Any], fmt: str = FORMAT) -> dict[str, str]:
    """Write weights and config (format `fmt`; a pretrained encoder's: photoz.training.encoder)
    into `folder`; returns {"weights": path, "config": path}."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights, cfg = folder / WEIGHTS, folder / CONFIG
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(weights))
    cfg.write_text(json.dumps({"format": fmt, **config}, indent=2, sort_keys=True) + "\n")
    return {"weights": str(weights), "config": str(cfg)}


def read_model_files(folder: str | os.PathLike, where: str, fmt: str = FORMAT) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, state_dict) from `folder`; ModelFileError naming `where` if it is not photoz's format `fmt`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    weights, cfg = folder / WEIGHTS, folder / CONFIG
    if not (weights.is_file() and cfg.is_file()):
        raise ModelFileError(
            f"{where} holds no {WEIGHTS} + {CONFIG} (an older pickled model, or not a photoz CNN); "
            "photoz loads only weights + config, never pickle: retrain it with this photoz"
        )
    try:
        config = json.loads(cfg.read_text())
        if not isinstance(config, dict) or config.get("format") != fmt:
            raise ValueError(f"format is not {fmt!r}")
        if not {"model", "bands", "stamp"} <= config.keys():
            raise ValueError("the config lacks model, bands or stamp")
        state = load_file(str(weights), device="cpu")
    except (ValueError, OSError, SafetensorError) as err:
        raise ModelFileError(f"{where}: {cfg.name} / {WEIGHTS} are not a valid photoz model ({first_line(err)}); retrain it") from None
    return config, state
