"""Sharded prediction (`python -m photoz.predict ... shard=i/n`): shard i of n takes the i-th of
n contiguous, near-equal row ranges of the data set and writes its own table next to `output`,
<stem>.shard-<i>-of-<n>.fits. Under torchrun (WORLD_SIZE > 1) with no shard given, each rank
predicts shard RANK/WORLD_SIZE. `python -m photoz.merge <output>` joins the shards into one table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from photoz.errors import ConfigError

SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(spec: object) -> tuple[int, int] | None:
    """(i, n) from `shard=i/n`, else from torchrun's RANK / WORLD_SIZE, else None (no sharding)."""
    if spec is None:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return (int(os.environ.get("RANK", "0")), world) if world > 1 else None
    found = SPEC.match(str(spec))
    if found is None or not int(found[1]) < int(found[2]):
        raise ConfigError(
            f"shard={spec}: give shard=i/n with 0 <= i < n, e.g. shard=0/4 ... shard=3/4 for four processes"
        )
    return int(found[1]), int(found[2])


def shard_rows(n_rows: int, shard: tuple[int, int] | None) -> range:
    """The rows of shard (i, n): [i*N//n, (i+1)*N//n); all rows when not sharded."""
    if shard is None:
        return range(n_rows)
    index, count = shard
    if count > n_rows:
        raise ConfigError(f"shard={index}/{count}: more shards than the {n_rows} galaxies of the data set")
    return range(index * n_rows // count, (index + 1) * n_rows // count)


def shard_path(output: Path, shard: tuple[int, int] | None) -> Path:
    """Where shard (i, n) of `output` goes: <stem>.shard-<i>-of-<n><suffix> (zero-padded, so the
    names sort in row order); `output` itself when not sharded."""
    if shard is None:
        return output
    index, count = shard
    width = len(str(count - 1))
    return output.with_name(f"{output.stem}.shard-{index:0{width}d}-of-{count}{output.suffix}")


def find_shards(output: Path) -> list[Path]:
    """The shard files of `output`, in row order; ConfigError unless exactly one complete set."""
    pattern = re.compile(rf"^{re.escape(output.stem)}\.shard-(\d+)-of-(\d+){re.escape(output.suffix)}$")
    found = {}
    for path in output.parent.glob(f"{output.stem}.shard-*"):
        match = pattern.match(path.name)
        if match:
            found[(int(match[1]), int(match[2]))] = path
    counts = sorted({count for _, count in found})
    if len(counts) != 1:
        what = "no shard files" if not counts else f"shards of {len(counts)} different counts {counts}"
        raise ConfigError(f"{output}: {what} named {output.stem}.shard-<i>-of-<n>{output.suffix}; run the shards first")
    count = counts[0]
    missing = [i for i in range(count) if (i, count) not in found]
    if missing:
        raise ConfigError(f"{output}: shard(s) {missing} of {count} missing; rerun them with shard=<i>/{count}")
    return [found[(i, count)] for i in range(count)]
