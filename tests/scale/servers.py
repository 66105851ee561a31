"""Real servers on loopback for the scale tests: a PostgreSQL cluster made with Debian's initdb /
pg_ctl in a temp folder, and an `mlflow server` with artifact serving over a SQLite store. Each
runs on a free port and is stopped by the fixture that started it (tests/scale/conftest.py)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(tool: str) -> str:
    """Debian keeps the server tools under /usr/lib/postgresql/<version>/bin, off PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}")) or [shutil.which(tool) or ""]
    if not found[-1]:
        raise RuntimeError(f"{tool} not found: install Debian's postgresql package (apt-get install -y postgresql)")
    return found[-1]


class Postgres:
    """A throw-away PostgreSQL cluster; run as user `postgres` when the tests run as root
    (the server refuses to run as root)."""

    def __init__(self, root: Path) -> None:
        self.data, self.port = root / "pgdata", free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(root, info.pw_uid, info.pw_gid)

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "photoz", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://photoz@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="photoz", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class MlflowServer:
    """`mlflow server` with --serve-artifacts, its store and artifacts under `root`."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        cmd = [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}", "--serve-artifacts",
            "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1",
        ]  # fmt: skip
        log = open(self.root / "server.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server not up after {timeout} s: {(self.root / 'server.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # uvicorn's graceful shutdown can take long
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
