"""`python -m photoz.train`: train one estimator on one data set and record it in MLflow.

    python -m photoz.train                                  # sequential CNN, default simulated set
    python -m photoz.train model=googlenet optimizer.lr=3e-4 model.depth=4
    python -m photoz.train -m sweep=depth_lr                # Optuna study (hydra/sweeper=photoz)

The task function returns val σ_MAD so sweepers can minimise it. In a single run a user mistake
(PhotozError) is one stderr line and exit status 2; in multirun every exception, including
optuna.TrialPruned, propagates to Hydra's sweeper/launcher, which records it.
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from photoz.config import register_schemas, to_typed
from photoz.errors import exit_on_user_error

register_schemas()


def train(cfg: DictConfig) -> float:
    """Check the config and turn it into the schema dataclasses (once), then train; a bad value
    fails before torch and mlflow are imported."""
    typed = to_typed(cfg)
    from photoz.job.run import run

    return run(typed)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """One run (a user mistake: one line, exit 2), or one job of a multirun / sweep. A Ctrl-C or
    SIGTERM ends the run KILLED (photoz.tracking.tracker) and the command with one line saying how
    to continue, exit 130 / 143 (photoz.cli.run_main)."""
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return train(cfg)
    return exit_on_user_error(train)(cfg)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main, signals=True)
