"""BPZ's template fluxes (AB files) under load: processes that start at once on a fresh data
folder each get every file whole. BPZ_lite alone writes them in place; with four such processes
on a fresh folder, one read a half-written file in two trials of three here (IndexError, or
NUL bytes where numbers belong). Needs the [rail] extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rail.estimation.algos.bpz_lite", reason='the [rail] extra is not installed: pip install -e ".[rail]"')

from photoz.errors import ConfigError  # noqa: E402
from photoz.estimators.bpz_templates import ensure_ab_files  # noqa: E402

FILTERS = ["DC2LSST_g", "DC2LSST_r"]

# one process: BPZ_lite's estimator stage on a data folder, its flux templates hashed;
# argv[2] == "photoz": the AB files made by ensure_ab_files first, else by BPZ_lite in place
SCRIPT = """
import contextlib, hashlib, io, sys
from rail.estimation.algos.bpz_lite import BPZliteEstimator
from photoz.estimators.bpz_templates import ensure_ab_files
stage = BPZliteEstimator.make_stage(name="t", bpz_ref_data_path=sys.argv[1], filter_list=%r, bands=["g", "r"],
                                    err_bands=["eg", "er"], ref_band="r", zp_errors=[0.01, 0.01], model={})
if sys.argv[2] == "photoz":
    ensure_ab_files(stage)
with contextlib.redirect_stdout(io.StringIO()):
    flux = stage._load_templates()
print(flux.shape, hashlib.sha256(flux.tobytes()).hexdigest())
""" % FILTERS


def _fresh_folder(path: Path) -> Path:
    """A BPZ data folder with RAIL's SEDs and filters linked and no AB files."""
    from rail.utils.path_utils import RAILDIR

    shipped = Path(RAILDIR) / "rail/examples_data/estimation_data/data"
    path.mkdir()
    for sub in ("SED", "FILTER"):
        (path / sub).symlink_to(shipped / sub)
    return path


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


def test_a_data_folder_it_cannot_write_is_one_line(tmp_path) -> None:
    from rail.estimation.algos.bpz_lite import BPZliteEstimator

    folder = _fresh_folder(tmp_path / "data")
    (folder / "AB").write_text("not a folder")
    stage = BPZliteEstimator.make_stage(name="t", bpz_ref_data_path=str(folder), filter_list=FILTERS, bands=["g", "r"],
                                        err_bands=["eg", "er"], ref_band="r", zp_errors=[0.01, 0.01], model={})
    with pytest.raises(ConfigError, match=r"BPZ's data folder .*data: cannot write its template fluxes there") as err:
        ensure_ab_files(stage)
    assert "\n" not in str(err.value)
