"""photoz.compare and label budgets: each budget of a model is its own row, with the labelled
train galaxies and the selection as columns (and a pretrained, semi-supervised or dimmed run of the
same budget its own row again); runs from before data.labels read as all, random."""

from __future__ import annotations

from pathlib import Path

from astropy.table import Table
from mlflow.tracking import MlflowClient

from photoz.comparison.table import best_runs, write_tables


def test_each_label_budget_is_a_row_with_its_count_and_selection(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp_id = client.create_experiment("labels", artifact_location=(tmp_path / "artifacts").as_uri())
    runs = [("sequential", None, None, 16000, 0.030), ("sequential", "500", "random", 500, 0.050),
            ("sequential", "500", "vvds", 500, 0.060), ("random_forest", "500", "vvds", 500, 0.055),
            ("sequential", "500", "vvds", 500, 0.070)]  # fmt: skip (the last: a worse run of the same budget)
    trained = [{}] * (len(runs) - 1) + [{"model.dimming": "0.0"}]  # dimming off: the same row
    runs += [("sequential", "500", "vvds", 500, 0.040), ("sequential", "500", "vvds", 500, 0.045),
             ("sequential", "500", "vvds", 500, 0.047), ("sequential", "500", "vvds", 500, 0.048),
             ("sequential", "500", "vvds", 500, 0.049)]  # better, but trained otherwise
    trained += [{"model.init": "abc"}, {"model.init": "abc", "model.semi_supervised": "consistency"}, {"model.dimming": "2.5"},
                {"model.dimming": "10.0", "model.dimming_to": "sample"},
                {"model.semi_supervised": "consistency", "model.consistency.target": "rail_flexzboost"}]
    for (model, n, selection, n_labelled, sigma), how in zip(runs, trained):
        run_id = client.create_run(exp_id, tags={"model": model}).info.run_id
        if n is not None:  # runs from before data.labels log neither
            client.log_param(run_id, "data.labels.n", n)
            client.log_param(run_id, "data.labels.selection", selection)
        for key, value in how.items():
            client.log_param(run_id, key, value)
        for metric, value in (("n_labelled", n_labelled), ("best_val_sigma_mad", sigma), ("test_sigma_mad", sigma)):
            client.log_metric(run_id, metric, value)
        client.set_terminated(run_id)
    rows = best_runs(client, client.get_experiment(exp_id), None)
    got = [(r.model, r.selection, r.values["n_labelled"], r.values["sigma_mad"]) for r in rows]
    assert got == [("sequential", "random", 16000, 0.030), ("sequential+pretrained (500 vvds)", "vvds", 500, 0.040),
                   ("sequential+pretrained+consistency (500 vvds)", "vvds", 500, 0.045),
                   ("sequential+dimmed (500 vvds)", "vvds", 500, 0.047),
                   ("sequential+dimmed-to-sample (500 vvds)", "vvds", 500, 0.048),
                   ("sequential+consistency-rail_flexzboost (500 vvds)", "vvds", 500, 0.049),
                   ("sequential (500 random)", "random", 500, 0.050), ("random_forest (500 vvds)", "vvds", 500, 0.055),
                   ("sequential (500 vvds)", "vvds", 500, 0.060)]  # fmt: skip
    paths = write_tables(rows, tmp_path)
    table = Table.read(paths["csv"], format="ascii.csv")
    assert list(table["n_labelled"]) == [16000, 500, 500, 500, 500, 500, 500, 500, 500]
    assert list(table["selection"]) == ["random", "vvds", "vvds", "vvds", "vvds", "vvds", "random", "vvds", "vvds"]
    assert "| model | selection |" in paths["md"].read_text() and "| labels |" in paths["md"].read_text()
