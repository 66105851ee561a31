"""Opening a local SQLite MLflow store safely: writable, and created once when workers race.

- A store whose folder or file cannot be written is refused at once with one line (SQLAlchemy
  would otherwise retry for minutes and print a long traceback).
- Several processes starting at once on a fresh store (sweep workers, Slurm array jobs) would each
  try to create MLflow's tables, and all but one crash ("table ... already exists"). The first
  open of a SQLite store therefore runs under an exclusive lock (flock) on its folder.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from photoz.errors import ConfigError

PREFIX = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, or None for any other store."""
    if not uri.startswith(PREFIX) or uri[len(PREFIX) :] in ("", ":memory:"):
        return None
    return Path(uri[len(PREFIX) :])


def check_writable(uri: str, given: str) -> None:
    """ConfigError unless the SQLite store at `uri` (as the user wrote it: `given`) can be written."""
    path = sqlite_path(uri)
    if path is None:
        return
    try:
        with tempfile.TemporaryFile(dir=path.parent):  # SQLite writes its journal beside the file
            pass
        if path.exists():
            with open(path, "r+b"):
                pass
    except OSError as err:
        raise ConfigError(
            f"tracking.uri={given}: the MLflow store cannot be written ({err.strerror or err}); "
            "point tracking.uri at a writable place, e.g. tracking.uri=sqlite:///mlruns/mlflow.db"
        ) from None


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock on a SQLite store's folder for as long as the block runs (no-op otherwise)."""
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
