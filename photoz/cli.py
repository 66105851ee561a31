"""Run a `@hydra.main` entry point so that a user mistake is one stderr line and exit status 2.

Hydra reports a bad override (`model=foo`, `trainer.max_epoch=3`, `model.depth=x`,
`model.head=foo`) in 8 to 20 lines, lists every option of the group and suggests `+key=value` for
a misspelt key. `run_main` asks Hydra to raise instead (HYDRA_FULL_ERROR=1 for this process) and
prints one line naming the bad option, key or value and the valid choices (a key typed with a
photoz.choices Enum lists its values). A PhotozError that reaches it (a multirun job's user
mistake, re-raised by Hydra's basic sweeper) is one line too (exit_on_user_error). A Ctrl-C or
SIGTERM that ends the command is one line and exit status 130 / 143 (photoz.interrupt; with
`signals=True` they are recorded and raised at safe points). Anything else keeps its full
traceback. With HYDRA_FULL_ERROR=1 set by the user, Hydra's own reporting is left alone.
`quiet_terminal` keeps out of the terminal what a user cannot act on (numexpr's thread count,
MLflow's per-file copy bars, ANSI codes in warnings written to a file or a pipe).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError
from omegaconf.nodes import EnumNode

from photoz import interrupt
from photoz.errors import exit_on_user_error

FULL_ERROR = "HYDRA_FULL_ERROR"
SCHEMA_SUFFIX = "_schema"  # internal structured configs, never a user's choice
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _missing_option(err: MissingConfigException) -> str:
    """`model=foo`: the group, the bad option and the valid ones."""
    group, _, option = str(err.missing_cfg_file or "").rpartition("/")
    if not group or err.options is None:
        return f"{_first(str(err))}; check the config name"
    options = sorted(o for o in err.options if not o.endswith(SCHEMA_SUFFIX))
    return f"{group}={option} is not an option of '{group}'; choose one of: {', '.join(options)}"


def _valid_keys(cause: OmegaConfBaseException) -> list[str]:
    kind = getattr(cause, "object_type", None)
    if kind is not None and dataclasses.is_dataclass(kind):
        return [f.name for f in dataclasses.fields(kind)]
    node = getattr(cause, "parent_node", None)
    return [str(k) for k in node.keys() if k != "hydra"] if hasattr(node, "keys") else []


def _unknown_key(cause: OmegaConfBaseException) -> str:
    """`trainer.max_epoch=3`: the key and the keys that block has (no `+key` hint: it would be ignored)."""
    full_key = str(getattr(cause, "full_key", "") or getattr(cause, "key", ""))
    block, _, key = full_key.rpartition(".")
    keys = _valid_keys(cause)
    where = f"'{block}'" if block else "the config"
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f"; did you mean {block + '.' if block else ''}{close[0]}?" if close else ""
    listed = f"; the keys of {where}: {', '.join(keys)}" if keys else ""
    return f"{full_key} is not a key of {where}{hint}{listed}"


def _bad_choice(cause: ValidationError) -> str:
    """`model.head=foo` for a key typed with a photoz.choices Enum: the valid values."""
    choices = ", ".join(member.value for member in cause.child_node.enum_type)
    return f"{cause.full_key}={cause.value} is not a valid choice; choose one of: {choices}"


def describe(err: HydraException) -> str:
    """The one line for a mistake Hydra or OmegaConf raised while composing the config."""
    if isinstance(err, MissingConfigException):
        return _missing_option(err)
    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r} ({_first(err.message)}); check its quotes and brackets"
    cause = err.__cause__
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        return _unknown_key(cause)
    if isinstance(cause, ValidationError) and isinstance(getattr(cause, "child_node", None), EnumNode):
        return _bad_choice(cause)
    detail = f": {_first(str(cause))}" if isinstance(cause, OmegaConfBaseException) else ""
    return f"{_first(str(err))}{detail}"


def quiet_terminal() -> None:
    """The terminal shows progress, the summary and real problems, nothing a user cannot act on."""
    # numexpr (imported by pandas) logs "NumExpr defaulting to N threads." at INFO, which Hydra's
    # job logging prints on stdout of every entry point: a default, not news
    logging.getLogger("numexpr").setLevel(logging.WARNING)
    # MLflow draws a bar per file it copies, e.g. a logged model's weights and config into the model
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    plain = warnings.formatwarning

    def formatwarning(*args: Any, **kwargs: Any) -> str:
        # MLflow colours some warnings with ANSI codes even when stderr is a file or a pipe
        text = plain(*args, **kwargs)
        return text if sys.stderr.isatty() else ANSI.sub("", text)

    warnings.formatwarning = formatwarning


def run_main(main: Callable[[], Any], signals: bool = False) -> None:
    """Call a `@hydra.main` function; a Hydra composition mistake or a PhotozError is one line,
    exit 2; an interruption one line, exit 130 (Ctrl-C) or 143 (SIGTERM). With `signals`, Ctrl-C
    and SIGTERM are raised only at photoz's safe points (photoz.interrupt.install)."""
    quiet_terminal()
    if signals:
        interrupt.install()
    try:
        _run(main)
    except KeyboardInterrupt as err:  # whoever ended a run KILLED set err.advice: how to continue
        line, code = interrupt.message(err)
        print(line, file=sys.stderr)
        sys.exit(code)


def _run(main: Callable[[], Any]) -> None:
    if os.environ.get(FULL_ERROR) == "1":  # the user wants Hydra's full tracebacks
        main()
        return
    previous = os.environ.get(FULL_ERROR)
    os.environ[FULL_ERROR] = "1"
    try:
        exit_on_user_error(main)()
    except HydraException as err:
        print(f"photoz: error: {describe(err)}", file=sys.stderr)
        sys.exit(2)
    finally:
        if previous is None:
            del os.environ[FULL_ERROR]
        else:
            os.environ[FULL_ERROR] = previous
