"""One source for every default: each YAML of conf/model, conf/optimizer and conf/data (and
config.yaml's trainer, tracking and trial blocks, pretrain.yaml's trainer, tracking and pretrain blocks, and
conf/ingest.yaml, predict.yaml, compare.yaml, ensemble.yaml) lists every key of its schema, with
the schema's default as its value. A config that differs from the schema it builds on has a schema
of its own (SGDConfig's lr, GoogLeNetPasquetConfig), so `OmegaConf.structured(<schema>)` is exactly
the config a user gets.

The one key a conf/model YAML leaves out is `name`, which no user changes: it is the estimator the
option is registered as (photoz.registry), set by its schema alone, and the test below ties the
three together (YAML option, registry entry, schema default)."""

from __future__ import annotations

from typing import Any

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from photoz.config import CONF_DIR, compose, register_schemas
from photoz.data.ingest import register_schemas as register_ingest_schema
from photoz.registry import REGISTRY, VARIANTS
from photoz.tool_schemas import register_schemas as register_tool_schemas

register_schemas()
register_ingest_schema()
register_tool_schemas()
GROUP_YAMLS = sorted(p for group in ("model", "optimizer", "data") for p in (CONF_DIR / group).glob("*.yaml"))
TOP_LEVEL = {"config.yaml": ("seed", "trainer", "tracking", "trial"), "ingest.yaml": None, "predict.yaml": None,
             "compare.yaml": None, "ensemble.yaml": None, "pretrain.yaml": ("seed", "trainer", "tracking", "pretrain")}  # None: every key


def _schema_name(yaml_cfg: DictConfig) -> str:
    """The <name>_schema the YAML's defaults list starts from (`/sequential_schema@_here_`, `ingest_schema`)."""
    (name,) = [d.lstrip("/").split("@")[0] for d in yaml_cfg.defaults if str(d).split("@")[0].endswith("_schema")]
    return name


def _schema_defaults(name: str) -> dict[str, Any]:
    node = ConfigStore.instance().load(f"{name}.yaml").node
    return OmegaConf.to_container(node, enum_to_str=True)  # MISSING stays "???", as a YAML writes it


def _yaml_values(yaml_cfg: DictConfig) -> dict[str, Any]:
    return {k: v for k, v in OmegaConf.to_container(yaml_cfg).items() if k != "defaults"}


MODEL_IMPLIED = ("name",)  # set by a model schema, never written in its YAML (see the docstring)


def _assert_same(where: str, schema: dict[str, Any], written: dict[str, Any], implied: tuple[str, ...] = ()) -> None:
    missing = [k for k in schema if k not in written and k not in implied]
    assert not missing, f"{where} does not list {missing} of its schema"
    assert not [k for k in implied if k in written], f"{where} writes {implied}, which its schema sets"
    for key, default in schema.items():
        if key not in implied:
            assert written[key] == default, f"{where}: {key} is {written[key]!r}, its schema's default {default!r}"


@pytest.mark.parametrize("path", GROUP_YAMLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_group_yaml_lists_its_schema_with_the_schema_defaults(path) -> None:
    yaml_cfg = OmegaConf.load(path)
    implied = MODEL_IMPLIED if path.parent.name == "model" else ()
    _assert_same(f"conf/{path.parent.name}/{path.name}", _schema_defaults(_schema_name(yaml_cfg)), _yaml_values(yaml_cfg), implied)


@pytest.mark.parametrize("path", sorted((CONF_DIR / "model").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_model_option_is_its_registered_schema(path) -> None:
    """conf/model/<option>.yaml starts from <option>_schema, the schema the registry names for it
    (or for the variant of an estimator), and model.name is the registered estimator."""
    option = path.stem
    schema = VARIANTS.get(option) or REGISTRY[option].schema
    assert _schema_name(OmegaConf.load(path)) == f"{option}_schema"
    model = compose(f"model={option}").model
    assert OmegaConf.get_type(model) is schema
    assert model.name in REGISTRY and (model.name == option or option in VARIANTS)


def test_every_registered_estimator_has_its_yaml() -> None:
    assert set(REGISTRY) | set(VARIANTS) == {p.stem for p in (CONF_DIR / "model").glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_top_level_yaml_blocks_match_their_schema(name: str) -> None:
    yaml_cfg = OmegaConf.load(CONF_DIR / name)
    schema = _schema_defaults(_schema_name(yaml_cfg))
    keys = TOP_LEVEL[name] or tuple(schema)
    _assert_same(f"conf/{name}", {k: schema[k] for k in keys}, _yaml_values(yaml_cfg))


def test_a_wrong_default_is_caught() -> None:
    """The comparison itself can fail: a YAML value off by a little, or a key left out."""
    schema = {"lr": 2e-3, "betas": [0.9, 0.999]}
    with pytest.raises(AssertionError, match="lr is 0.001"):
        _assert_same("x.yaml", schema, {"lr": 1e-3, "betas": [0.9, 0.999]})
    with pytest.raises(AssertionError, match=r"does not list \['betas'\]"):
        _assert_same("x.yaml", schema, {"lr": 2e-3})
    with pytest.raises(AssertionError, match="writes"):  # an implied key written anyway
        _assert_same("x.yaml", {"name": "a", "lr": 2e-3}, {"name": "a", "lr": 2e-3}, ("name",))
    _assert_same("x.yaml", {"name": "a", "lr": 2e-3}, {"lr": 2e-3}, ("name",))
