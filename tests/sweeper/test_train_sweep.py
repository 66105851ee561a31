"""sweep through the real `python -m photoz.train` on a tiny data set: every trial re-attaches to
its Optuna trial, reports val σ_MAD each epoch, and logs a child run under the study's parent."""

from __future__ import annotations

from optuna.trial import TrialState


def test_photoz_train_sweep(workspace, tiny_dataset) -> None:
    epochs = 2
    workspace.run_ok(
        "hydra/sweeper=photoz", "model.depth=range(1, 3)", "optimizer.lr=tag(log, interval(1e-3, 1e-2))",
        "hydra.sweeper.n_trials=2", "hydra.sweeper.study_name=e2e", "hydra.sweeper.plots=false",
        "data=directory", f"data.path={tiny_dataset.path}", "model.width=8", f"trainer.max_epochs={epochs}",
        "trainer.patience=0", "trainer.batch_size=8", "trainer.progress=false", "tracking.experiment=e2e",
        module="photoz.train", timeout=400,
    )  # fmt: skip
    study = workspace.study("e2e")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    runs = workspace.mlflow_runs("e2e")
    (parent,) = [r for r in runs if r.data.tags.get("photoz.role") == "study"]
    children = {r.info.run_id: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert len(children) == 2
    for trial in study.trials:
        assert len(trial.intermediate_values) == epochs  # the job reported every epoch
        child = children[trial.user_attrs["mlflow_run_id"]]
        assert child.data.tags["trial_state"] == "COMPLETE"
        assert child.data.params["model.depth"] == str(trial.params["model.depth"])
        assert float(child.data.params["optimizer.lr"]) == trial.params["optimizer.lr"]
