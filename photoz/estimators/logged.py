"""What photoz reads back about a finished run: where its model is and which comparison row it is.

Shared by photoz.predict and the tests, photoz.compare
(photoz.comparison.table.model_label) and the ensembles (photoz.estimators.ensemble_members), so
that a run's model and label are found one way. mlflow is imported where it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def run_model_uri(client: MlflowClient, run_id: str) -> str:
    """runs:/<id>/<name> of the latest model a run logged (photoz.train names it after the run;
    runs:/<id>/model, the name older runs used, when the run logged none or cannot be read)."""
    from mlflow.exceptions import MlflowException

    try:
        experiment = client.get_run(run_id).info.experiment_id
        models = client.search_logged_models([experiment], filter_string=f"source_run_id = '{run_id}'")
    except MlflowException:  # no such run: photoz.predict reports it when loading
        models = []
    latest = max(models, key=lambda m: m.creation_timestamp, default=None)
    return f"runs:/{run_id}/{latest.name if latest else 'model'}"


def row_label(tags: dict[str, str], params: dict[str, str]) -> str:
    """The run's model config (tag model_config, else the estimator, tag model), `+catalog` when it
    also read catalogue features (model.catalog_features), `+pretrained` when it started from a
    pretrained encoder (model.init), `+consistency` when it trained on unlabelled galaxies too
    (model.semi_supervised; `+consistency-<teacher>` with model.consistency.target=<teacher>),
    `+dimmed` when its labelled images were also dimmed
    (model.dimming; `+dimmed-to-sample` with model.dimming_to=sample), so each way of training
    one network gets a row, and a label budget (data.labels) its own:
    `sequential+pretrained (500 vvds)`."""
    dimmed = "+dimmed-to-sample" if params.get("model.dimming_to") == "sample" else "+dimmed"
    target = params.get("model.consistency.target", "self")
    extras = {
        "+catalog": params.get("model.catalog_features", "[]") not in ("[]", ""),
        "+pretrained": params.get("model.init", "None") not in ("None", ""),
        "+consistency" + ("" if target == "self" else f"-{target}"): params.get("model.semi_supervised", "none") not in ("none", ""),
        dimmed: float(params.get("model.dimming") or 0) != 0,
    }
    label = tags.get("model_config", tags["model"]) + "".join(k for k, on in extras.items() if on)
    selection, n = params.get("data.labels.selection", "random"), params.get("data.labels.n", "None")
    return label if (selection, n) == ("random", "None") else f"{label} ({'all' if n == 'None' else n} {selection})"
