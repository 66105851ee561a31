"""User-facing errors: one clear line and a non-zero exit, never a traceback for a user mistake."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar


class PhotozError(Exception):
    """A user mistake or bad input; the message says what, where and what to do."""


class DataError(PhotozError):
    """A data set (images, catalog, metadata) that fails validation."""


class ConfigError(PhotozError):
    """A configuration value that is out of range or inconsistent."""


class ResumeRefused(PhotozError):
    """trainer.resume found a checkpoint it cannot continue from, after the interrupted run was
    reopened: the run ends KILLED again (photoz.tracking.tracker), as it was, not FAILED."""


F = TypeVar("F", bound=Callable[..., Any])


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (its type if empty), for a one-line error; a first
    line that only announces what follows ("Error(s) in loading state_dict for PhotozNet:", whose
    size mismatches and missing keys are on the next lines) is joined to the next line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__[:limit]
    return (f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0])[:limit]


FULL = (errno.ENOSPC, errno.EDQUOT)
SQLITE_FULL = "database or disk is full"  # how SQLite (through SQLAlchemy and MLflow) says ENOSPC


def storage_failure(err: BaseException) -> str | None:
    """What went wrong, in a few words, if `err` (or an error that caused it) is a write that failed
    because the disk is full or over quota, or the file system is read-only; None otherwise."""
    seen: BaseException | None = err
    for _ in range(20):  # the chain __cause__ / __context__ of MLflow and SQLAlchemy errors
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in (*FULL, errno.EROFS):
            target = seen.filename2 or seen.filename  # shutil.copy: (source, destination)
            where = f" writing {target}" if target else ""
            return f"{seen.strerror or 'disk full'}{where}"
        if SQLITE_FULL in str(seen):
            return f"the MLflow store's disk is full ({SQLITE_FULL})"
        seen = seen.__cause__ or seen.__context__
    return None


def exit_on_user_error(func: F) -> F:
    """Turn a PhotozError raised by an entry point, or a write that failed on a full or read-only
    disk, into one stderr line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PhotozError as err:
            print(f"photoz: error: {err}", file=sys.stderr)
            sys.exit(2)
        except Exception as err:
            what = storage_failure(err)
            if what is None:
                raise
            print(f"photoz: error: {what}; free some space (or choose another place) and rerun", file=sys.stderr)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
