"""One SIGTERM, sent at many points of a training run while busy processes load the CPUs, always
ends the run KILLED within seconds (photoz.interrupt: the handler only records the signal, safe
points raise it). A handler that raised where the signal arrived lost it when that was inside a
`__del__` or weakref callback (SQLAlchemy's), and the run trained on, RUNNING, until a second one."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mlflow.tracking import MlflowClient
from tinydata import make_tiny_dataset

HARNESS = Path(__file__).with_name("signal_harness.py")
DELAYS_S = (0.0, 0.05, 0.15, 0.3, 0.5, 0.75, 1.0, 1.5)  # after a run's start: before, at and after the MLflow run starts
# Measured on 2 shared AMD EPYC cores with the two busy loops: 0.04-2.1 s at load average 5; one of
# eight 11 s at load average 15 (the work up to the next safe point, slowed eightfold). A lost
# signal never lands: the run trained on for minutes, until a second one.
LANDS_WITHIN_S = 30.0


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        if line.startswith("harness: "):
            into.put(line.split()[1:])


def test_one_sigterm_at_many_points_under_load_always_ends_the_run_killed(tmp_path: Path) -> None:
    data = make_tiny_dataset(tmp_path / "tiny", n=32)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    proc = subprocess.Popen([sys.executable, str(HARNESS), str(data.path), str(tmp_path), str(len(DELAYS_S))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    latencies = []
    try:
        for i, delay in enumerate(DELAYS_S):
            assert lines.get(timeout=300) == ["start", str(i)], "".join(stderr)[-3000:]
            time.sleep(delay)
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                ended = lines.get(timeout=LANDS_WITHIN_S)
            except queue.Empty:
                raise AssertionError(f"run {i}: a SIGTERM sent {delay} s after its start was lost") from None
            latencies.append(time.monotonic() - sent)
            assert ended == ["end", str(i), "Terminated"], "".join(stderr)[-3000:]
        proc.wait(timeout=60)
    finally:
        for p in (*busy, proc):
            p.kill()
            p.wait()
    assert proc.returncode == 0 and "Exception ignored" not in "".join(stderr), "".join(stderr)[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("signals").experiment_id])
    assert len(runs) == len(DELAYS_S)  # one run per start: each signal ended the run it was sent to
    for run in runs:
        assert run.info.status == "KILLED", (run.info.run_name, run.info.status)
        assert run.data.tags["error"] == "interrupted (Terminated); continue with the same command plus trainer.resume=true"
    print("SIGTERM to the end of the run (s):", " ".join(f"{t:.2f}" for t in latencies))
