"""Every estimator `model=<name>` can choose, registered once.

A line of REGISTRY names, for `model.name`, the dataclass its `model.*` keys follow (its schema,
photoz/models/schema.py for a CNN, photoz/estimators/schema.py for the others), the Estimator
class that builds, trains and loads it, and for a CNN the network photoz.models.build builds.
That one line feeds Hydra's ConfigStore (`<name>_schema`, which conf/model/<name>.yaml starts
from), photoz.config's validation of `model.name`, photoz.estimators.build (the class) and the
rebuilding of a logged model's saved config (the schema).

Classes are named as "module:Class" strings, imported only when an estimator is built or loaded:
this module imports nothing but the schemas, so every entry point can compose and validate a
config before torch, scikit-learn or RAIL are imported, and every layer may read it (config,
models, training, estimators): it sits at the bottom of the package, beside photoz.choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore

from photoz.estimators.schema import (
    EnsembleSchema,
    KNNSchema,
    RailBPZSchema,
    RailCMNNSchema,
    RailFlexZBoostSchema,
    RailKNNSchema,
    RandomForestSchema,
    TemplateFitSchema,
)
from photoz.models.schema import (
    CNNConfig,
    EfficientNetConfig,
    GoogLeNetConfig,
    GoogLeNetPasquetConfig,
    ResNetConfig,
    TimmConfig,
)


@dataclass(frozen=True)
class Registered:
    """One estimator: its model schema, its class, and (CNNs only) the network it trains."""

    schema: type  # the dataclass of model.* (HeadConfig or GridSchema and their subclasses)
    estimator: str  # "module:Class" of its photoz.estimators.base.Estimator
    network: str | None = None  # "module:Class" of its nn.Module (photoz.models), for a CNN


CNN = "photoz.estimators.cnn:CNNEstimator"

REGISTRY: dict[str, Registered] = {
    "sequential": Registered(CNNConfig, CNN, "photoz.models.sequential:SequentialCNN"),
    "googlenet": Registered(GoogLeNetConfig, CNN, "photoz.models.googlenet:GoogLeNet"),
    "resnet": Registered(ResNetConfig, CNN, "photoz.models.resnet:ResNet"),
    "efficientnet": Registered(EfficientNetConfig, CNN, "photoz.models.efficientnet:EfficientNet"),
    "timm": Registered(TimmConfig, CNN, "photoz.models.timm_backbone:TimmBackbone"),  # the [timm] extra
    "template_fit": Registered(TemplateFitSchema, "photoz.estimators.template_fit:TemplateFitEstimator"),
    "random_forest": Registered(RandomForestSchema, "photoz.estimators.catalog_ml:RandomForestEstimator"),
    "knn": Registered(KNNSchema, "photoz.estimators.catalog_ml:KNNEstimator"),
    "rail_flexzboost": Registered(RailFlexZBoostSchema, "photoz.estimators.rail_algos:FlexZBoostEstimator"),  # [rail]
    "rail_bpz": Registered(RailBPZSchema, "photoz.estimators.rail_algos:BPZEstimator"),
    "rail_knn": Registered(RailKNNSchema, "photoz.estimators.rail_algos:KNNEstimator"),
    "rail_cmnn": Registered(RailCMNNSchema, "photoz.estimators.rail_algos:CMNNEstimator"),
    "ensemble": Registered(EnsembleSchema, "photoz.estimators.ensemble:EnsembleEstimator"),  # python -m photoz.ensemble
}

# conf/model options that are a registered estimator with other defaults (their own schema, so that
# each YAML lists exactly its schema's defaults): option -> schema. model.name stays the estimator's.
VARIANTS: dict[str, type] = {"googlenet_pasquet": GoogLeNetPasquetConfig}


def register_schemas() -> None:
    """Store `<option>_schema` for every estimator and variant as top-level configs, so that no
    `model=` option list shows them (photoz.config.register_schemas calls this)."""
    cs = ConfigStore.instance()
    for option, schema in {**{name: r.schema for name, r in REGISTRY.items()}, **VARIANTS}.items():
        cs.store(name=f"{option}_schema", node=schema)


def cnn_names() -> list[str]:
    """The registered estimators that are CNNs (they name a network)."""
    return [name for name, r in REGISTRY.items() if r.network]
