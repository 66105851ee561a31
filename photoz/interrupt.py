"""Ctrl-C and SIGTERM that always land, where photoz can handle them.

A handler that raises runs inside whatever the main thread executes at that moment; when that is
a `__del__` or a weakref callback (SQLAlchemy cleans up connections that way), Python prints
"Exception ignored in: ..." and drops the exception: the run trained on, RUNNING, until a second
signal. So `install()`'s handler only records the signal, and `check()` raises it at safe points:
every batch a CNN trains or predicts (photoz.training.batches), every chunk the simulator renders,
before each batch of sweep trials, and when an MLflow run starts and before it is ended FINISHED
(photoz.tracking.tracker), so a run open when a signal came never ends FINISHED. A second signal
raises at once (a user who presses Ctrl-C twice, or a process stuck where no check runs).

The signal stays recorded after it was raised: code that swallows the exception cannot make the
process go on; every later safe point raises it again.

Ctrl-C raises `Interrupted` (exit status 130), SIGTERM `Terminated` (143); both are
KeyboardInterrupt, so `except Exception` never catches them. Who handles one may set `advice`
(the true way to continue), which the entry point prints.
"""

from __future__ import annotations

import signal
from types import FrameType

_received: int | None = None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT): the run ends KILLED; `advice` says how to continue (None: nothing to resume)."""

    signum = signal.SIGINT
    exit_code = 130
    what = "interrupted"
    advice: str | None = None


class Terminated(Interrupted):
    """SIGTERM (kill, a scheduler's time limit)."""

    signum = signal.SIGTERM
    exit_code = 143
    what = "terminated (SIGTERM)"


def _exception(signum: int) -> Interrupted:
    return Terminated("SIGTERM") if signum == signal.SIGTERM else Interrupted("SIGINT")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:  # the second one: stop now, wherever that is
        raise _exception(signum)
    _received = signum


def install() -> None:
    """Record SIGTERM and SIGINT instead of raising them where they arrive (main thread only)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def check() -> None:
    """A safe point: raise Terminated or Interrupted if a signal was received."""
    if _received is not None:
        raise _exception(_received)


def reset() -> None:
    """Forget a received signal (for a process that handled it and goes on, e.g. a test harness)."""
    global _received
    _received = None


def for_child_process() -> None:
    """In a worker process forked from a photoz process (the simulator's pool): SIGTERM kills it
    silently (its parent ends it with SIGTERM), Ctrl-C is left to the parent, no signal recorded."""
    reset()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def message(err: KeyboardInterrupt) -> tuple[str, int]:
    """The one line an entry point prints for an interruption, and its exit status."""
    what = getattr(err, "what", "interrupted")
    advice = getattr(err, "advice", None)
    return f"photoz: {what}{'; ' + advice if advice else ''}", getattr(err, "exit_code", 130)
