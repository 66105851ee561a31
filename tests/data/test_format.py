"""The data set format: exact round trip, and every format-level bad input refused with a DataError."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from photoz.data import DatasetWriter, read_dataset, validate_dataset, write_dataset
from photoz.errors import DataError

BANDS = ["g", "r", "i"]


def parts(n: int = 12, seed: int = 0) -> tuple[np.ndarray, Table, dict]:
    """Random images, a valid catalog and metadata for a 3-band set of 8x8 stamps."""
    rng = np.random.default_rng(seed)
    images = rng.normal(10, 3, (n, len(BANDS), 8, 8)).astype(np.float32)
    cat = Table({"id": np.arange(n, dtype=np.int64) + 7, "redshift": rng.uniform(0, 2, n)})
    cat["split"] = np.resize(np.array(["train", "val", "test"]), n)
    for i, b in enumerate(BANDS):
        cat[f"flux_{b}"] = images[:, i].sum((1, 2)).astype(float)
        cat[f"flux_err_{b}"] = np.full(n, 1.5)
    return images, cat, {"bands": BANDS, "pixel_scale": 0.2, "generator": {"name": "tests"}}


def leftovers_valid(parent: Path) -> list[Path]:
    """Directories under `parent` that would pass validation."""
    valid = []
    for d in parent.iterdir():
        try:
            validate_dataset(d)
            valid.append(d)
        except DataError:
            pass
    return valid


def test_round_trip_is_byte_exact_and_memmapped(tmp_path: Path) -> None:
    images, cat, meta = parts()
    write_dataset(tmp_path / "ds", images, cat, meta)
    ds = read_dataset(tmp_path / "ds")
    assert isinstance(ds.images, np.memmap) and ds.images.dtype == np.float32
    assert ds.images.tobytes() == images.tobytes()
    assert ds.bands == BANDS and ds.meta["pixel_scale"] == 0.2 and ds.meta["n_galaxies"] == 12
    for name in cat.colnames:
        assert np.array_equal(np.asarray(ds.catalog[name]), np.asarray(cat[name])), name
    flux, err = ds.fluxes(ds.split_index("val"))
    assert flux.shape == (4, 3) and np.allclose(flux[:, 1], cat["flux_r"][1::3]) and np.all(err == 1.5)
    assert [d.name for d in tmp_path.iterdir()] == ["ds"]  # no temp dir left behind


def test_streaming_writer_matches_in_memory_writer(tmp_path: Path) -> None:
    images, cat, meta = parts()
    with DatasetWriter(tmp_path / "streamed", len(images), BANDS, (8, 8)) as w:
        for start in range(0, len(images), 5):
            w.images[start : start + 5] = images[start : start + 5]
        w.finish(cat, {"pixel_scale": 0.2, "generator": {"name": "tests"}})
    write_dataset(tmp_path / "whole", images, cat, meta)
    for name in ("images.npy", "catalog.fits"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert read_dataset(tmp_path / "streamed").meta["checksum"] == read_dataset(tmp_path / "whole").meta["checksum"]


def _bad_length(images, cat):
    return images, cat[:-1]


def _nan_pixel(images, cat):
    images[5, 1, 3, 3] = np.nan
    return images, cat


def _duplicate_id(images, cat):
    cat["id"][4] = cat["id"][2]
    return images, cat


def _negative_z(images, cat):
    cat["redshift"][3] = -0.1
    return images, cat


def _nan_z(images, cat):
    cat["redshift"][3] = np.nan
    return images, cat


def _no_redshift(images, cat):
    cat.remove_column("redshift")
    return images, cat


def _bad_split(images, cat):
    cat["split"][6] = "tran"
    return images, cat


def _no_flux(images, cat):
    cat.remove_column("flux_err_i")
    return images, cat


@pytest.mark.parametrize(
    "spoil, message",
    [
        (_bad_length, "holds 12 images but .*catalog.fits has 11 rows"),
        (_nan_pixel, "image 5 has non-finite pixels"),
        (_duplicate_id, r"id 9 appears at rows \[2, 4\]"),
        (_negative_z, "redshift at row 3 is -0.1"),
        (_nan_z, "redshift at row 3 is nan"),
        (_no_redshift, "lacks column.* redshift"),
        (_bad_split, "split at row 6 is 'tran'"),
        (_no_flux, "lacks column.* flux_err_i"),
    ],
)
def test_writer_refuses_bad_input_and_leaves_nothing(tmp_path: Path, spoil, message: str) -> None:
    images, cat = spoil(*parts()[:2])
    with pytest.raises(DataError, match=message) as err:
        write_dataset(tmp_path / "ds", images, cat, parts()[2])
    assert "\n" not in str(err.value)
    assert ".tmp-" not in str(err.value), "the message must name the target, not the vanished temp dir"
    assert list(tmp_path.iterdir()) == []


def test_bands_must_match_channels(tmp_path: Path) -> None:
    images, cat, meta = parts()
    with pytest.raises(DataError, match="images have 2 channels but bands are"):
        write_dataset(tmp_path / "ds", images[:, :2], cat, meta)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    images, cat, meta = parts()
    write_dataset(tmp_path / "ds", images, cat, meta)
    return tmp_path / "ds"


def test_reader_finds_nan_written_later(written: Path) -> None:
    images = np.load(written / "images.npy", mmap_mode="r+")
    images[7, 0, 0, 0] = np.inf
    images.flush()
    del images
    with pytest.raises(DataError, match=r"images.npy: image 7 has non-finite pixels"):
        read_dataset(written)


def test_reader_finds_changed_pixels_by_checksum(written: Path) -> None:
    images = np.load(written / "images.npy", mmap_mode="r+")
    images[0, 0, 0, 0] += 1
    images.flush()
    del images
    with pytest.raises(DataError, match="checksum does not match"):
        read_dataset(written)
    assert read_dataset(written, validate=False).images.shape == (12, 3, 8, 8)


def test_reader_refuses_truncated_npy(written: Path) -> None:
    data = (written / "images.npy").read_bytes()
    (written / "images.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="images.npy is truncated or corrupt"):
        read_dataset(written)


@pytest.mark.parametrize("name", ["catalog.fits", "meta.json", "images.npy"])
def test_reader_refuses_incomplete_set(written: Path, name: str) -> None:
    (written / name).unlink()
    with pytest.raises(DataError, match=f"{name} is missing"):
        read_dataset(written)


def test_reader_refuses_broken_meta(written: Path) -> None:
    (written / "meta.json").write_text("{not json")
    with pytest.raises(DataError, match="meta.json is not valid JSON"):
        read_dataset(written)
    (written / "meta.json").write_text(json.dumps({"bands": []}))
    with pytest.raises(DataError, match="'bands' must be a non-empty list"):
        read_dataset(written)


def test_existing_output_refused_unless_overwrite(written: Path) -> None:
    images, cat, meta = parts(seed=1)
    with pytest.raises(DataError, match="already exists"):
        write_dataset(written, images, cat, meta)
    assert read_dataset(written).images[0, 0, 0, 0] == parts()[0][0, 0, 0, 0]  # untouched
    write_dataset(written, images, cat, meta, overwrite=True)
    assert read_dataset(written).images.tobytes() == images.tobytes()
    assert [d.name for d in written.parent.iterdir()] == ["ds"]


def test_error_inside_writer_block_leaves_nothing(tmp_path: Path) -> None:
    images, cat, _ = parts()
    with pytest.raises(RuntimeError, match="stop"):
        with DatasetWriter(tmp_path / "ds", len(images), BANDS, (8, 8)) as w:
            w.images[:6] = images[:6]
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="no such data set directory"):
        read_dataset(tmp_path / "ds")


KILLED_WRITER = """
import sys, time
import numpy as np
from photoz.data import DatasetWriter
with DatasetWriter(sys.argv[1], 1000, ["g", "r", "i"], (8, 8)) as w:
    w.images[:500] = 1.0
    print("half", flush=True)
    time.sleep(60)
"""


def test_writer_killed_half_way_leaves_nothing_valid(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(tmp_path / "ds")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "half"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / "ds").exists()
    assert list(tmp_path.iterdir()), "the killed writer's temp dir should still be there to check"
    assert leftovers_valid(tmp_path) == []
    with pytest.raises(DataError):
        read_dataset(tmp_path / "ds")


def test_overwrite_never_replaces_a_foreign_directory(tmp_path: Path) -> None:
    images, cat, meta = parts()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("precious")
    with pytest.raises(DataError, match="is not a photoz data set"):
        write_dataset(tmp_path / "notes", images, cat, meta, overwrite=True)
    assert (tmp_path / "notes" / "thesis.tex").read_text() == "precious"
    (tmp_path / "also_empty").mkdir()
    write_dataset(tmp_path / "also_empty", images, cat, meta, overwrite=True)
    assert read_dataset(tmp_path / "also_empty").images.tobytes() == images.tobytes()


def test_overwrite_replaces_only_a_complete_photoz_set_holding_nothing_else(tmp_path: Path) -> None:
    images, cat, meta = parts()
    thesis = tmp_path / "work"  # the audit's case: a stray meta.json beside a thesis and a folder
    (thesis / "sub").mkdir(parents=True)
    (thesis / "thesis.tex").write_text("precious")
    (thesis / "meta.json").write_text('{"bands": ["g"]}')
    with pytest.raises(DataError, match=r"is not a photoz data set \(sub/, thesis.tex, no images.npy, no catalog.fits\)"):
        write_dataset(thesis, images, cat, meta, overwrite=True)
    assert (thesis / "thesis.tex").read_text() == "precious" and (thesis / "sub").is_dir()
    full = tmp_path / "full"  # a complete set plus one user file: refused too
    write_dataset(full, images, cat, meta)
    (full / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"\(notes.txt\)"):
        write_dataset(full, parts(seed=2)[0], cat, meta, overwrite=True)
    assert (full / "notes.txt").exists()
    (full / "notes.txt").unlink()
    (full / "meta.json").write_text('{"bands": ["g", "r", "i"]}')  # three files, but not photoz's meta
    with pytest.raises(DataError, match="without a photoz generator"):
        write_dataset(full, images, cat, meta, overwrite=True)
    with pytest.raises(DataError, match="is a file"):
        (tmp_path / "afile").write_text("x")
        write_dataset(tmp_path / "afile", images, cat, meta, overwrite=True)


def test_a_writer_removes_stale_temp_folders_of_its_target_only(tmp_path: Path) -> None:
    import socket

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    host = socket.gethostname()
    stale = tmp_path / f".ds.tmp-{host}-{dead_pid}-abc"
    stale_old = tmp_path / f".ds.old-{host}-{dead_pid}-abc"
    live = tmp_path / f".ds.tmp-{host}-{os.getppid()}-abc"  # our parent is alive
    other_host = tmp_path / f".ds.tmp-elsewhere-{dead_pid}-abc"
    other_target = tmp_path / f".other.tmp-{host}-{dead_pid}-abc"
    for d in (stale, stale_old, live, other_host, other_target):
        d.mkdir()
        (d / "images.npy").write_bytes(b"x" * 100)
    images, cat, meta = parts()
    write_dataset(tmp_path / "ds", images, cat, meta)
    assert not stale.exists() and not stale_old.exists()
    assert live.exists() and other_host.exists() and other_target.exists()


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    import errno

    small = tmp_path / "small"
    small.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], capture_output=True)
    if mount.returncode != 0:  # not allowed to mount here: a fault-injecting allocation instead

        def full(fd: int, offset: int, length: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "posix_fallocate", full)
    try:
        images, cat, meta = parts(n=2000)  # 1.5 MB of images for a 256 kB disk
        with pytest.raises(DataError, match="No space left on device") as err:
            write_dataset(small / "ds", images, cat, meta)
        assert "\n" not in str(err.value) and "free some space" in str(err.value)
        assert list(small.iterdir()) == []  # no temp folder, no partial set
    finally:
        if mount.returncode == 0:
            subprocess.run(["umount", str(small)], check=True)
