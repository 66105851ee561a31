"""A study is bound to its data set and its search space: both are recorded on the study (user
attrs) when it is created, and a later run, or another worker, whose data or space differ is
refused with one line naming both, before any trial is asked. Without this, a sweep over other
data (data.n_galaxies=600) would reuse the study of the same group names, report its old best and
let the pruner compare curves of two data sets. (The direction is checked by open_study.)

The data identity is the data set's content checksum (meta.json), so the same data reached
through another path or working directory is the same study, and other data is never mixed in.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from omegaconf import DictConfig

from photoz.errors import ConfigError

DATA_ATTR = "photoz.data_checksum"
SPACE_ATTR = "photoz.search_space"


def data_identity(config: DictConfig) -> str | None:
    """The content checksum of the data set `config.data` names (built once if it is simulated),
    or None for an app without a data block."""
    if config.get("data") is None:
        return None
    from photoz.data.source import open_dataset

    dataset = open_dataset(config.data)
    return str(dataset.meta.get("checksum") or dataset.path)


def space_identity(distributions: dict[str, Any]) -> str:
    """The search space as one canonical string (parameter -> Optuna distribution)."""
    return json.dumps({key: repr(dist) for key, dist in sorted(distributions.items())}, sort_keys=True)


def bind(study: optuna.Study, data: str | None, space: str) -> None:
    """Record data and space on a study that has none; ConfigError if it holds other ones."""
    recorded, missing = study.user_attrs, {}
    for attr, now, what in ((DATA_ATTR, data, "data set (content checksum)"), (SPACE_ATTR, space, "search space")):
        before = recorded.get(attr)
        if now is not None and before is None:
            missing[attr] = now
        elif now is not None and before != now:
            raise ConfigError(
                f"study {study.study_name!r} was made for another {what}: {_short(before)}, not {_short(now)}; "
                "rerun with the study's own data and search space, or start a new study with hydra.sweeper.study_name=<name>"
            )
    for attr, now in missing.items():  # only after every check passed: a refusal writes nothing
        study.set_user_attr(attr, now)


def _short(value: str) -> str:
    return value[:12] if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else value
