"""What a person reads in MLflow: links that open the machine-learning view of the right page (the
mode MLflow 3's UI reads from the query inside the URL's fragment), the runs table's saved view,
descriptions that render as markdown tables, η in percent, ISO times, short run names."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from markdown_tables import links, tables
from mlflow.tracking import MlflowClient

from photoz.estimators.naming import run_name, short_number
from photoz.predictions.metrics import percent_copies
from photoz.tracking.links import run_href, run_url, runs_table_url
from photoz.tracking.liveness import LAST_SEEN, owner_tags, seen_at
from photoz.tracking.notes import markdown_table
from photoz.tracking.record import model_name
from photoz.tracking.summary import RunPlace, run_description, run_summary
from photoz.tracking.view import VIEW_TAG, install_view

STORES = ["sqlite:////home/me/mlruns/mlflow.db", "http://mlflow.example.org:5000/"]


def _page(url: str) -> tuple[str, dict[str, list[str]]]:
    """The UI route and its query, both inside the fragment (MLflow's router ignores a query before '#')."""
    split = urlsplit(url)
    assert not split.query, url
    route, _, query = split.fragment.partition("?")
    return route, parse_qs(query)


@pytest.mark.parametrize("store", STORES)
def test_links_open_the_machine_learning_view_of_the_page_they_name(store: str) -> None:
    base = "http://mlflow.example.org:5000" if store.startswith("http") else "http://127.0.0.1:5000"
    table = runs_table_url(store, "7")
    assert table.startswith(base + "/#/")
    route, query = _page(table)
    assert route == "/experiments/7/runs"
    assert query == {"workflowType": ["machine_learning"], "viewStateShareKey": ["photoz"]}
    route, query = _page(run_url(store, "7", "abc123"))
    assert route == "/experiments/7/runs/abc123" and query == {"workflowType": ["machine_learning"]}
    route, query = _page(run_url(store, "7", "abc123", "comparison/comparison.html"))
    assert route == "/experiments/7/runs/abc123/artifacts/comparison/comparison.html"
    assert query == {"workflowType": ["machine_learning"]}
    assert run_href("7", "abc123") == "#/experiments/7/runs/abc123?workflowType=machine_learning"


def test_the_run_summary_links_the_runs_table_and_the_run() -> None:
    metrics = {"sigma_mad": 0.0336, "bias": -0.0024, "bias_err": 0.0008, "eta": 0.244, "outlier_rate": 0.081}
    place = RunPlace("seq d4 lr2e-3", "3f2a", "lsst_sim-1a2b", "1", STORES[0])
    lines = run_summary(place, metrics, 14000, "/data/set", "/ckpt").splitlines()
    browse = lines[lines.index(next(ln for ln in lines if "browse:" in ln)) :]
    assert browse[0].split()[1:] == ["serve", "the", "UI:", "mlflow", "ui", "--backend-store-uri", STORES[0]]
    assert browse[1].split() == ["runs", "table:", runs_table_url(STORES[0], "1")]
    assert browse[2].split() == ["this", "run:", run_url(STORES[0], "1", "3f2a")]
    server = run_summary(RunPlace("rf", "9", "e", "2", STORES[1]), metrics, 10, "/d", None)
    assert "mlflow ui" not in server and run_url(STORES[1], "2", "9") in server


def test_a_description_table_renders_with_gaps_between_columns() -> None:
    markdown = markdown_table(["model", "σ_MAD", "bias"], [["seq | d4", "0.0336", "-0.0024 ± 0.0008"]])
    (table,) = tables(markdown + "\nafter the table\n")
    assert table == [["model", "σ_MAD", "bias"], ["seq | d4", "0.0336", "-0.0024 ± 0.0008"]]
    first_row = markdown.splitlines()[2]
    assert "0.0336\u00a0\u00a0\u00a0 |" in first_row and first_row.endswith("± 0.0008 |")  # padded; the last cell not


def test_a_runs_description_is_its_curated_test_metrics_in_readme_units() -> None:
    metrics = {"sigma_mad": 0.0336, "bias": -0.0024, "bias_err": 0.0008, "eta": 0.244, "outlier_rate": 0.081}
    (table,) = tables(run_description(metrics, 61012))
    assert table == [["test σ_MAD", "bias", "η", "RAIL outliers", "trainable params"],
                     ["0.0336", "-0.0024 ± 0.0008", "24.4 %", "8.10 %", "61,012"]]  # fmt: skip


def test_fractions_are_also_logged_in_percent_under_their_own_names() -> None:
    logged = {"test_eta": 0.24412, "test_outlier_rate": 0.0813, "test_sigma_mad": 0.0336, "test_bias": -0.002}
    assert percent_copies(logged) == {"test_eta_pct": 24.41, "test_outlier_rate_pct": 8.13}


def test_last_seen_is_an_iso_time_and_old_unix_times_still_read() -> None:
    tag = owner_tags()[LAST_SEEN]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tag), tag
    assert abs(seen_at(tag) - time.time()) < 5
    assert seen_at("1796439716") == 1796439716.0 and seen_at("garbage") == 0.0


def test_run_names_put_what_differs_first_and_fit_the_name_column() -> None:
    assert run_name("sequential", ["d4", "lr2e-3"]) == "seq d4 lr2e-3"
    assert run_name("sequential", ["d5", f"lr{short_number(1.3e-3, 2)}"], trial_number=3) == "t3 d5 lr1.3e-3"
    assert run_name("random_forest", []) == "random_forest"
    assert run_name("googlenet_pasquet", ["d5", "lr2e-3"]) == "pasquet d5 lr2e-3"
    assert model_name("t3 d5 lr1.3e-3") == "t3-d5-lr1_3e-3"  # a logged model's name: no spaces, no '.'


def test_a_cnn_names_depth_lr_and_a_width_that_differs() -> None:
    from photoz.config import OptimizerConfig
    from photoz.estimators.cnn import CNNEstimator
    from photoz.models.schema import CNNConfig, GoogLeNetPasquetConfig

    def parts(model, lr: float, searched=None) -> list[str]:
        return CNNEstimator(model, optimizer=OptimizerConfig(lr=lr)).run_name_parts(searched)

    assert parts(CNNConfig(), 2e-3) == ["d4", "lr2e-3"]  # the defaults: no width
    assert parts(CNNConfig(depth=5, width=64), 3e-4) == ["d5", "lr3e-4", "w64"]
    assert parts(GoogLeNetPasquetConfig(), 2e-3) == ["d5", "lr2e-3"]  # its own default width, 64
    searched = {"model.depth", "optimizer.lr"}  # a sweep: what differs between trials, lr to 2 digits
    assert parts(CNNConfig(depth=5, width=8), 1.3e-3, searched) == ["d5", "lr1.3e-3"]
    assert parts(CNNConfig(width=8), 1.3e-3, searched | {"model.width"}) == ["d4", "lr1.3e-3", "w8"]


def test_each_experiment_gets_the_runs_table_view_once(tmp_path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("e", artifact_location=(tmp_path / "a").as_uri())
    install_view(client, exp)
    envelope = json.loads(client.get_experiment(exp).tags[VIEW_TAG])
    state = json.loads(envelope["state"])  # the envelope MLflow's "Views" menu reads
    assert envelope["name"] == "photoz" and isinstance(envelope["createdAt"], int)
    assert state["selectedColumns"][:3] == ["metrics.`test_sigma_mad`", "metrics.`test_bias`", "metrics.`test_eta_pct`"]
    assert state["columnOrder"][0] == "attributes.`Run Name`" and state["columnWidths"]["attributes.`Run Name`"] >= 240
    client.set_experiment_tag(exp, VIEW_TAG, json.dumps({**envelope, "name": "mine"}))  # a user saved their own
    install_view(client, exp)
    assert json.loads(client.get_experiment(exp).tags[VIEW_TAG])["name"] == "mine"


def test_links_in_markdown_parse_as_links() -> None:
    href = "#/experiments/1/runs/abc?workflowType=machine_learning"
    assert links(f"[seq d4 lr2e-3]({run_href('1', 'abc')})") == [("seq d4 lr2e-3", href)]
