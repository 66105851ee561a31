"""Opening a local SQLite MLflow store safely: writable, created once when workers race, never
half-created, and with room to record how a run ended when the disk fills up.

- A store whose folder or file cannot be written is refused at once with one line (SQLAlchemy
  would otherwise retry for minutes and print a long traceback).
- Several processes starting at once on a fresh store (sweep workers, Slurm array jobs) would each
  try to create MLflow's tables, and all but one crash ("table ... already exists"). The first
  open of a SQLite store therefore runs under an exclusive lock (flock) on its folder.
- A fresh store is created in a temp file beside it and renamed into place (`create_store`): a
  full disk or a killed process leaves no half-created store (after which every later open failed
  with "table secrets already exists"). A store MLflow cannot open that holds nothing (one
  half-created by an older version) is removed and created anew (`remove_if_empty`).
- While a run is open, `SpaceReserve` keeps RESERVE_BYTES allocated beside the store and frees
  them before the run is ended, so a disk the run filled (artifacts, metrics) still has room for
  SQLite to record FAILED or KILLED: a run is never left RUNNING by a full disk.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from photoz.data.target import make_temp_file, remove_stale_temps, temp_file
from photoz.errors import FULL, ConfigError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

PREFIX = "sqlite:///"
RESERVE_BYTES = 256 * 1024  # room for SQLite's journal when the run's status and tags are written
RESERVE = "reserve"


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


def create_store(uri: str) -> None:
    """Create the SQLite store at `uri` if it is not there (call under `store_lock`): MLflow builds
    its tables in a temp file beside it, which is then renamed into place."""
    path = sqlite_path(uri)
    if path is None or path.exists():
        return
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    remove_stale_temps(path)  # temp stores of creators that died (same host)
    tmp = temp_file(path)
    try:
        SqlAlchemyStore(PREFIX + str(tmp), DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)
        forget_engine(PREFIX + str(tmp))
        os.replace(tmp, path)
    finally:
        forget_engine(PREFIX + str(tmp))
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)


def forget_engine(uri: str) -> None:
    """Close the connections MLflow keeps open to the store at `uri` (one engine per URI for the
    life of the process), so that a replaced store file is opened anew."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = getattr(SqlAlchemyStore, "_engine_map", {}).pop(uri, None)
    if engine is not None:
        engine.dispose()


def remove_if_empty(uri: str) -> bool:
    """Remove the SQLite store at `uri` if it holds nothing (no run, no model, no experiment but
    MLflow's Default): what a creation that stopped half-way leaves. Returns whether it did."""
    path = sqlite_path(uri)
    if path is None or not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (names from sqlite_master)
                      for t in ("runs", "experiments", "registered_models", "logged_models") if t in tables}  # fmt: skip
    except sqlite3.Error:
        return False  # not SQLite, locked, ...: MLflow's own message says what is wrong
    if counts.get("experiments", 0) > 1 or any(n for t, n in counts.items() if t != "experiments"):
        return False
    path.unlink()
    return True


def open_store(uri: str) -> MlflowClient:
    """A client of the store at `uri`, its tables created if it is new; a local store that MLflow
    cannot open and that holds nothing (half-created by an older version) is created anew."""
    from mlflow.tracking import MlflowClient

    try:
        create_store(uri)
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # creates / migrates a store photoz did not create
    except Exception:
        if not remove_if_empty(uri):
            raise
        forget_engine(uri)  # its connections still point at the removed file
        create_store(uri)
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)
    return client


class SpaceReserve:
    """RESERVE_BYTES allocated in a hidden file beside a local SQLite store from when a run starts
    until `release` (before the run is ended); nothing for any other store. ConfigError at once if
    the disk has not even that much room, before the run starts."""

    def __init__(self, uri: str) -> None:
        self.file: Path | None = None
        path = sqlite_path(uri)
        if path is None:
            return
        remove_stale_temps(path, kinds=(RESERVE,))  # those of runs killed with -9 (same host)
        self.file = make_temp_file(path, RESERVE)
        try:
            with open(self.file, "r+b") as f:
                _allocate(f.fileno(), RESERVE_BYTES)
        except OSError as err:
            self.release()
            if err.errno in FULL:
                raise ConfigError(
                    f"{path.parent} is full ({err.strerror}): the MLflow store {path.name} needs "
                    f"{RESERVE_BYTES // 1024} kB free to record how a run ends; free some space and rerun"
                ) from None
            raise

    def release(self) -> None:
        if self.file is not None:
            self.file.unlink(missing_ok=True)
            self.file = None


def _allocate(fd: int, size: int) -> None:
    """Reserve `size` bytes of disk for `fd` (written out where fallocate is not supported)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno in FULL:
            raise
        os.write(fd, os.urandom(size))  # random: a compressing file system cannot shrink it


class _DropDbErrorLog(logging.Filter):
    """MLflow logs a full traceback for every failed SQL statement and then raises it anyway;
    photoz reports the raised error in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SQLAlchemy database error")


def quiet_db_errors() -> None:
    """Install _DropDbErrorLog on MLflow's database logger (once)."""
    logger = logging.getLogger("mlflow.store.db.utils")
    if not any(isinstance(f, _DropDbErrorLog) for f in logger.filters):
        logger.addFilter(_DropDbErrorLog())
