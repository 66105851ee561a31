"""A study is bound to its data set, its search space and the fixed settings of its objective: all
three are recorded on the study (user attrs) when it is created, and a later run, or another
worker, whose data, space or settings differ is refused with one line naming both sides, before
any trial is asked. Without this, a sweep over other data (data.n_galaxies=600) would reuse the
study of the same group names, report its old best and let the pruner compare curves of two data
sets; and `model=googlenet hydra.sweeper.study_name=<a sequential study>` would add googlenet
trials to the sequential study. (The direction is checked by open_study.)

The fixed settings are the model and optimizer choices and every model, optimizer and trainer value
and the seed that the sweep does not search (`trainer.max_epochs=5` changes what a trial's value
means); where and how fast a trial runs (RUNTIME_KEYS, tracking, trial) is not part of them.

The data identity is the data set's content checksum (meta.json), so the same data reached
through another path or working directory is the same study, and other data is never mixed in.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.photoz_sweeper._search_space import SearchSpace
from photoz.errors import ConfigError

DATA_ATTR = "photoz.data_checksum"
SPACE_ATTR = "photoz.search_space"
OBJECTIVE_ATTR = "photoz.objective"
OBJECTIVE_BLOCKS = ("seed", "model", "optimizer", "trainer")  # what a trial's value depends on
CHOICES = ("model", "optimizer")  # config groups: `model=googlenet`
RUNTIME_KEYS = frozenset(
    f"trainer.{key}"
    for key in ("device", "resume", "num_threads", "checkpoint_dir", "preload_max_gb", "progress", "compile")
)


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


def objective_identity(config: DictConfig, space: SearchSpace) -> dict[str, str]:
    """The fixed settings of the sweep's objective as {dotted key: value}: the group choices and the
    values of OBJECTIVE_BLOCKS, overridden by the sweep's fixed overrides, less what the sweep
    searches (a searched group: all of its keys but the fixed ones) and RUNTIME_KEYS."""
    values: dict[str, str] = {}
    choices = config.hydra.runtime.choices if "hydra" in config else {}
    for group in CHOICES:
        if choices.get(group):
            values[group] = str(choices[group])
    for block in OBJECTIVE_BLOCKS:
        if block in config:
            node = config[block]
            _flatten(OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node, block, values)
    searched = set(space.distributions)
    kept = {k: v for k, v in values.items() if not any(k == s or k.startswith(f"{s}.") for s in searched)}
    for line in space.fixed:  # e.g. model.width=16 from hydra.sweeper.params: not in the composed config
        key, _, value = line.partition("=")
        if key.split(".")[0] in OBJECTIVE_BLOCKS:
            kept[key] = value
    return {k: v for k, v in sorted(kept.items()) if k not in RUNTIME_KEYS}


def _flatten(node: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}", out)
    else:
        out[prefix] = str(node)


def bind(study: optuna.Study, data: str | None, space: str, objective: dict[str, str] | None = None) -> None:
    """Record data, space and objective on a study that has none; ConfigError if it holds other ones."""
    checks = (
        (DATA_ATTR, data, lambda was, now: f"for another data set (content checksum): {_short(was)}, not {_short(now)}"),
        (SPACE_ATTR, space, lambda was, now: f"for another search space: {was}, not {now}"),
        (OBJECTIVE_ATTR, objective, lambda was, now: f"with other fixed settings: {_differences(was, now)}"),
    )
    recorded, missing = study.user_attrs, {}
    for attr, now, differs in checks:
        before = recorded.get(attr)
        if now is not None and before is None:
            missing[attr] = now
        elif now is not None and before != now:
            raise ConfigError(
                f"study {study.study_name!r} was made {differs(before, now)}; rerun with the study's own data, search "
                "space and settings, or start a new study with hydra.sweeper.study_name=<name>"
            )
    for attr, now in missing.items():  # only after every check passed: a refusal writes nothing
        study.set_user_attr(attr, now)


def _differences(before: dict[str, str], now: dict[str, str], shown: int = 3) -> str:
    """`model=sequential, not googlenet; trainer.max_epochs=24, not 5 and 2 more` (choices first)."""
    keys = sorted((k for k in before.keys() | now.keys() if before.get(k) != now.get(k)), key=lambda k: (k.count("."), k))
    parts = [f"{k}={before.get(k, '(unset)')}, not {now.get(k, '(unset)')}" for k in keys[:shown]]
    return "; ".join(parts) + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def _short(value: str) -> str:
    return value[:12] if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else value
