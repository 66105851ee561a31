"""Session-scoped real servers for the scale tests (see servers.py), started once and stopped at
the end; each test gets its own PostgreSQL database and MLflow experiment names."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import MlflowServer, Postgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with tempfile.TemporaryDirectory(prefix="photoz-pg-") as root:
        server = Postgres(Path(root))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return postgres.create_database(f"study{next(_databases)}")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
