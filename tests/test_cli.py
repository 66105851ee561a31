"""Hydra mistakes as a user makes them, through the real entry points in a subprocess: one
`photoz: error:` line naming the bad option or key and the valid choices, exit status 2, no
traceback, in single runs and in multirun; internal *_schema configs are never offered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# every config in conf/model/, sorted, and no *_schema among them
MODELS = ", ".join(sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "model").glob("*.yaml")))


def run(tmp_path: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    flags = [a for a in args if a.startswith("-")]  # -m, --help go before the overrides
    cmd = [sys.executable, "-m", module, *flags, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'multi'}",
           f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", *(a for a in args if a not in flags)]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def one_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("photoz: error: "), res.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("mode", [[], ["-m"]])
@pytest.mark.parametrize("option", ["foo", "sequential_schema"])
def test_a_bad_model_is_one_line_with_the_valid_choices(tmp_path: Path, mode: list[str], option: str) -> None:
    line = one_line(run(tmp_path, "photoz.train", *mode, f"model={option}" + (",knn" if mode else "")))
    assert f"model={option} is not an option" in line and line.endswith(f"choose one of: {MODELS}")
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "multi" / "0").exists()  # no job started


def test_a_bad_model_in_an_optuna_sweep_is_one_line(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "photoz.train", "-m", "sweep=depth_lr", "model=googlenet_schema"))
    assert "model=googlenet_schema is not an option" in line and "_schema" not in line.split("choose one of:")[1]
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("mode", [[], ["-m"]])
def test_a_misspelt_key_is_one_line_naming_the_right_one(tmp_path: Path, mode: list[str]) -> None:
    line = one_line(run(tmp_path, "photoz.train", *mode, "trainer.max_epoch=3"))
    assert "trainer.max_epoch is not a key of 'trainer'; did you mean trainer.max_epochs?" in line
    assert "max_epochs, batch_size, patience" in line and "+trainer" not in line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["model.depth=four"], "model.depth=four"),
        (["model.depth=["], "cannot parse the override 'model.depth=['"),
        (["optimizer=sgd_schema"], "optimizer=sgd_schema is not an option of 'optimizer'; choose one of: adamw, sgd"),
        (["data=lsst_sim_schema"], "choose one of: catalog, directory, lsst_sim"),
    ],
)
def test_other_composition_mistakes_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert fragment in one_line(run(tmp_path, "photoz.train", *args))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["model.head=foo"], "model.head=foo is not a valid choice; choose one of: pdf, regression"),
        (["trainer.precision=fp8"], "choose one of: auto, bf16, fp32"),
        (["optimizer.schedule=linear"], "choose one of: cosine, onecycle, constant"),
        (["model=template_fit", "model.prior=flat"], "model.prior=flat is not a valid choice; choose one of: none, benitez, smail"),
        (["model=knn", "model.point_estimate=average"], "choose one of: zstar, mean, median, mode"),
        (["data.sed_model=bc03"], "data.sed_model=bc03 is not a valid choice; choose one of: cosmos, realistic, cww, empirical"),
        (["-m", "sweep=depth_lr", "hydra.sweeper.sampler=cmaes"], "hydra.sweeper.sampler=cmaes is not a valid choice"),
        (["-m", "sweep=depth_lr", "hydra.sweeper.pruner=patient"], "choose one of: median, hyperband, successive_halving, none"),
    ],
)
def test_a_bad_choice_is_refused_at_composition_naming_the_valid_ones(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert fragment in one_line(run(tmp_path, "photoz.train", *args))
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "sweeps").exists()  # nothing started


def test_a_bad_ingest_format_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "photoz.ingest", "format=hdf5", f"hydra.run.dir={tmp_path / 'run'}"]
    line = one_line(subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300))
    assert "format=hdf5 is not a valid choice; choose one of: fits_cube, fits_cutouts, numpy" in line


def test_every_entry_point_reports_a_misspelt_key_in_one_line(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "photoz.predict", "run=abc", "inptu=x"))
    assert "inptu is not a key of the config; did you mean input?" in line and "hydra" not in line


def test_predict_and_compare_refuse_a_bad_choice_and_a_forced_key_in_one_line(tmp_path: Path) -> None:
    """conf/predict.yaml and conf/compare.yaml have schemas (photoz/tool_schemas.py) like photoz.train's."""
    line = one_line(run(tmp_path, "photoz.predict", "run=abc", "format=csv"))
    assert "format=csv is not a valid choice; choose one of: fits, qp" in line
    line = one_line(run(tmp_path, "photoz.predict", "run=abc", "+pdfs=true"))
    assert "unknown config key pdfs" in line and "did you mean pdf?" in line
    line = one_line(run(tmp_path, "photoz.compare", "+foo=1"))
    assert "unknown config key foo" in line


def test_help_lists_no_internal_schema(tmp_path: Path) -> None:
    res = run(tmp_path, "photoz.train", "--help")
    assert res.returncode == 0 and f"model: {MODELS}" in res.stdout and "_schema" not in res.stdout


def test_warnings_in_a_pipe_carry_no_ansi_codes(tmp_path: Path) -> None:
    """MLflow colours some warnings with ANSI codes; run_main prints them plain when stderr is a pipe."""
    code = ("from mlflow.utils.warnings_utils import color_warning; from photoz.cli import run_main; "
            "run_main(lambda: color_warning('photoz test warning', stacklevel=1, color='yellow'))")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "UserWarning: photoz test warning" in res.stderr, res.stderr
    assert "\x1b[" not in res.stderr
