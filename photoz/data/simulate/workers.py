"""The simulator's pool workers end without a word.

A worker forked from photoz.simulate or photoz.train inherits photoz's signal handlers
(photoz.interrupt), so `pool.terminate()` (SIGTERM) made each print "Process ForkPoolWorker-2 ...
Terminated: SIGTERM" with a traceback, and a parent killed with -9 left its workers to die on a
broken pipe, 68 lines of tracebacks. `quiet_worker` (the pool's initializer) lets SIGTERM end the
worker silently, leaves Ctrl-C to the parent, and on Linux asks the kernel to kill the worker
when its parent dies (PR_SET_PDEATHSIG), before it can write to the dead parent's pipe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

from photoz import interrupt

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def quiet_worker() -> None:
    """Make this pool worker end silently on SIGTERM and when its parent dies."""
    parent = os.getppid()
    interrupt.for_child_process()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:  # no libc to ask: the worker still ends on SIGTERM
            return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)
