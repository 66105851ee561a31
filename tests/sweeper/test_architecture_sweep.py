"""sweep=architecture: the ready study composes and runs through the real photoz.train, each
trial a backbone family from the search space, logged as a child run of the study."""

from __future__ import annotations

from optuna.trial import TrialState


def test_architecture_study_samples_families_and_trains_them(workspace, tiny_dataset) -> None:
    workspace.run_ok(
        "sweep=architecture", "hydra.sweeper.n_trials=2", "hydra.sweeper.study_name=arch", "hydra.sweeper.plots=false",
        "model=choice(resnet,efficientnet)", "model.width=8", "model.depth=range(1, 3)", "data=directory",
        f"data.path={tiny_dataset.path}", "trainer.max_epochs=1", "trainer.batch_size=8", "trainer.progress=false",
        "tracking.experiment=arch", module="photoz.train", timeout=400,
    )  # fmt: skip
    study = workspace.study("arch")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert study.trials[0].distributions["model"].choices == ("resnet", "efficientnet")
    assert study.trials[0].distributions["optimizer.lr"].log  # from conf/sweep/architecture.yaml
    children = {r.info.run_id: r for r in workspace.mlflow_runs("arch") if "mlflow.parentRunId" in r.data.tags}
    for trial in study.trials:
        child = children[trial.user_attrs["mlflow_run_id"]]
        assert child.data.tags["model"] == trial.params["model"]
        assert child.data.params["model.depth"] == str(trial.params["model.depth"])
        assert child.data.metrics["flops_per_galaxy"] > 0
