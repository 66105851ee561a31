"""Training runs one after another in one process, each ended by one SIGTERM that
tests/test_signals.py sends at a point of its choosing (not a test module itself).

    python tests/signal_harness.py <data set dir> <work dir> <number of runs>

Prints `harness: start <i>` when run i begins (config composed, nothing opened yet) and
`harness: end <i> <how it ended>` when `photoz.job.run.run` gave control back. Signals are handled
by photoz.interrupt exactly as `python -m photoz.train` installs it; after each run the recorded
signal is forgotten so the next run can start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from photoz import interrupt
from photoz.config import register_schemas, to_typed

CONF = str(Path(__file__).resolve().parents[1] / "conf")
SMALL_CNN = ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.patience=0"]


def main(data: str, work: Path, n_runs: int) -> None:
    interrupt.install()
    register_schemas()
    from photoz.job.run import run  # torch, mlflow: imported once, before the first run

    from photoz.config import TrackingConfig
    from photoz.tracking.tracker import Tracker

    Tracker(TrackingConfig(uri=f"sqlite:///{work / 'mlflow.db'}"))  # the store's tables: made once, up front
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        for i in range(n_runs):
            cfg = compose("config", overrides=[
                "data=directory", f"data.path={data}", *SMALL_CNN, "trainer.max_epochs=100000", "trainer.progress=false",
                f"trainer.checkpoint_dir={work / f'ckpt-{i}'}", f"tracking.uri=sqlite:///{work / 'mlflow.db'}",
                "tracking.experiment=signals", f"tracking.artifact_root={work / 'artifacts'}",
            ])  # fmt: skip
            print(f"harness: start {i}", flush=True)
            try:
                run(to_typed(cfg))
                how = "returned"
            except KeyboardInterrupt as err:
                how = type(err).__name__
            print(f"harness: end {i} {how}", flush=True)
            interrupt.reset()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
