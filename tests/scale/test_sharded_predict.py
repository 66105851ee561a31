"""Sharded inference: photoz.predict under torchrun (one shard per rank) and `python -m
photoz.merge` give exactly the table of one unsharded run; bad shard specs and incomplete sets
are one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from mlflow.tracking import MlflowClient
from tinydata import make_tiny_dataset

from photoz.errors import ConfigError
from photoz.merge import merge
from photoz.predictions.shards import parse_shard, shard_path, shard_rows


def test_shards_partition_the_rows() -> None:
    for n_rows, count in ((10, 3), (7, 7), (1000, 8)):
        rows = [shard_rows(n_rows, parse_shard(f"{i}/{count}")) for i in range(count)]
        assert [r for part in rows for r in part] == list(range(n_rows))
        assert max(map(len, rows)) - min(map(len, rows)) <= 1
    assert shard_path(Path("out/z.fits"), (3, 12)) == Path("out/z.shard-03-of-12.fits")
    assert shard_rows(5, None) == range(5) and parse_shard(None) is None


@pytest.mark.parametrize("spec", ["2/2", "-1/2", "a/b", "1", "0/0"])
def test_bad_shard_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"give shard=i/n with 0 <= i < n"):
        parse_shard(spec)


def test_more_shards_than_galaxies_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="more shards than the 3 galaxies"):
        shard_rows(3, (0, 4))


def predict(cwd: Path, *args: str, launcher: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [*(launcher or (sys.executable,)), "-m", "photoz.predict", f"hydra.run.dir={cwd / 'run'}", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_torchrun_shards_merge_to_the_unsharded_table(tmp_path, mlflow_server) -> None:
    data = make_tiny_dataset(tmp_path / "tiny", n=41)
    train = [sys.executable, "-m", "photoz.train", "model=knn", "data=directory", f"data.path={data.path}",
             f"tracking.uri={mlflow_server.uri}", "tracking.experiment=shards", f"hydra.run.dir={tmp_path / 'train'}"]
    assert subprocess.run(train, cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    client = MlflowClient(mlflow_server.uri)
    (run,) = client.search_runs([client.get_experiment_by_name("shards").experiment_id])
    common = [f"run={run.info.run_id}", f"input={data.path}", f"tracking.uri={mlflow_server.uri}", "batch_size=8"]

    whole = predict(tmp_path, *common, f"output={tmp_path / 'whole.fits'}")
    assert whole.returncode == 0, whole.stderr[-3000:]
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0")
    sharded = predict(tmp_path, *common, f"output={tmp_path / 'z.fits'}", launcher=torchrun)
    assert sharded.returncode == 0, sharded.stderr[-3000:]
    parts = [Table.read(tmp_path / f"z.shard-{i}-of-2.fits") for i in range(2)]
    assert [len(p) for p in parts] == [20, 21]

    bad = predict(tmp_path, *common, "shard=2/2")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("photoz: error: shard=2/2:")

    assert merge(tmp_path / "z.fits", batch_rows=7) == 41
    merged, reference = Table.read(tmp_path / "z.fits"), Table.read(tmp_path / "whole.fits")
    assert merged.colnames == reference.colnames
    for name in reference.colnames:  # the merge copies rows; batches cut elsewhere differ in the last bit
        np.testing.assert_array_equal(merged[name], np.concatenate([p[name] for p in parts]))
        np.testing.assert_allclose(merged[name], reference[name], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(merged["id"], reference["id"])

    (tmp_path / "z.shard-1-of-2.fits").unlink()
    with pytest.raises(ConfigError, match=r"shard\(s\) \[1\] of 2 missing"):
        merge(tmp_path / "z.fits")
