"""Bad sweeps end with one `photoz: error:` line and exit 2, leaving the study's storage as it was."""

from __future__ import annotations

import optuna
import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+hydra.sweeper.params.x='foo(1)'"], "Unknown function 'foo'"),
        (["x=interval(3, 1)"], "low 3.0 > high 1.0"),
        (["+hydra.sweeper.params.x='tag(log, interval(0, 1))'"], "a log scale needs low > 0"),
        (["x=interval(0, 1)", "hydra.sweeper.sampler=cmaes"], "unknown sampler 'cmaes'"),
        (["x=interval(0, 1)", "hydra.sweeper.pruner=patient"], "unknown pruner 'patient'"),
        (
            ["x=interval(0, 1)", "hydra.sweeper.pruner=median", "+hydra.sweeper.pruner_options.median.patience=2"],
            "do not fit pruner 'median'",
        ),
        (["x=interval(0, 1)", "+hydra.sweeper.pruner_options.n_warmup_steps=2"], "not a pruner"),
        (["x=interval(0, 1)", "hydra.sweeper.storage=sqlite:////no/such/dir/optuna.db"], "cannot open Optuna storage"),
        (["x=interval(0, 1)", "hydra.sweeper.direction=maximize"], "already exists and was made to minimize"),
    ],
)
def test_bad_sweep_leaves_storage_untouched(workspace, args: list[str], message: str) -> None:
    journal = workspace.journal("quad")
    journal.parent.mkdir(parents=True)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    optuna.create_study(study_name="quad", storage=storage).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    before = journal.read_bytes()

    result = workspace.run(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("photoz: error:") and message in lines[-1], result.stderr
    assert "Traceback" not in result.stderr
    assert journal.read_bytes() == before
    assert sorted(p.name for p in journal.parent.iterdir()) == ["journal.log"]
