"""Links into the MLflow UI that open the machine-learning view of the right page.

MLflow 3's UI has two modes, GenAI (its default in a fresh browser: an experiment opens on a traces
"Overview", models are "Agent versions") and machine learning (the runs table, Models). The mode
comes from the query of the page inside the URL's fragment, `#/experiments/1/runs?workflowType=
machine_learning` (a query before the `#` is ignored), else from what the browser last chose with
the UI's "GenAI | Model training" switch. Every link photoz prints or writes into a description
carries it; the runs-table link also opens photoz's saved view of the table
(photoz.tracking.view: the curated metric columns, a wide name column).

`mlflow ui` serves a local store at UI_ADDRESS; a tracking server (tracking.uri=http://...)
serves its UI at its own address.
"""

from __future__ import annotations

import shlex
from urllib.parse import quote

from photoz.tracking.remote import is_server

UI_ADDRESS = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default
ML_VIEW = "workflowType=machine_learning"  # the query that opens the UI's machine-learning mode
VIEW_KEY = "photoz"  # the runs table's saved view photoz installs on every experiment (photoz.tracking.view)


def ui_base(tracking_uri: str) -> str:
    """The address of the UI that shows this store: the server itself, else `mlflow ui`'s."""
    return tracking_uri.rstrip("/") if is_server(tracking_uri) else UI_ADDRESS


def ui_command(tracking_uri: str) -> str | None:
    """The command that serves the UI for this store, None when the store is already a server."""
    if is_server(tracking_uri):
        return None
    return f"mlflow ui --backend-store-uri {shlex.quote(tracking_uri)}"


def runs_table_href(experiment_id: str) -> str:
    """The experiment's runs table in photoz's saved view, relative to the UI (for descriptions)."""
    return f"#/experiments/{experiment_id}/runs?{ML_VIEW}&viewStateShareKey={VIEW_KEY}"


def run_href(experiment_id: str, run_id: str, artifact: str | None = None) -> str:
    """A run's page (with `artifact`, that artifact in its Artifacts tab), relative to the UI: a
    description's link works whatever address the UI is served at."""
    page = f"#/experiments/{experiment_id}/runs/{run_id}"
    if artifact:
        page += "/artifacts/" + quote(artifact)
    return f"{page}?{ML_VIEW}"


def runs_table_url(tracking_uri: str, experiment_id: str) -> str:
    """The runs table of the experiment, machine-learning view, photoz's columns."""
    return f"{ui_base(tracking_uri)}/{runs_table_href(experiment_id)}"


def run_url(tracking_uri: str, experiment_id: str, run_id: str, artifact: str | None = None) -> str:
    """A run's page (or one of its artifacts) in the machine-learning view."""
    return f"{ui_base(tracking_uri)}/{run_href(experiment_id, run_id, artifact)}"


def browse_lines(tracking_uri: str, links: list[tuple[str, str]]) -> list[str]:
    """How to look: for a local store the `mlflow ui` command first, then each (what, url) as
    `what: url`, the URL last on its line so that a terminal makes it clickable."""
    command = ui_command(tracking_uri)
    lines = [f"serve the UI: {command}"] if command else []
    return lines + [f"{what}: {url}" for what, url in links]
