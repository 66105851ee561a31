"""Commands that only read never create a folder or an MLflow store: photoz.compare, the model
side of photoz.predict, and `--cfg` (print the config) of any entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from photoz.errors import PhotozError
from photoz.predict import predict

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("photoz: error:")]
    return line


def test_compare_on_a_store_in_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    proc = subprocess.run([sys.executable, "-m", "photoz.compare", f"tracking.uri=sqlite:///{missing / 'x.db'}",
                           f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "no MLflow store at" in _one_error_line(proc)
    assert not (tmp_path / "nonexistent").exists()


def test_predict_from_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    store = tmp_path / "none" / "mlflow.db"
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        for model in ({"run": "0123abcd"}, {"model_uri": "runs:/0123abcd/model"}):
            cfg = compose("predict", overrides=[f"{k}={v}" for k, v in model.items()] + [f"tracking.uri=sqlite:///{store}"])
            with pytest.raises(PhotozError, match="no MLflow store at"):
                predict(cfg)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entry", ["photoz.train", "photoz.compare"])
def test_printing_the_config_creates_nothing(tmp_path: Path, entry: str) -> None:
    proc = subprocess.run([sys.executable, "-m", entry, "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "tracking:" in proc.stdout, proc.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
