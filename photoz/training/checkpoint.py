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
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from photoz.errors import PhotozError, ResumeRefused, first_line

LAST, BEST, STATE = "last.pt", "best.pt", "state.json"
T = TypeVar("T")


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
        return _check_last(_safe_load(self.dir / LAST), self.dir / LAST)

    def load_best(self) -> dict[str, Any] | None:
        return _safe_load(self.dir / BEST)

    def restored(self, restore: Callable[[], T]) -> T:
        """restore() (which loads last.pt's states into the network, optimizer and schedule), or one
        line if they do not fit: a last.pt of tensors that another photoz version or network wrote."""
        try:
            return restore()
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
            raise ResumeRefused(
                f"{self.dir / LAST} does not fit this run's network or optimizer ({first_line(err, 160)}): written by "
                "another photoz version or model? delete it (or the whole folder) and start without trainer.resume"
            ) from None


LAST_PARTS = {"model": dict, "optimizer": dict, "scheduler": dict, "generator": torch.Tensor, "torch_rng": torch.Tensor, "fit_state": dict}
STATE_KEYS = {"run_id": str, "config_hash": str, "model": dict}
_GLOBAL = re.compile(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL) ([\w.]+)")
_UNPICKLER = re.compile(r"WeightsUnpickler error:\s*(.+)")


def _why(err: Exception) -> str:
    """What was wrong with a file torch refused to load, in photoz's words: torch's own message
    advises loading it with weights_only=False, which would run whatever it holds."""
    text = str(err)
    found = _GLOBAL.search(text)
    if found:
        return f"it holds {found[1]}, which is not a tensor or a number"
    found = _UNPICKLER.search(text)
    if found:
        return f"unreadable: {found[1].strip()}"
    if isinstance(err, EOFError) or not text.strip():
        return "the file is empty or cut short"
    first = first_line(err, 200)
    return "not a torch checkpoint" if "weights_only" in first else first


def _safe_load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path` (None if absent), read without unpickling arbitrary objects."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (not a zip), EOFError (torn), ...
        raise PhotozError(
            f"{path} is not a photoz checkpoint of tensors and numbers ({_why(err)}); it was not loaded: "
            "delete it (or the whole folder) and start without trainer.resume"
        ) from None
    weights = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(weights, dict) or not weights or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise PhotozError(f"{path} is not a photoz checkpoint (no model weights); delete it and start without trainer.resume")
    return payload


def _check_last(payload: dict[str, Any] | None, path: Path) -> dict[str, Any] | None:
    """last.pt must hold every part a resume restores, each of its kind (see training.loop.fit)."""
    if payload is None:
        return None
    wrong = [key for key, kind in LAST_PARTS.items() if not isinstance(payload.get(key), kind)]
    if wrong:
        raise PhotozError(
            f"{path} is not a photoz checkpoint to resume from ({', '.join(wrong)} missing or not what training "
            "saved); it was not loaded: delete it (or the whole folder) and start without trainer.resume"
        )
    return payload


def write_state(directory: str | os.PathLike, state: dict[str, Any]) -> None:
    """Record which MLflow run and config own the checkpoints in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / STATE)


def read_state(directory: str | os.PathLike) -> dict[str, Any] | None:
    """state.json of `directory` (None if absent); PhotozError if it is not what write_state wrote."""
    path = Path(directory) / STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (ValueError, OSError) as err:
        raise PhotozError(f"{path} cannot be read ({err}); delete the checkpoint folder and start without trainer.resume") from None
    wrong = [key for key, kind in STATE_KEYS.items() if not isinstance(state, dict) or not isinstance(state.get(key), kind)]
    if wrong:
        raise PhotozError(
            f"{path} is not a photoz state file ({', '.join(wrong)} missing or of the wrong type); "
            "delete the checkpoint folder and start without trainer.resume"
        )
    return state
