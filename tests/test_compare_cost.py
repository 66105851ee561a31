"""The cost columns and the σ_MAD-vs-cost figure of photoz.compare: FLOPs per galaxy (logged by
photoz.train for CNNs), trainable parameters and galaxies/s, with the frontier."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from astropy.table import Table

from photoz.comparison.figures import _frontier, sigma_vs_cost
from photoz.comparison.table import Best, model_label, write_tables


def _row(model: str, sigma: float, flops: float, params: float, rate: float) -> Best:
    values = {"sigma_mad": sigma, "bias": 0.0, "eta": 0.1, "sigma_iqr": sigma, "outlier_rate": 0.1, "n_params": params, "flops": flops,
              "train_seconds": 1.0, "galaxies_per_s": rate, "val_sigma_mad": sigma}  # fmt: skip
    return Best(model, f"run-{model}", values)


ROWS = [_row("resnet", 0.020, 7e7, 8e5, 900), _row("sequential", 0.025, 3e7, 5e5, 3000),
        _row("efficientnet", 0.030, 6e7, 4e6, 800), _row("template_fit", 0.035, math.nan, 0, 5000)]  # fmt: skip


def test_frontier_keeps_points_no_other_beats_on_cost_and_sigma() -> None:
    assert _frontier([(3, 0.025), (7, 0.020), (6, 0.030), (1, 0.04)]) == [(1, 0.04), (3, 0.025), (7, 0.020)]


def test_table_has_a_flops_column(tmp_path) -> None:
    paths = write_tables(ROWS, tmp_path)
    table = Table.read(paths["csv"], format="ascii.csv")
    assert list(table["flops"][:3]) == [7e7, 3e7, 6e7] and math.isnan(table["flops"][3])
    assert "FLOPs/galaxy" in paths["md"].read_text() and "| 7e+07 |" in paths["md"].read_text()


def test_every_estimator_is_on_every_cost_panel() -> None:
    fig = sigma_vs_cost(ROWS)
    flops, params, rate = fig.axes
    assert [ax.get_xlabel() for ax in fig.axes] == ["inference FLOPs per galaxy", "trainable parameters",
                                                    "inference galaxies/s (measured)"]  # fmt: skip
    # FLOPs: three CNN points and the template fit as a dashed line at its σ_MAD (no FLOP count)
    assert len(flops.collections) == 3 and [line.get_ydata()[0] for line in flops.lines if line.get_linestyle() == "--"] == [0.035]
    frontier = [line for line in flops.lines if line.get_label() == "frontier"][0]
    assert list(frontier.get_xdata()) == [3e7, 7e7]  # sequential, then resnet; efficientnet is beaten
    # parameters (symlog: the template fit's 0 is a point) and galaxies/s: all four are points
    assert len(params.collections) == 4 and len(rate.collections) == 4
    assert list([line for line in rate.lines if line.get_label() == "frontier"][0].get_xdata()) == [5000, 3000, 900]
    plt.close(fig)


def test_rows_are_model_configs_and_catalog_features_get_their_own_row(tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")  # no global MLflow state
    exp = client.create_experiment("labels", artifact_location=(tmp_path / "artifacts").as_uri())
    labels = []
    pasquet = {"model": "googlenet", "model_config": "googlenet_pasquet"}
    old = [({"model": "resnet"}, "[]"), ({"model": "resnet"}, "['photometry']"), ({"model": "knn"}, None)]  # no model_config tag
    for tags, features in [*old, (pasquet, "[]"), (pasquet, "['photometry']")]:
        run_id = client.create_run(exp, tags=tags).info.run_id
        if features is not None:
            client.log_param(run_id, "model.catalog_features", features)
        labels.append(model_label(client.get_run(run_id)))
    assert labels == ["resnet", "resnet+catalog", "knn", "googlenet_pasquet", "googlenet_pasquet+catalog"]


def test_every_run_of_a_model_shares_its_colour_and_only_its_best_is_labelled() -> None:
    rows = [_row("resnet", 0.020, 7e7, 8e5, 900), _row("resnet", 0.024, 2e7, 2e5, 2500), _row("sequential", 0.025, 3e7, 5e5, 3000)]
    fig = sigma_vs_cost(rows)
    flops = fig.axes[0]
    colours = [tuple(c.get_facecolor()[0][:3]) for c in flops.collections]
    assert colours[0] == colours[1] != colours[2]
    assert [t.get_text() for t in flops.texts] == ["resnet", "sequential"]
    frontier = [line for line in flops.lines if line.get_label() == "frontier"][0]
    assert list(frontier.get_xdata()) == [2e7, 7e7]  # the cheaper resnet trial is on it, sequential is beaten
    plt.close(fig)
