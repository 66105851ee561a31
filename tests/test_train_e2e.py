"""`python -m photoz.train` as a user runs it (subprocess, real Hydra, real MLflow SQLite store):
a complete 1-epoch record, resume of an interrupted run, and every bad input as one clear line."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table
from mlflow.tracking import MlflowClient

from markdown_tables import tables
from tinydata import SMALL_CNN, make_tiny_dataset
from photoz.data import Dataset, read_dataset
from photoz.predictions.metrics import point_metrics
from photoz.tracking.record import model_name

TEST_METRICS = ["sigma_mad", "bias", "eta", "bias_median", "sigma_iqr", "outlier_rate", "bias_err"]


def uri(store: Path) -> str:
    return f"sqlite:///{store}/mlflow.db"


def train(workdir: Path, store: Path, *overrides: str) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "photoz.train", f"hydra.run.dir={workdir / 'run'}", f"tracking.uri={uri(store)}",
        f"tracking.artifact_root={store / 'artifacts'}", "trainer.progress=false", *overrides,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)


def runs_of(store: Path, experiment: str) -> list:
    client = MlflowClient(uri(store))
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id])


def test_one_epoch_run_logs_a_complete_record(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    res = train(tmp_path, store, f"data.path={tiny.path}", "data=directory", *SMALL_CNN, "tracking.experiment=e2e",
                "trainer.log_int8=true")  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    # a quiet terminal: no MLflow UserWarning (type hints, input example), no ANSI codes in a pipe,
    # no per-file "Downloading artifacts" bars, no numexpr thread-count line
    assert "Warning" not in res.stderr and "\x1b[" not in res.stderr, res.stderr[-3000:]
    assert "Downloading artifacts" not in res.stderr and "NumExpr" not in res.stdout
    client = MlflowClient(uri(store))
    assert client.get_experiment_by_name("e2e").artifact_location == (store / "artifacts" / "e2e").as_uri()
    (run,) = runs_of(store, "e2e")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "seq d2 lr2e-3 w8"  # short, what differs first; w8 is not the default width
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert tags["model"] == "sequential" and tags["data"] == str(tiny.path) and tags["git_commit"]
    assert tags["data_checksum"] == tiny.meta["checksum"]
    assert params["model.depth"] == "2" and params["optimizer.lr"] == "0.002" and params["trainer.batch_size"] == "8"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_sigma_mad")] == [1]
    assert metrics["n_trainable_params"] > 1000 and metrics["train_seconds"] > 0 and metrics["train_images_per_s"] > 0
    assert metrics["test_galaxies_per_s"] > 0
    assert metrics["test_eta_pct"] == round(100 * metrics["test_eta"], 2)  # η as README prints it, beside the fraction

    table = Table.read(client.download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp_path)))
    test = tiny.split_index("test")
    assert np.array_equal(table["id"], np.asarray(tiny.catalog["id"])[test])
    assert set(table.colnames) >= {"z_spec", "z_phot", "z_err", "z_q16", "z_q50", "z_q84", "z_zstar", "z_mean", "z_median", "z_mode"}
    np.testing.assert_allclose(table["z_phot"], table["z_zstar"], rtol=1e-6)  # model.point_estimate defaults to zstar
    for name in ("zstar", "mean", "median", "mode"):
        measured = point_metrics(np.asarray(table[f"z_{name}"]), np.asarray(table["z_spec"]))["bias"]
        assert metrics[f"test_bias_of_{name}"] == pytest.approx(measured, rel=1e-6, abs=1e-9), name
        assert f"test_pdf_bias_of_{name}" in metrics and f"test_bias_err_of_{name}" in metrics
    assert metrics["test_pdf_bias_of_zstar"] == pytest.approx(0.0, abs=1e-6)  # z* zeroes the PDF's own expected Δz
    assert 0.0 < metrics["test_pit_ks"] <= 1.0
    recomputed = point_metrics(np.asarray(table["z_phot"]), np.asarray(table["z_spec"]))
    for name in TEST_METRICS:
        assert metrics[f"test_{name}"] == pytest.approx(recomputed[name], rel=1e-9, abs=1e-12), name

    artifacts = {a.path for p in ("", "plots") for a in client.list_artifacts(run.info.run_id, p)}
    assert {"config.yaml", "plots/test_zphot_vs_zspec.png", "plots/test_dz_vs_zspec.png", "plots/test_pit.png"} <= artifacts
    csv = Table.read(client.download_artifacts(run.info.run_id, "predictions/test_predictions.csv", str(tmp_path)))
    assert csv.colnames == table.colnames and np.array_equal(csv["id"], table["id"])  # the viewer previews CSV
    np.testing.assert_allclose(csv["z_phot"], table["z_phot"], rtol=1e-6)
    (model,) = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    assert model.name == model_name(run.info.run_name) == "seq-d2-lr2e-3-w8"  # the Models tab tells runs' models apart
    (description,) = tables(tags["mlflow.note.content"])  # the curated metrics, atop the run's page
    assert description[0] == ["test σ_MAD", "bias", "η", "RAIL outliers", "trainable params"]
    assert description[1][2] == f"{100 * metrics['test_eta']:.1f} %" and description[1][4] == f"{int(metrics['n_trainable_params']):,}"

    # the end-of-run summary: test metrics (η in percent), where the data and checkpoints are, the UI
    summary = res.stdout[res.stdout.index("photoz: finished run") :].splitlines()
    assert summary[0] == f"photoz: finished run seq d2 lr2e-3 w8 ({run.info.run_id}) in MLflow experiment e2e"
    assert f"η {100 * metrics['test_eta']:.1f} %" in summary[1] and f"σ_MAD {metrics['test_sigma_mad']:.4f}" in summary[1]
    assert summary[2].split() == ["data", "set:", str(tiny.path)]
    checkpoints = Path(summary[3].split()[1])
    assert summary[3].startswith("  checkpoints:") and (checkpoints / "best.pt").is_file()
    assert summary[4].split()[1:] == ["serve", "the", "UI:", "mlflow", "ui", "--backend-store-uri", uri(store)]
    exp_id = run.info.experiment_id  # the links open MLflow's machine-learning view (tests/tracking/test_links.py)
    assert summary[5].split() == ["runs", "table:", f"http://127.0.0.1:5000/#/experiments/{exp_id}/runs?workflowType=machine_learning&viewStateShareKey=photoz"]
    assert summary[6].split() == ["this", "run:", f"http://127.0.0.1:5000/#/experiments/{exp_id}/runs/{run.info.run_id}?workflowType=machine_learning"]
    assert f"python -m photoz.predict run={run.info.run_id} tracking.uri={uri(store)}" in summary[7]

    from photoz.estimators.cnn import CNNEstimator

    mlflow.set_tracking_uri(uri(store))
    loaded = CNNEstimator.load(f"runs:/{run.info.run_id}/{model.name}").predict(read_dataset(tiny.path), test)
    np.testing.assert_allclose(loaded.z_phot, table["z_phot"], rtol=1e-5)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/{model.name}")  # trainer.log_int8's copy, run when asked
    stamps = np.array(tiny.images[:4], dtype=np.float32)
    assert pyfunc.predict(stamps, params={"precision": "int8"}).shape == pyfunc.predict(stamps).shape

    # precision=int8 through the entry point: quantised on the run's own train split, z_phot within
    # the tolerance tests/inference/test_int8.py documents, the header saying which precision
    out = tmp_path / "int8.fits"
    cmd = [sys.executable, "-m", "photoz.predict", f"run={run.info.run_id}", f"tracking.uri={uri(store)}", "precision=int8",
           f"output={out}", f"hydra.run.dir={tmp_path / 'predict'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr[-3000:]
    int8 = Table.read(out, hdu="PHOTOZ")
    assert int8.meta["PRECISIO"] == "int8"
    assert np.abs(np.asarray(int8["z_phot"])[test] - table["z_phot"]).max() <= 0.002


def test_each_model_config_is_its_own_tag_compare_row_and_predict_label(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    """googlenet and googlenet_pasquet are both the googlenet estimator (tag `model`, which predict
    loads); tagged with the config chosen (`model_config`), they are two rows of photoz.compare."""
    small = ["model.depth=2", "model.modules=[[8,8],[8,8]]", "model.dense=[16]", "model.z_max=3.5"]
    common = ["data=directory", f"data.path={tiny.path}", "trainer.batch_size=8", "trainer.max_epochs=1", *small]
    for option in ("googlenet", "googlenet_pasquet"):
        res = train(tmp_path / option, store, *common, f"model={option}", "tracking.experiment=configs")
        assert res.returncode == 0, res.stderr[-3000:]
    runs = {r.data.tags["model_config"]: r for r in runs_of(store, "configs")}
    assert sorted(runs) == ["googlenet", "googlenet_pasquet"]
    assert {r.data.tags["model"] for r in runs.values()} == {"googlenet"}
    pasquet = runs["googlenet_pasquet"]
    assert pasquet.info.run_name == "pasquet d2 lr2e-3" and pasquet.data.params["model.batch_norm"] == "False"
    assert runs["googlenet"].info.run_name == "googlenet d2 lr2e-3"

    out = tmp_path / "compare"
    cmd = [sys.executable, "-m", "photoz.compare", f"tracking.uri={uri(store)}", "tracking.experiment=configs",
           f"output={out}", "log_run=false", f"hydra.run.dir={tmp_path / 'hydra'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = Table.read(out / "comparison.csv", format="ascii.csv")
    assert dict(zip(table["model"], table["run_id"])) == {k: r.info.run_id for k, r in runs.items()}  # two rows

    fits_out = tmp_path / "pasquet.fits"
    cmd = [sys.executable, "-m", "photoz.predict", f"run={pasquet.info.run_id}", f"tracking.uri={uri(store)}",
           f"output={fits_out}", f"hydra.run.dir={tmp_path / 'predict'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert Table.read(fits_out).meta["MODEL"] == "googlenet_pasquet" and "model googlenet_pasquet" in proc.stdout


def test_resume_continues_the_interrupted_run(tiny: Dataset, store: Path, tmp_path: Path, monkeypatch) -> None:
    from photoz.config import compose, to_typed
    from photoz.job.run import run

    common = ["data=directory", f"data.path={tiny.path}", *SMALL_CNN, "tracking.experiment=resume"]
    common += [f"tracking.uri={uri(store)}", f"tracking.artifact_root={store / 'artifacts'}", "trainer.progress=false"]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "a")  # outside Hydra, checkpoints go to ./checkpoints
    cfg = to_typed(compose(*common))
    before = copy.deepcopy(cfg)
    run(cfg)
    assert cfg == before and cfg.trainer.checkpoint_dir is None  # no component writes into the config
    (first,) = runs_of(store, "resume")
    MlflowClient(uri(store)).set_terminated(first.info.run_id, "KILLED")  # as after Ctrl-C

    # from another folder, no checkpoint_dir given: found through MLflow by the config's hash
    monkeypatch.chdir(tmp_path / "b")
    run(to_typed(compose(*common, "trainer.max_epochs=2", "trainer.resume=true")))
    (again,) = runs_of(store, "resume")
    assert again.info.run_id == first.info.run_id and again.info.status == "FINISHED"
    assert again.data.tags["model_config"] == "sequential"  # run() outside a Hydra job: model.name
    history = MlflowClient(uri(store)).get_metric_history(first.info.run_id, "val_sigma_mad")
    assert sorted(m.step for m in history) == [1, 2]
    assert not (tmp_path / "b" / "checkpoints").exists()

    ckpt = tmp_path / "a" / "checkpoints"
    other = train(tmp_path / "c", store, *common, "model=googlenet", "trainer.resume=true", f"trainer.checkpoint_dir={ckpt}")
    assert_one_error_line(other, "from another model (model.name=sequential there, googlenet here")
    gri = make_tiny_dataset(tmp_path / "gri", n=24, bands=list("gri"))  # same model, other bands
    bands = train(tmp_path / "d", store, *common, f"data.path={gri.path}", "trainer.resume=true", f"trainer.checkpoint_dir={ckpt}")
    assert_one_error_line(bands, "was trained on bands ['u', 'g', 'r', 'i', 'z', 'y'], but this data set has ['g', 'r', 'i']")
    (still,) = runs_of(store, "resume")
    assert still.info.status == "FINISHED"


def assert_one_error_line(res: subprocess.CompletedProcess, fragment: str) -> None:
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("photoz: error:")]
    assert len(errors) == 1 and fragment in errors[0], res.stderr[-3000:]


def _nan_pixel_copy(tiny: Dataset, target: Path) -> Path:
    shutil.copytree(tiny.path, target)
    images = np.load(target / "images.npy", mmap_mode="r+")
    images[3, 0, 0, 0] = np.nan
    images.flush()
    return target


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["optimizer.lr=-0.001"], "optimizer.lr=-0.001 is invalid"),
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 is invalid"),
        (["trainer.batch_size=1000"], "larger than the train split"),
        (["data.path=MISSING_DIR"], "no such data set directory"),
        (["data.path=NAN_COPY"], "non-finite pixels"),
        (["tracking.uri=sqlite:///A_FILE/mlflow.db"], "cannot create"),
        (["tracking.uri=sqlite:////proc/self/mlflow.db"], "the MLflow store cannot be written"),
        (["model.depth=0"], "model.depth=0 must be >= 1"),
        (["trainer.device=cuda"], "sees no CUDA GPU"),
        (["model.point_estimate=average"], "model.point_estimate=average is not a valid choice"),
    ],
)
def test_bad_input_is_one_clear_line(tiny: Dataset, store: Path, tmp_path: Path, overrides: list[str], fragment: str) -> None:
    if "trainer.device=cuda" in overrides:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU: trainer.device=cuda is valid here")
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    paths = {"MISSING_DIR": str(tmp_path / "nope"), "A_FILE": str(afile)}
    if any("NAN_COPY" in o for o in overrides):
        paths["NAN_COPY"] = str(_nan_pixel_copy(tiny, tmp_path / "nan_copy"))
    for key, value in paths.items():
        overrides = [o.replace(key, value) for o in overrides]
    res = train(tmp_path, store, "data=directory", f"data.path={tiny.path}", *SMALL_CNN, "tracking.experiment=bad", *overrides)
    assert_one_error_line(res, fragment)
    assert runs_of(store, "bad") == []  # nothing started, so nothing half-logged


def test_point_estimate_key_picks_z_phot_for_a_baseline(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    res = train(tmp_path, store, "data=directory", f"data.path={tiny.path}", "model=random_forest",
                "model.n_estimators=10", "model.n_jobs=1", "model.point_estimate=median", "tracking.experiment=pe")
    assert res.returncode == 0, res.stderr[-3000:]
    (run,) = runs_of(store, "pe")
    table = Table.read(MlflowClient(uri(store)).download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp_path)))
    np.testing.assert_allclose(table["z_phot"], table["z_median"], rtol=1e-6)
    assert run.data.params["model.point_estimate"] == "median"
    assert run.data.metrics["test_bias"] == pytest.approx(run.data.metrics["test_bias_of_median"], rel=1e-6)


def test_a_run_that_fails_after_starting_ends_failed(tiny: Dataset, store: Path, tmp_path: Path) -> None:
    # the tiny set's redshifts reach 1.5: the CNN refuses a pdf head that stops at 0.5
    res = train(tmp_path, store, "data=directory", f"data.path={tiny.path}", *SMALL_CNN, "model.z_max=0.5", "tracking.experiment=fails")
    assert_one_error_line(res, "model.z_max=0.5")
    (run,) = runs_of(store, "fails")
    assert run.info.status == "FAILED" and "model.z_max=0.5" in run.data.tags["error"]


def test_a_resumed_training_logs_each_epoch_once(store: Path) -> None:
    """The loop re-reports the epoch last.pt was saved after (photoz.training.loop.fit): the
    resumed run's EpochLogger logs it if the kill came before its metrics reached MLflow and
    skips the epochs MLflow already holds."""
    from photoz.config import TrialConfig
    from photoz.job.run import EpochLogger

    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri(store))
    try:
        mlflow.set_experiment("once")
        with mlflow.start_run() as run:
            EpochLogger(3, TrialConfig())(1, {"val_sigma_mad": 1.0})  # epoch 2's last.pt written, then killed
        with mlflow.start_run(run_id=run.info.run_id):
            resumed = EpochLogger(3, TrialConfig(), resumed=run.info.run_id)
            for epoch in (1, 2, 3):  # epoch 1 was logged, epoch 2 is the lost one
                resumed(epoch, {"val_sigma_mad": float(epoch)})
    finally:
        mlflow.set_tracking_uri(before)
    history = MlflowClient(uri(store)).get_metric_history(run.info.run_id, "val_sigma_mad")
    assert sorted((m.step, m.value) for m in history) == [(1, 1.0), (2, 2.0), (3, 3.0)] and resumed.epochs == 2
