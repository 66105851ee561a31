"""Nothing in a model or checkpoint file is executed: a logged CNN is safetensors weights + a JSON
config rebuilt by photoz's own code, checkpoints are read with torch's weights-only loader, and a
tampered file (a pickle whose __reduce__ creates a file) is refused with one line, its payload unrun.
Runs the real entry points (photoz.train, photoz.predict, trainer.resume=true) on a real store."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from astropy.table import Table
from mlflow.tracking import MlflowClient

from tinydata import SMALL_CNN, make_tiny_dataset

from photoz.errors import PhotozError
from photoz.estimators.logged import run_model_uri
from photoz.training.checkpoint import Checkpoints
from photoz.estimators.cnn import CNNEstimator


class Payload:
    """Unpickling this creates `marker`: the audit's `touch` payload."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _one_error_line(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("photoz: error:")]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr[-3000:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny CNN run through `python -m photoz.train`, with its checkpoints kept."""
    tmp = tmp_path_factory.mktemp("safe")
    data = make_tiny_dataset(tmp / "tiny", n=48)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    common = ["data=directory", f"data.path={data.path}", *SMALL_CNN, f"tracking.uri={uri}", "tracking.experiment=safe",
              f"tracking.artifact_root={tmp / 'artifacts'}", "trainer.progress=false", f"trainer.checkpoint_dir={tmp / 'ckpt'}"]
    proc = subprocess.run([sys.executable, "-m", "photoz.train", *common, f"hydra.run.dir={tmp / 'run'}"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("safe").experiment_id])
    return {"tmp": tmp, "data": data, "uri": uri, "run": run.info.run_id, "common": common}


def _predict(trained, tmp: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "photoz.predict", f"run={trained['run']}", f"input={trained['data'].path}",
           f"output={tmp / 'z.fits'}", f"tracking.uri={trained['uri']}", f"hydra.run.dir={tmp / 'hydra'}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _model_folder(trained) -> Path:
    (weights,) = (trained["tmp"] / "artifacts").rglob("weights.safetensors")
    return weights.parents[1]  # <model>/artifacts/weights.safetensors


def test_the_logged_model_is_weights_and_config_and_predicts(trained, tmp_path: Path) -> None:
    folder = _model_folder(trained)
    files = {p.name for p in folder.rglob("*") if p.is_file()}
    assert {"weights.safetensors", "photoz_model.json", "MLmodel"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pth", ".pt"))], files
    proc = _predict(trained, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = Table.read(tmp_path / "z.fits", hdu="PHOTOZ")
    assert len(table) == 48 and np.all(np.isfinite(table["z_phot"]))


def test_tampered_model_files_do_not_run(trained, tmp_path: Path) -> None:
    folder = _model_folder(trained)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    marker = tmp_path / "pwned"
    try:
        # 1. the logged code file: photoz never executes the artifact's copy
        (code,) = [p for p in folder.glob("*.py")]
        code.write_text(f"open({str(marker)!r}, 'w')\n" + code.read_text())
        assert _predict(trained, tmp_path / "a").returncode == 0 and not marker.exists()
        # 2. the weights replaced by a pickle payload: through photoz.predict, then in-process
        weights = folder / "artifacts" / "weights.safetensors"
        torch.save({"w": Payload(marker)}, weights)
        _one_error_line(_predict(trained, tmp_path / "b"), "not a valid photoz model")
        mlflow.set_tracking_uri(trained["uri"])
        uri = run_model_uri(MlflowClient(trained["uri"]), trained["run"])  # the model is named after its run
        weights.write_bytes(pickle.dumps(Payload(marker)))
        with pytest.raises(PhotozError, match="not a valid photoz model"):
            CNNEstimator.load(uri)
        # 3. the old mlflow.pytorch layout (a pickled data/model.pth) instead of weights + config
        shutil.rmtree(folder / "artifacts")
        (folder / "data").mkdir(exist_ok=True)
        torch.save(Payload(marker), folder / "data" / "model.pth")
        with pytest.raises(PhotozError, match="never holds"):
            CNNEstimator.load(uri)
        assert not marker.exists()
    finally:
        shutil.rmtree(folder)
        shutil.copytree(backup, folder)


def test_a_tampered_checkpoint_does_not_run_and_the_killed_run_stays_killed(trained, tmp_path: Path) -> None:
    ckpt = trained["tmp"] / "ckpt"
    client = MlflowClient(trained["uri"])
    client.set_terminated(trained["run"], "KILLED")  # as after Ctrl-C
    marker = tmp_path / "pwned"
    good = torch.load(ckpt / "last.pt", weights_only=True)
    try:
        torch.save({**good, "fit_state": Payload(marker)}, ckpt / "last.pt")
        with pytest.raises(PhotozError, match="not a photoz checkpoint"):
            Checkpoints(ckpt).load_last()
        assert not marker.exists()
        cmd = [sys.executable, "-m", "photoz.train", *trained["common"], "trainer.resume=true", f"hydra.run.dir={tmp_path / 'r'}"]
        _one_error_line(subprocess.run(cmd, capture_output=True, text=True, timeout=600), "not a photoz checkpoint")
        assert not marker.exists()
        assert client.get_run(trained["run"]).info.status == "KILLED"
        (ckpt / "best.pt").write_bytes(b"garbage, not a zip")
        with pytest.raises(PhotozError, match="best.pt is not a photoz checkpoint"):
            Checkpoints(ckpt).load_best()
    finally:
        torch.save(good, ckpt / "last.pt")
        client.set_terminated(trained["run"], "FINISHED")
