"""Resuming an interrupted training run: which checkpoint directory, and which MLflow run to reopen.

`python -m photoz.train ... trainer.resume=true` continues from <checkpoint_dir>/last.pt and logs
into the interrupted MLflow run (photoz.training.checkpoint writes both it and state.json).
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path

from photoz.config import TrainerConfig, changed_keys
from photoz.errors import ConfigError
from photoz.tracking.liveness import still_alive
from photoz.tracking.tracker import Tracker
from photoz.training.checkpoint import Checkpoints, read_state


def checkpoint_dir(trainer: TrainerConfig) -> str:
    """trainer.checkpoint_dir made absolute, else <hydra run dir>/checkpoints."""
    if trainer.checkpoint_dir:
        return to_absolute_path(trainer.checkpoint_dir)
    base = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()
    return str(base / "checkpoints")


def _differences(saved: dict, model: dict) -> str:
    """The model keys whose values differ, e.g. `model.consistency.ratio=40 there, 2 here` (at most
    4; only the name when the network is another one: its other keys say nothing more)."""
    changed = changed_keys(saved, model)
    keys = ["name"] if "name" in changed else list(changed)
    shown = [f"model.{k}={changed[k][0]} there, {changed[k][1]} here" for k in keys[:4]]
    return "; ".join(shown) + (f"; and {len(keys) - 4} more" if len(keys) > 4 else "")


def resolve_resume(
    trainer: TrainerConfig, model: dict, tracker: Tracker, key: str, bands: list[str] | None = None
) -> tuple[str, str | None]:
    """(the run's checkpoint dir, the MLflow run id to continue: None unless trainer.resume).

    The checkpoint dir is `checkpoint_dir(trainer)`; with trainer.resume and no state.json there,
    it is the one of the latest unfinished MLflow run with this config's hash. `model` is the model
    config as a plain dict, compared with the checkpoint's. Everything that could refuse the resume
    (another model or bands, a tampered last.pt) is checked here, before the run is reopened, so a
    refusal leaves the interrupted run as it was. One check needs the network, built only when
    training starts: a last.pt of plain tensors that do not fit it (another photoz version) is
    refused then, as ResumeRefused, and the reopened run ends KILLED again, not FAILED.
    """
    ckpt = checkpoint_dir(trainer)
    if not trainer.resume:
        return ckpt, None
    state = read_state(ckpt)
    if state is None:
        found = tracker.find_unfinished(key)
        if found is None or "checkpoint_dir" not in found.data.tags:
            raise ConfigError(
                f"trainer.resume=true but {ckpt} holds no checkpoint and experiment "
                f"{tracker.experiment_name!r} has no unfinished run of this config; pass "
                "trainer.checkpoint_dir=<checkpoints of the interrupted run> or drop trainer.resume"
            )
        ckpt = found.data.tags["checkpoint_dir"]
        state = read_state(ckpt)
        if state is None:
            raise ConfigError(f"run {found.info.run_id} wrote its checkpoints to {ckpt}, which is gone; start a new run")
    if state["model"] != model:
        raise ConfigError(
            f"checkpoint in {ckpt} is from another model ({_differences(state['model'], model)}); "
            "resume with the model settings it was trained with, or drop trainer.resume"
        )
    if bands is not None and state.get("bands", bands) != bands:
        raise ConfigError(
            f"checkpoint in {ckpt} was trained on bands {state['bands']}, but this data set has {bands}; "
            "resume on the data set it was trained on, or drop trainer.resume"
        )
    Checkpoints(ckpt).load_last()  # a tampered or torn last.pt is refused now, unloaded
    try:
        previous = tracker.client.get_run(state["run_id"])
    except Exception:  # MLflow raises MlflowException with a store-specific message
        raise ConfigError(
            f"the run {state['run_id']} that wrote {ckpt} is not in {tracker.uri}; "
            "resume with the tracking.uri it was logged to"
        ) from None
    alive = still_alive(previous)
    if alive:
        raise ConfigError(
            f"run {state['run_id']} is still training into {ckpt} ({alive}); "
            "let it finish or stop it (Ctrl-C or kill), then resume"
        )
    return ckpt, state["run_id"]
