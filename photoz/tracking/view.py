"""photoz's saved view of an experiment's runs table: the curated metric columns, in order, and a
name column wide enough for photoz's run names.

MLflow's UI keeps saved views ("Views" above the runs table, MLflow >= 3.15) as experiment tags
`mlflow.sharedViewState.<key>` holding {name, createdAt, updatedAt, state}, `state` being the JSON
of the table's state (columns, their order and widths, sort); a link with
`viewStateShareKey=<key>` opens the table in that view (photoz.tracking.links). photoz installs its
view, key "photoz", when it first uses an experiment and never overwrites it, so a user who edits
and saves the view keeps their version. An MLflow too old to know saved views ignores the tag.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from photoz.tracking.links import VIEW_KEY

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
# the columns, in this order: test metrics (η in percent), size, and the val σ_MAD that picks the best run
METRIC_COLUMNS = ("test_sigma_mad", "test_bias", "test_eta_pct", "n_trainable_params", "best_val_sigma_mad")
RUN_NAME, CREATED, MODELS = "attributes.`Run Name`", "runDateAndNestInfo", "attributes.`Models`"
NAME_WIDTH, METRIC_WIDTH = 240, 140  # px; MLflow's defaults (190, 100) cut names and metric headers


def view_state() -> dict:
    """The runs table's state: run name, start time, the curated metrics, the logged model."""
    metrics = [f"metrics.`{m}`" for m in METRIC_COLUMNS]
    return {
        "selectedColumns": [*metrics, MODELS],
        "columnOrder": [RUN_NAME, CREATED, *metrics, MODELS],
        "columnWidths": {RUN_NAME: NAME_WIDTH, **{m: METRIC_WIDTH for m in metrics}},
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }


def install_view(client: MlflowClient, experiment_id: str) -> None:
    """Save photoz's runs-table view on the experiment unless it has one (a store that refuses the
    tag, e.g. a read-only server, keeps MLflow's default table: the view is a convenience)."""
    from mlflow.exceptions import MlflowException

    try:
        if VIEW_TAG in client.get_experiment(experiment_id).tags:
            return
        now = int(time.time() * 1000)
        envelope = {"name": VIEW_KEY, "createdAt": now, "updatedAt": now, "state": json.dumps(view_state())}
        client.set_experiment_tag(experiment_id, VIEW_TAG, json.dumps(envelope))
    except MlflowException:  # the runs table still works without the view
        return
