"""Where a data set writer may write, and the temp folders it writes into.

- Overwrite replaces only what photoz wrote: an empty folder, or a complete photoz data set
  (exactly images.npy, catalog.fits and a meta.json with a generator) that holds nothing else.
  Anything else is refused with one line naming what is in the way.
- A writer's temp folder is `.<name>.tmp-<host>-<pid>-<random>` beside the target (a replaced set
  briefly becomes `.<name>.old-<host>-<pid>-<random>`; photoz.predict's table `.<name>.tmp-<host>-<pid>-0`).
  Before it starts, a writer removes those of its own target whose process is gone (same host,
  pid not running); a live writer's are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

from photoz.errors import DataError
from photoz.processes import pid_alive

DATASET_FILES = ("images.npy", "catalog.fits", "meta.json")
FILTERS_DIR = "filters"  # optional: a data set's own filter curves, <band>.dat (photoz.data.filters)
_KINDS = ("tmp", "old")


def _in_the_way(path: Path) -> list[str]:
    """What in `path` is not a complete photoz data set (empty list: safe to replace)."""
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    if not entries:
        return []
    others = [e for e in entries if e not in DATASET_FILES and e != f"{FILTERS_DIR}/"]
    missing = [n for n in DATASET_FILES if n not in entries]
    if others or missing:
        return others + [f"no {n}" for n in missing]
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (ValueError, OSError):
        return ["meta.json that is not JSON"]
    if not isinstance(meta, dict) or not isinstance(meta.get("generator"), dict):
        return ["meta.json without a photoz generator"]
    return []


def check_target(path: Path, overwrite: bool, flag: str = "data.overwrite") -> None:
    """DataError unless a data set may be written at `path` (absent, or replaceable with `flag`=true)."""
    if not path.exists():
        return
    if not overwrite:
        output = flag.replace("overwrite", "output")
        raise DataError(f"{path} already exists; choose another {output}= or set {flag}=true to replace it")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a photoz data set; refusing to replace it, choose another directory")
    blocking = _in_the_way(path)
    if blocking:
        shown = ", ".join(blocking[:5]) + (f" and {len(blocking) - 5} more" if len(blocking) > 5 else "")
        raise DataError(
            f"{path} is not a photoz data set ({shown}); refusing to replace it even with overwrite, "
            "move those away or choose another directory"
        )


def _tag() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-"


def make_temp(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden folder beside `path` named after this host and process."""
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.{kind}-{_tag()}", dir=path.parent))


def make_temp_file(path: Path, kind: str) -> Path:
    """A fresh hidden file beside `path` named after this host and process (empty, closed)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{kind}-{_tag()}", dir=path.parent)
    os.close(fd)
    return Path(name)


def temp_file(path: Path) -> Path:
    """The hidden temp file name of this process for a single-file output `path`."""
    return path.with_name(f".{path.name}.tmp-{_tag()}0")


def remove_stale_temps(path: Path, kinds: tuple[str, ...] = _KINDS) -> list[Path]:
    """Remove temp folders and files `.<name>.<kind>-<host>-<pid>-*` of `path` left by dead
    writers on this host; returns what was removed."""
    host, removed = socket.gethostname(), []
    for kind in kinds:
        prefix = f".{path.name}.{kind}-{host}-"
        for tmp in path.parent.glob(f".{path.name}.{kind}-*"):
            pid = tmp.name[len(prefix) :].split("-", 1)[0]
            if tmp.name.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def reserve(file: Path, where: Path) -> None:
    """Allocate every block of `file` now, so a full disk is one DataError here and not a SIGBUS
    later, when the memmapped images are written; `where` is the target named in the message."""
    size = file.stat().st_size
    try:
        with open(file, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, size)
    except OSError as err:
        raise DataError(
            f"{where}: cannot reserve {size / 1e6:.1f} MB in {where.parent} ({err.strerror or err}); "
            "free some space or choose another directory"
        ) from None


def no_space(err: OSError, where: Path) -> DataError:
    """The one-line DataError for a failed write (disk full, quota, read-only) while building `where`."""
    return DataError(f"{where}: writing the data set failed ({err.strerror or err}); free some space or choose another directory")
