"""Running the sweeper tests' Hydra app (tests/sweeper/app.py) as sweep workers against a given
Optuna storage URL and MLflow tracking URI, each worker its own process (as on a cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from epochs_log import read_epochs

APP = Path(__file__).parents[1] / "sweeper" / "app.py"
QUAD = ("x=interval(-2, 2)", "y=range(0, 4)", "hydra.sweeper.plots=false", "hydra.sweeper.heartbeat_interval=1")


class Workers:
    """Sweep workers of one study: same command, same storage, run from `root`."""

    def __init__(self, root: Path, storage: str, tracking_uri: str, experiment: str) -> None:
        self.root, self.storage = root, storage
        self.common = [f"hydra.sweeper.storage='{storage}'", f"tracking.uri={tracking_uri}",
                       f"tracking.experiment={experiment}"]  # fmt: skip

    def command(self, *args: str, app: Path = APP) -> list[str]:
        return [sys.executable, str(app), "-m", *QUAD, *args, *self.common]

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args), cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
        )  # fmt: skip

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args), cwd=self.root, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "HYDRA_FULL_ERROR": "0"},
        )  # fmt: skip

    def wait_for(self, path: str, proc: subprocess.Popen, timeout: float = 90) -> None:
        """Until `path` (under root) exists; fails with the worker's output if it ends first."""
        deadline = time.monotonic() + timeout
        while not (self.root / path).exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0][-4000:]
            time.sleep(0.1)

    def epochs(self) -> dict[int, list[int]]:
        """Epochs that ran, by trial number (the app's epochs.log)."""
        return read_epochs(self.root / "epochs.log")
