"""Bad sweeps end with one `photoz: error:` line and exit 2, leaving the study's storage as it was."""

from __future__ import annotations

import optuna
import pytest

QUAD = ("x=interval(-2, 2)", "y=range(0, 4)", "hydra.sweeper.plots=false")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+hydra.sweeper.params.x='foo(1)'"], "Unknown function 'foo'"),
        (["x=interval(3, 1)"], "low 3.0 > high 1.0"),
        (["+hydra.sweeper.params.x='tag(log, interval(0, 1))'"], "a log scale needs low > 0"),
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


def test_a_study_is_bound_to_its_data_and_search_space(workspace, tmp_path) -> None:
    from tinydata import make_tiny_dataset

    sets = {n: make_tiny_dataset(tmp_path / f"set{n}", n=n) for n in (24, 30)}
    data = lambda n: ["+data.name=directory", f"+data.path={sets[n].path}"]  # noqa: E731
    workspace.run_ok(*QUAD, "hydra.sweeper.n_trials=1", *data(24))
    before = workspace.journal("quad").read_bytes()
    cases = [
        ((*QUAD, "hydra.sweeper.n_trials=2", *data(30)), f"another data set (content checksum): {sets[24].meta['checksum'][:12]}, not {sets[30].meta['checksum'][:12]}"),
        (("x=interval(-2, 2)", "y=range(0, 5)", "hydra.sweeper.plots=false", "hydra.sweeper.n_trials=2", *data(24)), "another search space"),
    ]
    for args, message in cases:
        result = workspace.run(*args)
        assert result.returncode == 2, result.stderr[-3000:]
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("photoz: error: study 'quad' was made for") and message in last, result.stderr[-3000:]
        assert workspace.journal("quad").read_bytes() == before  # nothing written, nothing mixed in
    again = workspace.run_ok(*QUAD, "hydra.sweeper.n_trials=2", *data(24))  # same data and space: resumes
    assert f"resuming study quad in {workspace.journal('quad')}" in again.stdout + again.stderr
    assert len(workspace.study("quad").trials) == 2


def test_a_study_is_bound_to_its_model_and_fixed_settings(workspace, tiny_dataset) -> None:
    """`model=googlenet` with the study_name of a sequential study is refused, naming both models,
    before anything is written; a setting that does not change the objective is not."""
    common = ("hydra/sweeper=photoz", "optimizer.lr=tag(log, interval(1e-3, 1e-2))", "hydra.sweeper.study_name=seq",
              "hydra.sweeper.plots=false", "data=directory", f"data.path={tiny_dataset.path}", "model.depth=1",
              "model.width=8", "trainer.max_epochs=1", "trainer.batch_size=8", "tracking.experiment=bound")  # fmt: skip
    workspace.run_ok(*common, "hydra.sweeper.n_trials=1", "trainer.progress=false", module="photoz.train", timeout=400)
    before = workspace.journal("seq").read_bytes()
    for extra, message in ((("model=googlenet",), "model=sequential, not googlenet"),
                           (("trainer.max_epochs=3",), "trainer.max_epochs=1, not 3")):  # fmt: skip
        result = workspace.run(*common, "hydra.sweeper.n_trials=2", *extra, module="photoz.train", timeout=400)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("photoz: error: study 'seq' was made with other fixed settings:") and message in last, last
        assert workspace.journal("seq").read_bytes() == before
    workspace.run_ok(*common, "hydra.sweeper.n_trials=1", "trainer.progress=true", module="photoz.train", timeout=400)
