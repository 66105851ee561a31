"""Is the process behind an MLflow run still alive? Tags every photoz run carries while it runs:

    photoz.host       the machine it runs on
    photoz.pid        its process id
    photoz.last_seen  UTC time (ISO 8601, 2026-12-04T10:12:33Z), refreshed every HEARTBEAT_S seconds
                      by a background thread

A run that is RUNNING is alive if its pid is running on this host (same host), or if it was seen
less than STALE_S ago (another host). A run killed with -9 stays RUNNING in MLflow (nothing could
end it) but is recognisable as dead: its pid is gone and its last_seen stops moving.
`trainer.resume=true` refuses to attach to a live run: two processes would train into the same
checkpoints and log the same steps twice.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from photoz.processes import pid_alive

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

HOST, PID, LAST_SEEN = "photoz.host", "photoz.pid", "photoz.last_seen"
HEARTBEAT_S = 60.0
STALE_S = 3 * HEARTBEAT_S


def iso_now() -> str:
    """The time now, UTC, to the second, as MLflow shows a tag to a person: 2026-12-04T10:12:33Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seen_at(value: str) -> float:
    """A last_seen tag as unix time: ISO 8601 (iso_now), or the unix seconds older runs wrote; 0 if unreadable."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def owner_tags() -> dict[str, str]:
    """This process's host, pid and the time now, as run tags."""
    return {HOST: socket.gethostname(), PID: str(os.getpid()), LAST_SEEN: iso_now()}


def still_alive(run: Run) -> str | None:
    """A description of the live process behind RUNNING `run` ("pid 12 on host a, seen 5 s ago"),
    or None if the run is not RUNNING or its process is gone."""
    tags = run.data.tags
    if run.info.status != "RUNNING" or HOST not in tags or PID not in tags:
        return None
    age = time.time() - seen_at(tags.get(LAST_SEEN, "0"))
    if tags[HOST] == socket.gethostname():
        alive = int(tags[PID]) != os.getpid() and pid_alive(int(tags[PID])) and age < STALE_S
    else:
        alive = age < STALE_S
    return f"pid {tags[PID]} on host {tags[HOST]}, last seen {age:.0f} s ago" if alive else None


class Heartbeat:
    """Refreshes photoz.last_seen of `run_id` every `interval_s` seconds until stopped."""

    def __init__(self, client: MlflowClient, run_id: str, interval_s: float = HEARTBEAT_S) -> None:
        self.client, self.run_id, self.interval_s = client, run_id, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="photoz-run-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.client.set_tag(self.run_id, LAST_SEEN, iso_now())
            except Exception:  # a busy store: the next beat tries again  # noqa: BLE001
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
