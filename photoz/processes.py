"""Whether a process of this host is alive: the one test behind every "is its owner gone?"

A data set writer's stale temp folders (photoz.data.target), a dead run (photoz.tracking.liveness)
and a dead sweep trial (hydra_plugins.photoz_sweeper._study) are all recognised by it, so it sits
in the lowest layer, beside photoz.errors, where each of them may import it.
"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
