"""The Sweeper class Hydra discovers; it hands the work to `_impl` (imported on first use)."""

from __future__ import annotations

from typing import Any, List

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from photoz.errors import exit_on_user_error


class PhotozSweeper(Sweeper):
    """Optuna study through Hydra multirun: ask a batch, launch it, tell the results, repeat."""

    def __init__(self, **kwargs: Any) -> None:
        from hydra_plugins.photoz_sweeper._impl import SweepRunner

        self._runner = SweepRunner(**kwargs)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self._runner.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        # a user mistake (bad search space, storage, direction) ends as one stderr line, exit 2
        return exit_on_user_error(self._runner.sweep)(arguments)
