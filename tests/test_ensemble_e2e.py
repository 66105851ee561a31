"""Seeds, ensembles, recalibration and the comparison's intervals as a user runs them: real
`python -m photoz.train -m sweep=seeds` and `python -m photoz.ensemble` processes, then
photoz.predict, photoz.compare runs=seeds and a mixed ensemble called in process (their
command lines are tested in test_predict.py, test_compare.py and here for the one-member error),
on a tiny data set and a real MLflow SQLite store."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from hydra import compose as compose_tool
from hydra import initialize_config_dir
from mlflow.tracking import MlflowClient

from tinydata import SMALL_CNN, make_tiny_dataset
from photoz.compare import compare
from photoz.config import compose, to_typed
from photoz.ensemble import make_ensemble
from photoz.errors import PhotozError
from photoz.estimators.build import estimator_class
from photoz.job.run import run
from photoz.predict import predict
from photoz.predictions.pdf import regrid
from photoz.predictions.table import Predictions, z_grid
from photoz.estimators.logged import run_model_uri

CONF = str(Path(__file__).resolve().parents[1] / "conf")
EXPERIMENT = "ens"


def _run(tmp: Path, module: str, *overrides: str) -> subprocess.CompletedProcess:
    flags = [o for o in overrides if o.startswith("-")]  # -m (multirun) before the overrides
    cmd = [sys.executable, "-m", module, *flags, f"hydra.run.dir={tmp / 'run'}", f"hydra.sweep.dir={tmp / 'multi'}",
           *(o for o in overrides if not o.startswith("-"))]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """2 seeds of the smallest CNN (`python -m photoz.train -m sweep=seeds`) and a kNN on another
    PDF grid (photoz.train's run(), in process: the CLI around it is tested elsewhere), in one experiment."""
    tmp = tmp_path_factory.mktemp("ens")
    data = make_tiny_dataset(tmp / "tiny", n=120)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    common = [f"data.path={data.path}", "data=directory", f"tracking.uri={uri}", f"tracking.artifact_root={tmp / 'art'}",
              f"tracking.experiment={EXPERIMENT}", "trainer.progress=false"]  # fmt: skip
    res = _run(tmp, "photoz.train", "-m", "sweep=seeds", "seed=0,1", *SMALL_CNN, *common)
    assert res.returncode == 0, res.stderr[-3000:]
    run(to_typed(compose(*common, f"trainer.checkpoint_dir={tmp / 'ckpt'}", "model=knn", "model.n_neighbors=5",
                         "model.n_jobs=1", "model.n_bins=90", "model.z_max=3.0")))  # fmt: skip
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    by_seed = {int(r.data.params["seed"]): r for r in runs if r.data.tags["model"] == "sequential"}
    knn = next(r for r in runs if r.data.tags["model"] == "knn")
    return {"tmp": tmp, "data": data, "uri": uri, "client": client, "cnn": by_seed, "knn": knn}


def _latest_ensemble(store):
    exp = store["client"].get_experiment_by_name(EXPERIMENT).experiment_id
    return store["client"].search_runs([exp], "tags.model = 'ensemble'", order_by=["attributes.start_time DESC"])[0]


@pytest.fixture(scope="module")
def ensembles(store) -> dict:
    """Seed 1's CNN recalibrated by the entry point (`python -m photoz.ensemble`), and an ensemble
    of seed 0's CNN and the kNN by make_ensemble in process (the kNN's loader is imported once)."""
    (store["tmp"] / "calibrated").mkdir()
    res = _run(store["tmp"] / "calibrated", "photoz.ensemble", f"runs=[{store['cnn'][1].info.run_id}]",
               "model.calibration=pit", f"tracking.uri={store['uri']}")  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    made = {"calibrated": _latest_ensemble(store)}
    with contextlib.chdir(store["tmp"]):  # outside Hydra a run's state.json goes to ./checkpoints
        make_ensemble(_ensemble_cfg(store, f"runs=[{store['cnn'][0].info.run_id},{store['knn'].info.run_id}]"))
    made["mixed"] = _latest_ensemble(store)
    return made


def _members_mean(store, members: list, weights: list[float], index: np.ndarray) -> Predictions:
    """What the ensemble should predict: the members loaded as photoz.predict loads them, their PDFs
    put on the default grid and averaged."""
    grid = z_grid(180, 3.5)
    total = 0.0
    for run, w in zip(members, weights):
        pred = estimator_class(run.data.tags["model"]).load(run_model_uri(store["client"], run.info.run_id)).predict(store["data"], index)
        total = total + w * regrid(pred.pdf, pred.z_grid, grid)
    return Predictions.from_pdf(pred.ids, pred.z_spec, total / sum(weights), grid)


def test_an_ensemble_run_is_the_mean_of_its_members_and_predict_runs_it(store, ensembles, tmp_path) -> None:
    mlflow.set_tracking_uri(store["uri"])
    run = ensembles["mixed"]
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["model_config"] == "ensemble-knn-sequential" and tags["ensemble_members"] == "2"
    assert tags["data_checksum"] == store["data"].meta["checksum"] and run.info.run_name == "ensemble knn seq"
    test = store["data"].split_index("test")
    want = _members_mean(store, [store["cnn"][0], store["knn"]], [1.0, 1.0], test)
    logged = Table.read(store["client"].download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp_path)))
    np.testing.assert_allclose(logged["z_phot"], want.z_phot, rtol=1e-5)
    assert set(logged.colnames) >= {"pit", "z_zstar"} and metrics["test_sigma_mad"] == pytest.approx(want.metrics()["sigma_mad"], rel=1e-5)
    assert {"test_pit_ks", "best_val_sigma_mad", "n_trainable_params"} <= set(metrics)
    assert metrics["train_seconds"] == pytest.approx(store["cnn"][0].data.metrics["train_seconds"] + store["knn"].data.metrics["train_seconds"])
    assert any(f.path.startswith("plots/") for f in store["client"].list_artifacts(run.info.run_id, "plots"))
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):  # photoz.predict's CLI: tests/test_predict.py
        cfg = compose_tool("predict", overrides=[f"run={run.info.run_id}", f"tracking.uri={store['uri']}", "pdf=true",
                                                 f"output={tmp_path / 'z.fits'}"])  # fmt: skip
    out = Table.read(predict(cfg))
    np.testing.assert_allclose(out["pdf"][test], want.pdf, rtol=1e-4, atol=1e-7)


def test_a_recalibrated_run_logs_its_pit_before_and_after(store, ensembles, tmp_path) -> None:
    run = ensembles["calibrated"]
    assert run.data.tags["model_config"] == "sequential-calibrated" and run.data.tags["ensemble_members"] == "1"
    assert run.info.run_name == "ensemble seq calibrated"
    m = run.data.metrics
    assert {"val_pit_ks", "val_pit_ks_uncalibrated", "test_pit_ks_uncalibrated", "test_bias_uncalibrated",
            "val_bias_uncalibrated"} <= set(m)  # fmt: skip
    assert m["test_pit_ks_uncalibrated"] == pytest.approx(store["cnn"][1].data.metrics["test_pit_ks"], abs=1e-6)
    mlflow.set_tracking_uri(store["uri"])
    folder = mlflow.artifacts.download_artifacts(artifact_uri=run_model_uri(store["client"], run.info.run_id), dst_path=str(tmp_path))
    spec = json.loads((Path(folder) / "ensemble.json").read_text())
    assert spec["calibration"]["method"] == "pit" and len(spec["calibration"]["knots"]) == 21


def test_compare_runs_seeds_gives_a_model_one_row_with_mean_std_count_and_intervals(store, ensembles, tmp_path, capsys) -> None:
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):  # photoz.compare's CLI: tests/test_compare.py
        cfg = compose_tool("compare", overrides=[f"tracking.uri={store['uri']}", "runs=seeds", f"output={tmp_path}", "log_run=false"])
    compare(cfg)
    stdout = capsys.readouterr().out
    table = Table.read(tmp_path / "comparison.csv", format="ascii.csv")
    rows = {r["model"]: r for r in table}
    assert set(rows) == {"sequential", "knn", "ensemble-knn-sequential", "sequential-calibrated"}
    seq = rows["sequential"]
    sigmas = [r.data.metrics["test_sigma_mad"] for r in store["cnn"].values()]
    assert seq["runs"] == 2 and seq["sigma_mad_mean"] == pytest.approx(np.mean(sigmas))
    assert seq["sigma_mad_std"] == pytest.approx(np.std(sigmas, ddof=1))
    best = min(store["cnn"].values(), key=lambda r: r.data.metrics["best_val_sigma_mad"])
    assert seq["run_id"] == best.info.run_id and seq["sigma_mad"] == pytest.approx(best.data.metrics["test_sigma_mad"])
    assert rows["ensemble-knn-sequential"]["members"] == 2 and rows["knn"]["runs"] == 1
    for r in table:
        assert r["sigma_mad_low"] <= r["sigma_mad_high"] and np.isfinite(r["pit_ks_low"])
    first = table[0]["model"]
    assert all(np.isfinite(r["sigma_mad_diff_low"]) for r in table if r["model"] != first)  # same test galaxies: paired
    assert "| sequential | random | 2 seeds |" in stdout and "| 2 members |" in stdout and "| 1 member |" in stdout and "percentile bootstrap" in stdout


def _ensemble_cfg(store, *overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose_tool("ensemble", overrides=[f"tracking.uri={store['uri']}", *overrides])


def _fake_run(store, tags: dict, with_predictions: bool, pdf: bool = False) -> str:
    """A FINISHED knn-tagged run (no model), with or without a logged test prediction table and
    the PIT KS a run with PDFs logs."""
    client = store["client"]
    run = client.create_run(client.get_experiment_by_name(EXPERIMENT).experiment_id, tags={"model": "knn", **tags})
    if pdf:
        client.log_metric(run.info.run_id, "test_pit_ks", 0.1)
    if with_predictions:
        folder = store["tmp"] / run.info.run_id
        folder.mkdir()
        Table({"id": [1]}).write(folder / "test_predictions.fits")
        client.log_artifact(run.info.run_id, str(folder / "test_predictions.fits"), "predictions")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def test_one_member_is_one_line_and_exit_status_2(store, tmp_path) -> None:
    res = _run(tmp_path, "photoz.ensemble", f"runs=[{store['cnn'][0].info.run_id}]", f"tracking.uri={store['uri']}")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    (line,) = [ln for ln in res.stderr.splitlines() if ln.startswith("photoz: error:")]
    assert "at least two member runs" in line and "model.calibration=pit" in line


def test_members_that_cannot_make_an_ensemble_are_refused_before_any_run(store) -> None:
    data, seq = store["data"], store["cnn"][0].info.run_id
    same_data = {"data": str(data.path), "data_checksum": data.meta["checksum"]}
    no_predictions = _fake_run(store, same_data, with_predictions=False)
    no_pdf = _fake_run(store, same_data, with_predictions=True)  # logged no test_pit_ks: no PDF
    other_data = _fake_run(store, {"data": "/elsewhere/set", "data_checksum": "0123abcd"}, with_predictions=True, pdf=True)
    client, exp = store["client"], store["client"].get_experiment_by_name(EXPERIMENT).experiment_id
    before = len(client.search_runs([exp]))
    cases = {
        f"runs=[{seq},nosuchrun]": "run nosuchrun: no such run in the MLflow store",
        f"runs=[nosuchrun,{seq}]": "run nosuchrun: no such run in",
        f"runs=[{seq},{no_predictions}]": f"run {no_predictions} has no test predictions",
        f"runs=[{seq},{no_pdf}]": f"run {no_pdf} \\(knn\\) predicts no PDF .*leave it out",
        f"runs=[{seq},{other_data}]": f"run {other_data} was trained on /elsewhere/set .*must share the data set",
    }
    for override, message in cases.items():
        with pytest.raises(PhotozError, match=message):
            make_ensemble(_ensemble_cfg(store, override))
    assert len(client.search_runs([exp])) == before  # nothing was started
    nowhere = store["tmp"] / "nowhere" / "mlflow.db"
    with pytest.raises(PhotozError, match="no MLflow store at .*set tracking.uri to the store of the member runs"):
        make_ensemble(_ensemble_cfg(store, f"runs=[{seq},{no_pdf}]", f"tracking.uri=sqlite:///{nowhere}"))
    assert not nowhere.parent.exists()  # a mistyped store is not created
