"""The search space: hydra.sweeper.params plus command-line sweep overrides, parsed by Hydra's own
override parser into Optuna distributions, with the grammar of the official optuna sweeper:

    choice(a, b, c) or a,b,c      categorical
    range(1, 5)                   int 1..4 (stop excluded, as everywhere in Hydra); range(0.1, 1.0, 0.2)
    interval(1e-4, 1e-2)          float in [low, high]; int(interval(1, 8)) for ints
    tag(log, interval(1e-4, 1e-2))  the same on a log scale (low > 0)

A plain value (`model.width: 16`, `trainer.max_epochs=5`) is passed unchanged to every trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from hydra.errors import HydraException
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from photoz.errors import ConfigError, first_line


@dataclass
class SearchSpace:
    """Optuna distributions by override key, plus the overrides every trial gets unchanged."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)
    grid_values: dict[str, list[Any]] = field(default_factory=dict)  # only for choice and range

    def suggest(self, trial: optuna.trial.Trial) -> list[str]:
        """Sample every parameter for `trial`; the overrides that give the job those values."""
        return [f"{name}={_suggest(trial, name, dist)}" for name, dist in self.distributions.items()]

    def grid(self) -> dict[str, list[Any]]:
        """The search space as GridSampler wants it: every parameter a finite list."""
        missing = [name for name in self.distributions if name not in self.grid_values]
        if missing:
            raise ConfigError(
                f"sampler=grid needs choice(...) or range(...) for {', '.join(missing)}, not interval(...); "
                "use another hydra.sweeper.sampler or list the values"
            )
        return self.grid_values


def _suggest(trial: optuna.trial.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def parse_search_space(params: Mapping[str, Any] | None, arguments: list[str]) -> SearchSpace:
    """hydra.sweeper.params, then the command line (which wins for a key given in both)."""
    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    overrides: dict[str, Override] = {}
    for origin, group in (("hydra.sweeper.params", lines), ("the command line", arguments)):
        for line in group:
            try:
                override = OverridesParser.create().parse_overrides([line])[0]
            except HydraException as err:
                reason = " ".join(str(err).split("\n")[1:2]) or first_line(err)  # Hydra's second line says what
                raise ConfigError(f"bad search space {line!r} in {origin}: {reason}") from None
            overrides[override.get_key_element()] = override
    space = SearchSpace()
    for key, override in overrides.items():
        if not override.is_sweep_override():
            space.fixed.append(f"{key}={override.get_value_element_as_str()}")
            continue
        space.distributions[key] = _distribution(key, override, space.grid_values)
    return space


def _distribution(key: str, override: Override, grid_values: dict[str, list[Any]]) -> BaseDistribution:
    """One sweep override as an Optuna distribution; finite ones also leave their values for grid."""
    value = override.value()
    where = override.input_line or key
    log = "log" in getattr(value, "tags", set())
    if isinstance(value, IntervalSweep):
        low, high = value.start, value.end
        if low > high:
            raise ConfigError(f"bad search space {where}: low {low} > high {high}; swap them")
        if log and low <= 0:
            raise ConfigError(f"bad search space {where}: a log scale needs low > 0, got {low}")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=log)
        return FloatDistribution(float(low), float(high), log=log)
    if log:
        raise ConfigError(f"bad search space {where}: tag(log, ...) applies to interval(...) only")
    values = list(override.sweep_iterator(transformer=Transformer.encode))
    if not values:
        raise ConfigError(f"bad search space {where}: it holds no value (low > high?)")
    grid_values[key] = values
    if isinstance(value, RangeSweep) and not value.shuffle:
        low, high, step = min(values), max(values), abs(value.step)
        if all(isinstance(v, int) for v in values):
            return IntDistribution(low, high, step=int(step))
        return FloatDistribution(float(low), float(high), step=float(step))
    assert isinstance(value, (ChoiceSweep, RangeSweep))
    return CategoricalDistribution(values)
