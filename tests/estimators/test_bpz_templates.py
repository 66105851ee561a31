"""BPZ's template fluxes (AB files): made whole before BPZ_lite reads them, never in place. BPZ_lite
alone writes them in place; with four such processes on a fresh folder, one read a half-written
file in two trials of three here (IndexError, or NUL bytes where numbers belong). Needs the [rail] extra."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from tinydata import make_tiny_dataset

pytest.importorskip("rail.estimation.algos.bpz_lite", reason='the [rail] extra is not installed: pip install -e ".[rail]"')

from photoz.errors import ConfigError  # noqa: E402
from photoz.estimators.bpz_templates import ab_name, ensure_ab_files, rail_bpz_data  # noqa: E402

FILTERS = ["DC2LSST_g", "DC2LSST_r"]
STAGE = dict(bands=["g", "r"], err_bands=["eg", "er"], ref_band="r", zp_errors=[0.01, 0.01], model={})

# one process: BPZ_lite's estimator stage on a data folder, its flux templates hashed;
# argv[2] == "photoz": the AB files made by ensure_ab_files first, else by BPZ_lite in place
SCRIPT = """
import contextlib, hashlib, io, sys
from rail.estimation.algos.bpz_lite import BPZliteEstimator
from photoz.estimators.bpz_templates import ensure_ab_files
stage = BPZliteEstimator.make_stage(name="t", bpz_ref_data_path=sys.argv[1], filter_list=%r, **%r)
if sys.argv[2] == "photoz":
    ensure_ab_files(stage)
with contextlib.redirect_stdout(io.StringIO()):
    flux = stage._load_templates()
print(flux.shape, hashlib.sha256(flux.tobytes()).hexdigest())
""" % (FILTERS, STAGE)


def _fresh_folder(path: Path) -> Path:
    """A BPZ data folder with RAIL's SEDs and filters linked and no AB files."""
    path.mkdir()
    for sub in ("SED", "FILTER"):
        (path / sub).symlink_to(rail_bpz_data() / sub)
    return path


def _stage(folder: Path, **kw):
    from rail.estimation.algos.bpz_lite import BPZliteEstimator

    return BPZliteEstimator.make_stage(name="t", bpz_ref_data_path=str(folder), **{"filter_list": FILTERS, **STAGE, **kw})


def _run(folder: Path, maker: str, n: int) -> list[str]:
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(folder), maker], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    return [out.strip() for out, _ in outs]


def test_processes_started_at_once_each_read_every_ab_file_whole(tmp_path) -> None:
    """Three processes on one fresh folder at once: every one gets the flux templates that
    BPZ_lite alone computes in a folder of its own; every file is in place, no private folder left."""
    (reference,) = _run(_fresh_folder(tmp_path / "alone"), "bpz", 1)
    assert reference.startswith("(301, 8, 2)")  # z grid × CWWSB4's 8 templates × 2 filters
    shared = _fresh_folder(tmp_path / "shared")
    assert _run(shared, "photoz", 3) == [reference] * 3
    assert sorted(p.name for p in (shared / "AB").iterdir()) == sorted(p.name for p in (tmp_path / "alone" / "AB").iterdir())


def test_files_are_made_in_a_private_folder_and_bpz_lite_never_writes_one(tmp_path, monkeypatch) -> None:
    """Every ABflux call writes into a private folder, BPZ_lite then finds every file (it is not
    let make one), and desc_bpz's folders point at the data folder again afterwards."""
    from desc_bpz import bpz_tools_py3, paths

    folder = _fresh_folder(tmp_path / "data")
    stage = _stage(folder)
    written_to, abflux = [], bpz_tools_py3.ABflux

    def spy(*args):
        written_to.append(paths.ab_dir)
        return abflux(*args)

    monkeypatch.setattr(bpz_tools_py3, "ABflux", spy)
    ensure_ab_files(stage)
    assert len(written_to) == 8 * len(FILTERS) and all(d.startswith(f"{folder}/AB/.photoz-") for d in written_to)
    assert paths.ab_dir == f"{folder}/AB/" and paths.sed_dir == f"{folder}/SED/"
    assert [p.name for p in (folder / "AB").iterdir() if not p.name.endswith(".AB")] == []

    def refuse(*_):
        raise AssertionError("BPZ_lite made an AB file in place")

    stage._make_new_ab_file = refuse
    with contextlib.redirect_stdout(io.StringIO()):
        assert stage._load_templates().shape == (301, 8, 2)
    written_to.clear()
    ensure_ab_files(stage)  # every file whole: nothing made again
    assert written_to == []


def test_a_file_a_killed_write_left_short_is_made_again(tmp_path) -> None:
    folder = _fresh_folder(tmp_path / "data")
    ensure_ab_files(_stage(folder))
    path = folder / "AB" / ab_name("Sbc_B2004a", "DC2LSST_g", "no")
    whole = path.read_text()
    path.write_text(whole[: len(whole) // 2].rsplit("\n", 1)[0] + "\n")  # cut at a line: still ends in "\n"
    ensure_ab_files(_stage(folder))
    assert path.read_text() == whole


def test_bad_input_is_one_line_and_leaves_nothing_behind(tmp_path) -> None:
    """An AB path that is no folder, a madau_flag BPZ_lite and ABflux read differently, and (through
    rail_bpz) a template list desc_bpz cannot read: one line each; desc_bpz's folders restored."""
    from desc_bpz import paths

    from photoz.config import compose, to_typed
    from photoz.errors import PhotozError
    from photoz.estimators.build import estimator_class

    folder = _fresh_folder(tmp_path / "data")
    (folder / "AB").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"BPZ's data folder .*data: cannot write its template fluxes there") as err:
        ensure_ab_files(_stage(folder))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"model.estimate.madau_flag='Yes': BPZ_lite takes yes or no"):
        ensure_ab_files(_stage(_fresh_folder(tmp_path / "other"), madau_flag="Yes"))

    data = make_tiny_dataset(tmp_path / "tiny", n=24)
    est = estimator_class("rail_bpz")(to_typed(compose("model=rail_bpz", "model.estimate.spectra_file=none.list")).model)
    with pytest.raises(PhotozError, match=r"BPZ's template fluxes in .*: FileNotFoundError: .*none.list") as err:
        est.fit(data, lambda *_: None)  # its val metrics are BPZ_lite's first estimate
    assert "\n" not in str(err.value)
    assert paths.sed_dir == f"{rail_bpz_data()}/SED/"
    assert not list((rail_bpz_data() / "AB").glob(".photoz-*"))
