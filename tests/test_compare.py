"""photoz.compare on a real SQLite MLflow store: right best runs, files, the comparison run, errors."""

from __future__ import annotations

import base64
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from hydra import compose, initialize_config_dir
from markdown_tables import links, tables
from mlflow.tracking import MlflowClient

from photoz.compare import compare
from photoz.errors import PhotozError
from photoz.predictions.table import Predictions
from photoz.tracking.links import run_href, run_url

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def _log_run(exp: str, model: str, val: float, tmp: Path, status: str = "FINISHED", parent: str | None = None) -> str:
    """A run shaped like photoz.train's: tag model, val/test metrics, cost, a test prediction table
    (no tag model_config, as runs logged before it: compare falls back to tag model)."""
    rng = np.random.default_rng(int(val * 1e4))
    z = rng.uniform(0.1, 2.0, 200)
    pred = Predictions(np.arange(200), z, z + rng.normal(0, val, 200) * (1 + z), np.full(200, val))
    with mlflow.start_run(experiment_id=exp, tags={"model": model}, parent_run_id=parent) as run:
        mlflow.log_metrics({"val_sigma_mad": val + 0.5, "best_val_sigma_mad": val, "train_seconds": 10 * val,
                            "n_trainable_params": 1000 if model != "template_fit" else 0})
        mlflow.log_metrics(pred.metrics("test_"))
        path = tmp / run.info.run_id / "test_predictions.fits"  # the artifact photoz.tracking.tracker logs
        path.parent.mkdir()
        pred.to_table().write(path)
        mlflow.log_artifact(str(path), "predictions")
    if status != "FINISHED":
        MlflowClient().set_terminated(run.info.run_id, status)
    return run.info.run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("lsst_sim-test", artifact_location=(tmp / "artifacts").as_uri())
    best = {
        "knn": _log_run(exp, "knn", 0.04, tmp),
        "random_forest": _log_run(exp, "random_forest", 0.03, tmp),
        "template_fit": _log_run(exp, "template_fit", 0.05, tmp),
    }
    _log_run(exp, "knn", 0.06, tmp)
    _log_run(exp, "random_forest", 0.035, tmp)
    _log_run(exp, "knn", 0.01, tmp, status="FAILED")  # better but failed: must be ignored
    with mlflow.start_run(experiment_id=exp, run_name="sweep") as parent:
        pass
    children = {"knn": _log_run(exp, "knn", 0.045, tmp, parent=parent.info.run_id),
                "random_forest": _log_run(exp, "random_forest", 0.044, tmp, parent=parent.info.run_id)}
    return {"tmp": tmp, "uri": uri, "best": best, "parent": parent.info.run_id, "children": children}


def _cfg(**kw):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("compare", overrides=[f"{k}={v}" for k, v in kw.items()])


def test_entry_point_picks_best_runs_and_logs_comparison(store) -> None:
    out = store["tmp"] / "out"
    cmd = [sys.executable, "-m", "photoz.compare", f"tracking.uri={store['uri']}", f"output={out}",
           f"hydra.run.dir={store['tmp'] / 'hydra'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = Table.read(out / "comparison.csv", format="ascii.csv")
    assert list(table["model"]) == ["random_forest", "knn", "template_fit"]  # sorted by val σ_MAD
    assert dict(zip(table["model"], table["run_id"])) == store["best"]
    assert np.allclose(table["val_sigma_mad"], [0.03, 0.04, 0.05])
    assert "| random_forest |" in proc.stdout and (out / "comparison.tex").read_text().count(r"\\") >= 3
    assert "NumExpr" not in proc.stdout  # pandas' numexpr announces no thread count
    for name in ("zphot_vs_zspec", "metrics_per_z", "sigma_vs_cost"):
        assert (out / f"{name}.png").stat().st_size > 1000
    client = MlflowClient(store["uri"])
    runs = client.search_runs(client.get_experiment_by_name("lsst_sim-test").experiment_id, "tags.photoz_kind = 'comparison'")
    assert len(runs) == 1
    logged = {f.path for f in client.list_artifacts(runs[0].info.run_id, "comparison")}
    assert "comparison/comparison.md" in logged and "comparison/zphot_vs_zspec.png" in logged
    assert runs[0].data.metrics["random_forest/sigma_mad"] == pytest.approx(table["sigma_mad"][0])

    # what a person reads: the run's link, printed last; its description is the table, each model
    # naming (and linking) the run that stands for it; comparison.html with the figures inline
    comparison, exp_id = runs[0], runs[0].info.experiment_id
    assert proc.stdout.strip().splitlines()[-1].split()[-1] == run_url(store["uri"], exp_id, comparison.info.run_id)
    note = comparison.data.tags["mlflow.note.content"]
    (rows,) = tables(note)
    (written,) = tables((out / "comparison.md").read_text())  # the printed table, with its intervals
    headers, cells = written[0], written[1:]
    assert rows[0] == headers[:-1] and [r[1:] for r in rows[1:]] == [c[1:-1] for c in cells]  # no run ids: links
    assert rows[0][1:3] == ["selection", "runs"] and rows[1][1] == "random"
    assert rows[1][3].startswith(f"{table['sigma_mad'][0]:.4f} [")  # σ_MAD [95 % interval]
    names = {r.info.run_id: r.info.run_name for r in client.search_runs([exp_id])}
    assert [r[0] for r in rows[1:]] == [f"{m} ({names[i]})" for m, i in zip(table["model"], table["run_id"])]
    linked = dict(links(note))
    assert [linked[names[i]] for i in table["run_id"]] == [run_href(exp_id, i) for i in table["run_id"]]
    assert run_href(exp_id, comparison.info.run_id, "comparison/comparison.html") in linked.values()
    assert "comparison/comparison.html" in logged
    report = _Report()
    report.feed((out / "comparison.html").read_text())
    assert report.rows[0] == headers and len(report.rows) == 4 and report.rows[1][-1] == table["run_id"][0]
    assert set(report.images) == {"zphot_vs_zspec.png", "metrics_per_z.png", "sigma_vs_cost.png"}
    assert all(png == (out / name).read_bytes() for name, png in report.images.items())  # the files, inline
    assert f"python -m photoz.compare tracking.uri={store['uri']} output={out}" in report.text


class _Report(HTMLParser):
    """The table rows, the inline PNGs by caption and the text of comparison.html."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: dict[str, bytes] = {}
        self.text, self._cell, self._png = "", False, b""

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "tr":
            self.rows.append([])
        self._cell = tag in ("td", "th")
        if tag == "img":
            kind, data = dict(attrs)["src"].split(",", 1)
            assert kind == "data:image/png;base64"
            self._png = base64.b64decode(data)

    def handle_data(self, data) -> None:
        self.text += data
        if self._cell:
            self.rows[-1].append(data)
            self._cell = False
        if self._png and data.endswith(".png"):  # the figcaption names the file
            self.images[data], self._png = self._png, b""


def test_each_row_names_the_run_that_stands_for_its_model() -> None:
    from photoz.comparison.report import _named
    from photoz.comparison.table import Best

    assert _named(Best("sequential", "a", {}, "t0 d4 lr2.7e-3"), "#r") == "sequential ([t0 d4 lr2.7e-3](#r))"  # a trial
    assert _named(Best("googlenet", "b", {}, "googlenet d4 lr2e-3"), "#r") == "[googlenet d4 lr2e-3](#r)"  # says its model
    assert _named(Best("knn", "c", {}, "")) == "knn"  # a run without a name


def test_parent_run_filter(store) -> None:
    out = compare(_cfg(**{"tracking.uri": store["uri"], "parent_run": store["parent"], "output": store["tmp"] / "sweep",
                          "log_run": "false"}))
    table = Table.read(out / "comparison.csv", format="ascii.csv")
    assert dict(zip(table["model"], table["run_id"])) == store["children"]


def test_runs_all_lists_every_finished_run_of_a_study(store) -> None:
    """runs=all: one row per finished run (the study's two children here), sorted by val σ_MAD;
    failed runs stay out."""
    out = compare(_cfg(**{"tracking.uri": store["uri"], "runs": "all", "output": store["tmp"] / "all", "log_run": "false"}))
    table = Table.read(out / "comparison.csv", format="ascii.csv")
    assert list(table["model"]) == ["random_forest", "random_forest", "knn", "random_forest", "knn", "template_fit", "knn"]
    assert np.allclose(table["val_sigma_mad"], [0.03, 0.035, 0.04, 0.044, 0.045, 0.05, 0.06])
    assert (out / "sigma_vs_cost.png").stat().st_size > 1000


def test_runs_must_be_best_or_all(store, tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "photoz.compare", f"tracking.uri={store['uri']}", "runs=every",
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("photoz: error:")]
    assert "runs=every" in line and "best" in line and "all" in line


def test_errors_are_one_line(store, tmp_path) -> None:
    with pytest.raises(PhotozError, match="unknown experiment 'nope'.*lsst_sim-test"):
        compare(_cfg(**{"tracking.uri": store["uri"], "tracking.experiment": "nope", "output": tmp_path}))
    with pytest.raises(PhotozError, match="no MLflow store"):
        compare(_cfg(**{"tracking.uri": f"sqlite:///{tmp_path / 'none.db'}", "output": tmp_path}))
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    MlflowClient(empty).search_experiments()  # creates an empty store
    with pytest.raises(PhotozError, match="no photoz runs"):
        compare(_cfg(**{"tracking.uri": empty, "output": tmp_path}))


def test_runs_seeds_refuses_runs_that_differ_in_more_than_the_seed(tmp_path) -> None:
    """Two knn runs with another model.n_neighbors are not seeds of one config: one line naming the
    key, both values and both runs. Runs that differ only in seed and in where they ran
    (trainer.checkpoint_dir) form one row, with mean ± std over them."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("seeds", artifact_location=(tmp_path / "artifacts").as_uri())

    def run(seed: int, neighbours: int, val: float, folder: str) -> str:
        r = client.create_run(exp, tags={"model": "knn", "data_checksum": "abc"})
        for key, value in {"seed": seed, "model.n_neighbors": neighbours, "trainer.checkpoint_dir": folder}.items():
            client.log_param(r.info.run_id, key, value)
        for key, value in {"best_val_sigma_mad": val, "test_sigma_mad": val + 0.01, "test_eta": 0.1}.items():
            client.log_metric(r.info.run_id, key, value)
        client.set_terminated(r.info.run_id, "FINISHED")
        return r.info.run_id

    a, b = run(0, 30, 0.04, "/tmp/a"), run(1, 30, 0.05, "/tmp/b")
    out = compare(_cfg(**{"tracking.uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "runs": "seeds", "output": tmp_path / "ok",
                          "log_run": "false"}))  # fmt: skip
    (row,) = Table.read(out / "comparison.csv", format="ascii.csv")
    assert row["runs"] == 2 and row["run_id"] == a and row["sigma_mad"] == pytest.approx(0.05)
    assert row["sigma_mad_mean"] == pytest.approx(0.055) and row["sigma_mad_std"] == pytest.approx(np.std([0.05, 0.06], ddof=1))
    c = run(2, 50, 0.045, "/tmp/c")
    with pytest.raises(PhotozError, match=r"runs=seeds: the runs of knn differ in model.n_neighbors \((30|50) in run \w+, "
                                          r"(30|50) in run \w+\), not only in seed; compare them with runs=best") as err:
        compare(_cfg(**{"tracking.uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "runs": "seeds", "output": tmp_path / "no"}))
    assert f"50 in run {c}" in str(err.value)


def test_every_row_name_is_a_metric_key_and_a_bad_predictions_file_is_one_note(tmp_path, capsys) -> None:
    """Images + photometry rows (`sequential+catalog`) log valid MLflow keys; a garbage or a
    column-less test_predictions.fits is named in one note and left out of the plots."""
    from mlflow.utils.validation import _validate_metric_name

    from photoz.comparison.table import metric_key
    from photoz.registry import REGISTRY, VARIANTS

    for option in [*REGISTRY, *VARIANTS]:  # every row name a store can hold
        for row in (option, f"{option}+catalog"):
            _validate_metric_name(metric_key(row, "sigma_mad"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("rows", artifact_location=(tmp_path / "artifacts").as_uri())
    with_catalog = _log_run(exp, "sequential", 0.02, tmp_path)
    MlflowClient().log_param(with_catalog, "model.catalog_features", "[g]")
    for model, content in (("knn", b"not a fits file"), ("random_forest", None)):
        run_id = _log_run(exp, model, 0.03 if model == "knn" else 0.04, tmp_path)
        path = tmp_path / run_id / "test_predictions.fits"
        if content is None:
            Table({"id": [1, 2]}).write(path, overwrite=True)
        else:
            path.write_bytes(content)
        MlflowClient().log_artifact(run_id, str(path), "predictions")
    compare(_cfg(**{"tracking.uri": uri, "output": tmp_path / "out"}))  # logs the comparison run
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("photoz: note:")]
    assert len(notes) == 2 and "(knn)" in notes[0] and "not a readable table" in notes[0], notes
    assert "(random_forest)" in notes[1] and "has no column z_spec, z_phot" in notes[1], notes
    client = MlflowClient(uri)
    (run,) = client.search_runs([exp], "tags.photoz_kind = 'comparison'")
    assert run.data.metrics["sequential_catalog/sigma_mad"] > 0
