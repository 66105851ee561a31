"""Fixtures for the sweeper tests: run tests/sweeper/app.py (or photoz.train) as a Hydra multirun
in a temporary folder with its own MLflow SQLite store and Optuna journal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from epochs_log import read_epochs

APP = Path(__file__).with_name("app.py")


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables created once; each test copies it (creating the
    tables takes ~10 s)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


class Workspace:
    """A folder to run sweeps in: sweeps/, mlruns/ and the app's epochs.log live here."""

    def __init__(self, root: Path, db: Path) -> None:
        self.root = root
        (root / "mlruns").mkdir()
        shutil.copy(db, root / "mlruns" / "mlflow.db")
        self.tracking_uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"

    def command(self, *args: str, module: str | None = None) -> list[str]:
        entry = ["-m", module] if module else [str(APP)]
        return [sys.executable, *entry, "-m", *args, f"tracking.uri={self.tracking_uri}"]

    def run(self, *args: str, module: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
        return subprocess.run(
            self.command(*args, module=module), cwd=self.root, capture_output=True, text=True, timeout=timeout, env=env
        )

    def run_ok(self, *args: str, module: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        result = self.run(*args, module=module, timeout=timeout)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args), cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )

    def journal(self, study: str) -> Path:
        return self.root / "sweeps" / study / "journal.log"

    def study(self, name: str) -> optuna.Study:
        backend = optuna.storages.journal.JournalFileBackend(str(self.journal(name)))
        return optuna.load_study(study_name=name, storage=optuna.storages.JournalStorage(backend))

    def epochs(self) -> dict[int, list[int]]:
        """Epochs that ran, by trial number, from the app's epochs.log."""
        return read_epochs(self.root / "epochs.log")

    def mlflow_runs(self, experiment: str = "sweeptest") -> list:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.tracking_uri)
        found = client.get_experiment_by_name(experiment)
        return client.search_runs([found.experiment_id]) if found else []


@pytest.fixture
def workspace(tmp_path: Path, empty_mlflow_db: Path) -> Workspace:
    return Workspace(tmp_path, empty_mlflow_db)
