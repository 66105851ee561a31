"""The MLflow store opened by several processes at once: a fresh SQLite store is created once (no
"table already exists" crash), and the experiment they all want is shared, not raced."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from mlflow.tracking import MlflowClient

WORKER = """
import sys
from photoz.config import TrackingConfig
from photoz.tracking.tracker import Tracker
print(Tracker(TrackingConfig(uri=sys.argv[1], artifact_root=sys.argv[2])).use_experiment("shared"))
"""


def test_workers_starting_together_on_a_fresh_store_all_succeed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    (tmp_path / "fresh").mkdir()
    cmd = [sys.executable, "-c", textwrap.dedent(WORKER), uri, str(tmp_path / "artifacts")]
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err[-3000:]
        assert "Traceback" not in err
    assert len({out.strip() for out, _ in results}) == 1  # one experiment, the same id for all
    assert {e.name for e in MlflowClient(uri).search_experiments()} == {"shared", "Default"}
