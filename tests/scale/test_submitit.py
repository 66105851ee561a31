"""A 4-trial sweep through Hydra's submitit launcher on this machine (conf/hydra/launcher/local.yaml,
the Slurm setup without Slurm) with batches of hydra.sweeper.n_jobs=2: each trial is its own
submitit job process and the two trials of a batch run at the same time. The task is the sweeper
tests' app (tests/sweeper/app.py), so the test times the launcher, not training."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from sweep_workers import Workers

from hydra_plugins.photoz_sweeper._impl import SweepRunner
from photoz.config import register_schemas

CONF = Path(__file__).parents[2] / "conf"


def test_submitit_local_sweep_runs_two_jobs_at_once(tmp_path, mlflow_server) -> None:
    journal = tmp_path / "journal.log"
    workers = Workers(tmp_path, str(journal), mlflow_server.uri, "submitit")
    result = workers.run(
        f"hydra.searchpath=[file://{CONF}]", "hydra/launcher=local", "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=4", "epochs=2", "meet=2", "hydra.sweeper.sampler=random", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Submitit 'local' sweep output dir" in result.stdout + result.stderr
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name="quad", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert len(list((tmp_path / "sweeps" / "quad" / ".submitit").glob("*/*_result.pkl"))) == 4  # 4 jobs

    client = MlflowClient(mlflow_server.uri)
    runs = {r.info.run_id: r.info for r in client.search_runs([client.get_experiment_by_name("submitit").experiment_id])}
    info = [runs[t.user_attrs["mlflow_run_id"]] for t in sorted(trials, key=lambda t: t.number)]
    for a, b in (info[0:2], info[2:4]):  # the two runs of one batch were live at the same time (meet=2 waits for it)
        assert a.start_time < b.end_time and b.start_time < a.end_time
    assert min(i.start_time for i in info[2:]) >= max(i.end_time for i in info[:2])  # batch 2 after batch 1


@pytest.mark.parametrize(("overrides", "batch"), [
    (["hydra/launcher=slurm"], 4),
    (["hydra/launcher=slurm", "hydra.launcher.array_parallelism=16"], 16),
    (["hydra/launcher=slurm", "hydra.sweeper.n_jobs=2"], 2),
    (["hydra/launcher=local"], 1),
    (["hydra/launcher=local", "hydra.sweeper.n_jobs=3"], 3),
])  # fmt: skip
def test_batches_follow_the_launchers_parallelism(overrides: list[str], batch: int) -> None:
    register_schemas()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", ["hydra/sweeper=photoz", *overrides], return_hydra_config=True)
    runner = SweepRunner(**cfg.hydra.sweeper)
    runner.config = cfg
    assert runner._batch_size() == batch
