"""The simulated data set: valid output, cache by config hash, determinism, refusals, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from simconf import sim_cfg

from photoz.data import read_dataset, validate_dataset
from photoz.data.simulate import build
from photoz.data.source import open_dataset
from photoz.errors import ConfigError, DataError

BANDS = list("ugrizy")


def test_builds_a_valid_set_then_reuses_it(tmp_path: Path) -> None:
    ds = open_dataset(sim_cfg(tmp_path))
    validate_dataset(ds.path)
    assert ds.path.parent == tmp_path and ds.path.name.startswith("lsst_sim-")
    assert ds.images.shape == (24, 6, 16, 16) and ds.bands == BANDS
    for col in ["id", "redshift", "split", "true_hlr", "true_q", "true_beta", "true_bt", "true_sed"]:
        assert col in ds.catalog.colnames
    for b in BANDS:
        assert {f"flux_{b}", f"flux_err_{b}", f"mag_{b}", f"true_mag_{b}"} <= set(ds.catalog.colnames)
    assert ds.meta["generator"]["config"]["n_galaxies"] == 24 and ds.meta["psf_fwhm_eff"]["u"] == 0.90
    assert sorted(set(ds.catalog["split"])) == ["test", "train", "val"]
    mtime = (ds.path / "images.npy").stat().st_mtime_ns
    again = open_dataset(sim_cfg(tmp_path, workers=2))  # workers is not part of the content
    assert again.path == ds.path and (ds.path / "images.npy").stat().st_mtime_ns == mtime
    other = open_dataset(sim_cfg(tmp_path, seed=1))
    assert other.path != ds.path and not np.array_equal(other.images, ds.images)


def test_same_config_gives_identical_bytes_with_any_worker_count(tmp_path: Path) -> None:
    one = open_dataset(sim_cfg(tmp_path / "a", workers=1))
    two = open_dataset(sim_cfg(tmp_path / "b", workers=2))
    assert one.path.name == two.path.name
    for name in ("images.npy", "catalog.fits", "meta.json"):
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes(), name


@pytest.mark.parametrize("size", [64, 9])
def test_other_stamp_sizes_keep_the_galaxy_centred(tmp_path: Path, size: int) -> None:
    ds = open_dataset(sim_cfg(tmp_path, n_galaxies=8, stamp_size=size, bands=["i"], depth="y10"))
    assert ds.images.shape == (8, 1, size, size)
    brightest = int(np.argmax(ds.catalog["flux_i"]))
    peak = np.unravel_index(np.argmax(ds.images[brightest, 0]), (size, size))
    assert max(abs(p - size // 2) for p in peak) <= 1


def test_split_fractions_are_respected(tmp_path: Path) -> None:
    ds = open_dataset(sim_cfg(tmp_path, n_galaxies=40, split={"train": 0.5, "val": 0.25, "test": 0.25}))
    assert [len(ds.split_index(s)) for s in ("train", "val", "test")] == [20, 10, 10]


@pytest.mark.parametrize(
    "override, words",
    [
        ({"bands": ["g", "r", "w"]}, "unknown band"),
        ({"stamp_size": 7}, "stamp_size=7"),
        ({"n_galaxies": 0}, "n_galaxies=0"),
        ({"n_galaxies": -5}, "n_galaxies=-5"),
        ({"split": {"train": 0.8, "val": 0.1, "test": 0.2}}, "sum to 1"),
        ({"ebv_mean": -0.1}, "data.ebv_mean=-0.1 is negative"),
        ({"line_ew_scale": -1.0}, "data.line_ew_scale=-1.0 is negative"),
    ],
)
def test_bad_config_is_one_line_config_error(tmp_path: Path, override: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as err:
        open_dataset(sim_cfg(tmp_path, **override))
    assert "\n" not in str(err.value)
    assert not any(tmp_path.iterdir())


def test_output_dir_holding_another_set_is_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    first = open_dataset(sim_cfg(tmp_path, output=str(out)))
    with pytest.raises(DataError, match="holds a different data set.*overwrite=true"):
        open_dataset(sim_cfg(tmp_path, output=str(out), seed=3))
    replaced = open_dataset(sim_cfg(tmp_path, output=str(out), seed=3, overwrite=True))
    assert replaced.path == out and replaced.meta["generator"]["config"]["seed"] == 3
    assert not np.array_equal(np.asarray(replaced.images), np.asarray(first.images))


def test_failure_half_way_leaves_nothing_that_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    render, calls = build._render_chunk, []

    def dies_on_second_chunk(job):
        calls.append(job["index"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # what Ctrl-C does half-way
        return render(job)

    monkeypatch.setattr(build, "_render_chunk", dies_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        open_dataset(sim_cfg(tmp_path))
    assert calls == [0, 1] and list(tmp_path.iterdir()) == []


def test_killed_process_leaves_nothing_that_validates(tmp_path: Path) -> None:
    code = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[1])\n"
        "from simconf import sim_cfg\nfrom pathlib import Path\nfrom photoz.data.simulate import build\n"
        "render = build._render_chunk\n"
        "def kill(job):\n    if job['index'] == 1: os.kill(os.getpid(), signal.SIGKILL)\n    return render(job)\n"
        "build._render_chunk = kill\nfrom photoz.data.source import open_dataset\nopen_dataset(sim_cfg(Path(sys.argv[2])))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)], capture_output=True)
    assert proc.returncode == -9
    left = list(tmp_path.iterdir())
    assert all(p.name.startswith(".") for p in left)  # only the hidden temp dir of the writer
    for p in left:
        with pytest.raises(DataError):
            read_dataset(p)


def test_entry_point_refuses_bad_input_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "photoz.simulate", "data.stamp_size=4", f"data.root={tmp_path}", f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, cwd=Path(__file__).parents[2], env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "data.stamp_size=4" in lines[0], proc.stderr


def test_entry_point_writes_a_valid_set(tmp_path: Path) -> None:
    args = ["data.n_galaxies=40", "data.stamp_size=16", "data.workers=2", f"data.root={tmp_path}", f"hydra.run.dir={tmp_path}/run"]
    proc = subprocess.run([sys.executable, "-m", "photoz.simulate", *args], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr
    (path,) = tmp_path.glob("lsst_sim-*")
    assert str(path) in proc.stdout
    assert len(read_dataset(path)) == 40


def _simulate(tmp_path: Path, n: int) -> subprocess.Popen:
    """`python -m photoz.simulate` with two pool workers and small chunks (8-pixel stamps)."""
    cmd = [sys.executable, "-m", "photoz.simulate", f"data.n_galaxies={n}", "data.workers=2", "data.chunk_size=16",
           "data.stamp_size=8", f"data.root={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _no_worker_noise(err: str) -> None:
    assert "Traceback" not in err and "ForkPoolWorker" not in err and "BrokenPipe" not in err, err[-3000:]


def test_a_simulation_with_workers_prints_no_worker_traceback(tmp_path: Path) -> None:
    """pool.terminate() sends SIGTERM to the workers: they end silently (no 'Process
    ForkPoolWorker-2 ... Terminated: SIGTERM' traceback)."""
    out, err = _simulate(tmp_path, 2000).communicate(timeout=300)
    _no_worker_noise(err)
    assert "2000 galaxies" in out


@pytest.mark.parametrize("signum", [9, 15])
def test_killed_simulation_ends_without_worker_tracebacks(tmp_path: Path, signum: int) -> None:
    """kill -9: the workers die with their parent, silently (they printed 68 lines of BrokenPipe
    tracebacks); SIGTERM: one line, exit 143, no temp folder left."""
    import signal
    import time

    proc = _simulate(tmp_path, 30000)  # ~5 s of rendering on 2 cores
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".lsst_sim-*/images.npy")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the workers are rendering chunks now
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)  # returns once every writer of stderr, workers included, is gone
    _no_worker_noise(err)
    if signum == signal.SIGTERM:
        assert proc.returncode == 143 and err.strip().splitlines()[-1] == "photoz: terminated (SIGTERM)", err[-3000:]
        assert not list(tmp_path.glob(".lsst_sim-*")) and not list(tmp_path.glob("lsst_sim-*"))
    else:
        assert proc.returncode == -9
