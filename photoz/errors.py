"""User-facing errors: one clear line and a non-zero exit, never a traceback for a user mistake."""

from __future__ import annotations

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


F = TypeVar("F", bound=Callable[..., Any])


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (its type if empty), for a one-line error."""
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:limit]


def exit_on_user_error(func: F) -> F:
    """Turn a PhotozError raised by an entry point into one stderr line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PhotozError as err:
            print(f"photoz: error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
