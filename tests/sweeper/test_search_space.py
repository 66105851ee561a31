"""The search-space grammar: Hydra's override parser into Optuna distributions (in process)."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.photoz_sweeper._search_space import parse_search_space
from photoz.errors import ConfigError


def test_grammar_of_the_official_plugin() -> None:
    space = parse_search_space(
        {
            "model.depth": "range(1, 5)",
            "optimizer.lr": "tag(log, interval(1e-4, 1e-2))",
            "model.width": "int(interval(8, 32))",
            "model.head": "choice(pdf, regression)",
            "trainer.max_epochs": 3,
        },
        ["model.dropout=0.0,0.1", "optimizer.lr=interval(0.001, 0.1)"],
    )
    assert space.distributions == {
        "model.depth": IntDistribution(1, 4),  # stop excluded, as in Hydra's range
        "optimizer.lr": FloatDistribution(0.001, 0.1),  # the command line wins over the config
        "model.width": IntDistribution(8, 32),
        "model.head": CategoricalDistribution(["pdf", "regression"]),
        "model.dropout": CategoricalDistribution([0.0, 0.1]),
    }
    assert space.fixed == ["trainer.max_epochs=3"]
    assert space.grid_values["model.depth"] == [1, 2, 3, 4]
    with pytest.raises(ConfigError, match="grid needs choice"):
        space.grid()  # optimizer.lr is an interval


def test_log_scale_and_float_range() -> None:
    space = parse_search_space({"a": "tag(log, int(interval(1, 64)))", "b": "range(0.1, 1.0, 0.2)"}, [])
    assert space.distributions["a"] == IntDistribution(1, 64, log=True)
    assert space.distributions["b"] == FloatDistribution(0.1, 0.9, step=0.2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"a": "foo(1, 2)"}, "Unknown function 'foo'"),
        ({"a": "interval(3, 1)"}, "low 3.0 > high 1.0"),
        ({"a": "tag(log, interval(0, 1))"}, "log scale needs low > 0"),
        ({"a": "tag(log, choice(1, 2))"}, "applies to interval"),
        ({"a": "range(5, 1)"}, "holds no value"),
    ],
)
def test_malformed_search_space(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_search_space(params, [])
    assert "\n" not in str(err.value)
