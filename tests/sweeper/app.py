"""The sweeper tests' Hydra app: a stand-in for photoz.train that trains nothing.

Each epoch it reports (x - 1)^2 + (y - 2)^2 + 1 / (epoch + 1) through photoz.job.sweep, appends
"<trial number> <epoch>" to cfg.log (so tests see which epochs ran) and logs the value to its own
MLflow run, a child of the study's parent run as photoz.train's runs are.
"""

from __future__ import annotations

import time
from pathlib import Path

import hydra
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from photoz.config import TrackingConfig, TrialConfig, as_schema
from photoz.job.sweep import trial_reporter


def meet(path: Path, number: int, size: int, timeout: float = 240.0) -> None:
    """Wait until all `size` trials of this trial's batch (numbers size*k ... size*k + size - 1) have
    started their run: a launcher that ran them one after another fails here, however loaded the
    machine is (a test of overlap by timestamps fails when start-up outlasts the work)."""
    batch = number // size
    with open(path, "a") as log:
        log.write(f"{number}\n")
    deadline = time.monotonic() + timeout
    while sum(int(n) // size == batch for n in path.read_text().split()) < size:
        if time.monotonic() > deadline:
            raise RuntimeError(f"trial {number}: the other trials of its batch never started")
        time.sleep(0.1)


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from photoz.tracking.tracker import Tracker  # imports mlflow: not before a job runs

    trial = as_schema(TrialConfig, cfg.trial)
    reporter = trial_reporter(trial)
    number = reporter.number if reporter is not None else -1
    tracker = Tracker(as_schema(TrackingConfig, cfg.tracking), trial.parent_run_id)
    tracker.use_experiment(cfg.tracking.experiment)
    value = float("nan")
    with tracker.run(run_name=f"trial_{number}", tags={"trial_number": str(number)}):
        if reporter is not None:
            reporter.record_run()  # as photoz.train does at run start
        if cfg.meet > 1:
            meet(Path(to_absolute_path("meet.log")), number, cfg.meet)
        for epoch in range(cfg.epochs):
            if number == cfg.hang_at_trial:
                Path(to_absolute_path("hang.marker")).write_text(str(number))
                time.sleep(600)
            time.sleep(cfg.sleep)
            value = (cfg.x - 1) ** 2 + (cfg.y - 2) ** 2 + 1 / (epoch + 1)
            with open(to_absolute_path(cfg.log), "a") as log:
                log.write(f"{number} {epoch}\n")
            if reporter is not None:
                reporter.report(epoch, value)
    return value


if __name__ == "__main__":
    main()
