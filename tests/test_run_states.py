"""Run states a user can trust, through `python -m photoz.train` on a real MLflow store: a live run
is never attached to by trainer.resume=true, SIGTERM ends a run KILLED with one line, and a run
killed with -9 (left RUNNING) is recognised as dead and resumed in the same MLflow run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tinydata import make_tiny_dataset

from photoz.tracking.liveness import HOST, LAST_SEEN, PID, still_alive

SMALL_CNN = ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.patience=0"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("states")
    data = make_tiny_dataset(tmp / "tiny", n=32)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    common = ["data=directory", f"data.path={data.path}", *SMALL_CNN, f"tracking.uri={uri}", "tracking.experiment=states",
              f"tracking.artifact_root={tmp / 'artifacts'}", "trainer.progress=false"]
    return tmp, uri, common


def _cmd(common: list[str], workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "photoz.train", *common, f"hydra.run.dir={workdir}", *extra]


def _start_long_run(common: list[str], tmp: Path, name: str) -> tuple[subprocess.Popen, Path]:
    """A run that would train for ever, once its first checkpoint is on disk."""
    ckpt = tmp / f"ckpt-{name}"
    proc = subprocess.Popen(_cmd(common, tmp / name, "trainer.max_epochs=100000", f"trainer.checkpoint_dir={ckpt}"),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 240
    while not (ckpt / "last.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (ckpt / "last.pt").exists(), proc.communicate()[1][-3000:]
    return proc, ckpt


def _only_run(uri: str, ckpt: Path):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("states").experiment_id
    (run,) = client.search_runs([exp], filter_string=f"tags.checkpoint_dir = '{ckpt}'")
    return run


def test_live_run_refused_a_killed_9_run_resumed_and_sigterm_ends_it_killed(setup) -> None:
    tmp, uri, common = setup
    proc, ckpt = _start_long_run(common, tmp, "live")
    try:
        resume = subprocess.run(_cmd(common, tmp / "r1", "trainer.resume=true", f"trainer.checkpoint_dir={ckpt}"),
                                capture_output=True, text=True, timeout=300)
        assert resume.returncode == 2, resume.stderr[-3000:]
        (line,) = [ln for ln in resume.stderr.splitlines() if ln.startswith("photoz: error:")]
        assert "is still training" in line and f"pid {proc.pid}" in line and "Traceback" not in resume.stderr
        assert proc.poll() is None  # the live run went on, untouched
        run = _only_run(uri, ckpt)
        assert run.info.status == "RUNNING" and run.data.tags[PID] == str(proc.pid) and LAST_SEEN in run.data.tags
    finally:
        proc.kill()  # kill -9: nothing can end the MLflow run
        proc.communicate(timeout=60)
    run = _only_run(uri, ckpt)
    assert run.info.status == "RUNNING" and run.data.tags[HOST] and still_alive(run) is None  # recognisably dead

    again = subprocess.Popen(_cmd(common, tmp / "r2", "trainer.resume=true", "trainer.max_epochs=100000", f"trainer.checkpoint_dir={ckpt}"),
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:  # it re-attaches to the same run (now tagged with its pid); then a SIGTERM, as from a scheduler
        deadline = time.monotonic() + 240
        while _only_run(uri, ckpt).data.tags[PID] != str(again.pid) and again.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _only_run(uri, ckpt).data.tags[PID] == str(again.pid), again.communicate()[1][-3000:]
        time.sleep(1.0)
    finally:
        again.send_signal(signal.SIGTERM)
        _, err = again.communicate(timeout=120)
    assert again.returncode == 143, err[-3000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("photoz: terminated (SIGTERM)")
    final = _only_run(uri, ckpt)
    assert final.info.run_id == run.info.run_id and final.info.status == "KILLED" and "Terminated" in final.data.tags["error"]


class _Payload:
    """Unpickling this would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_tampered_checkpoints_are_one_line_the_killed_run_stays_killed_and_a_resume_drops_its_error(setup) -> None:
    """last.pt without usable weights or parts, a pickle payload (torch's advice to load it unsafely
    never quoted), state.json not JSON or without a key: refused before the run is reopened. Then
    the intact checkpoint resumes, and the run that finishes loses its stale `error` tag."""
    import json

    import torch

    from photoz.config import compose, to_typed
    from photoz.errors import PhotozError
    from photoz.job.run import run

    tmp, uri, common = setup
    proc, ckpt = _start_long_run(common, tmp, "tamper")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    killed = _only_run(uri, ckpt)
    assert killed.info.status == "KILLED" and "trainer.resume=true" in killed.data.tags["error"]
    good, state = torch.load(ckpt / "last.pt", weights_only=True), (ckpt / "state.json").read_text()
    resume = [*common, "trainer.resume=true", f"trainer.checkpoint_dir={ckpt}", f"trainer.max_epochs={good['fit_state']['epoch'] + 1}"]
    marker = tmp / "pwned"
    lasts = [({**good, "model": {}}, "no model weights"), ({"model": good["model"]}, "optimizer, scheduler, generator"),
             ({**good, "fit_state": _Payload(marker)}, "it holds io.open, which is not a tensor or a number")]  # fmt: skip
    states = [("{not json", "state.json cannot be read"), (json.dumps({"run_id": "x", "model": {}}), "config_hash missing")]
    for last, message in lasts + [(None, m) for _, m in states]:
        if last is not None:
            torch.save(last, ckpt / "last.pt")
        else:
            (ckpt / "state.json").write_text(dict((m, s) for s, m in states)[message])
        with pytest.raises(PhotozError, match=message) as err:
            run(to_typed(compose(*resume)))
        assert "\n" not in str(err.value) and "weights_only" not in str(err.value) and "Re-running" not in str(err.value)
        assert _only_run(uri, ckpt).info.status == "KILLED" and not marker.exists()
        torch.save(good, ckpt / "last.pt")
        (ckpt / "state.json").write_text(state)
    run(to_typed(compose(*resume)))  # the intact checkpoint: one more epoch, in the same run
    final = _only_run(uri, ckpt)
    assert final.info.run_id == killed.info.run_id and final.info.status == "FINISHED" and "error" not in final.data.tags
