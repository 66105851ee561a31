"""Best and last checkpoints of a CNN training run, plus the run's state file.

    <checkpoint_dir>/last.pt     weights, optimizer, scheduler, epoch counters, RNG states: resume
    <checkpoint_dir>/best.pt     weights at the best val σ_MAD so far: what gets evaluated and logged
    <checkpoint_dir>/state.json  MLflow run id, config hash and model config: which run to continue

Files are written to a temp name and renamed, so an interrupted save never leaves a torn file.
They are read with torch's `weights_only=True` loader (tensors, numbers, strings and containers,
no arbitrary classes), so a tampered checkpoint cannot run code: it is refused with one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from photoz.errors import PhotozError, first_line

LAST, BEST, STATE = "last.pt", "best.pt", "state.json"


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Checkpoints:
    """Read and write the checkpoints in one directory."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)

    def save_last(self, payload: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_save(payload, self.dir / LAST)

    def save_best(self, model_state: dict[str, torch.Tensor], epoch: int, val_sigma_mad: float) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_save({"model": model_state, "epoch": epoch, "val_sigma_mad": val_sigma_mad}, self.dir / BEST)

    def load_last(self) -> dict[str, Any] | None:
        return _safe_load(self.dir / LAST)

    def load_best(self) -> dict[str, Any] | None:
        return _safe_load(self.dir / BEST)


def _safe_load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path` (None if absent), read without unpickling arbitrary objects."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (not a zip), EOFError (torn), ...
        raise PhotozError(
            f"{path} is not a photoz checkpoint of tensors and numbers ({first_line(err, 200)}); it was not loaded: "
            "delete it (or the whole folder) and start without trainer.resume"
        ) from None
    if not isinstance(payload, dict) or "model" not in payload:
        raise PhotozError(f"{path} is not a photoz checkpoint (no model weights); delete it and start without trainer.resume")
    return payload


def write_state(directory: str | os.PathLike, state: dict[str, Any]) -> None:
    """Record which MLflow run and config own the checkpoints in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / STATE)


def read_state(directory: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(directory) / STATE
    return json.loads(path.read_text()) if path.is_file() else None
