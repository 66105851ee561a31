"""Structured-config schemas for the top level, trainer, tracking, optimizer and trial blocks.

Hydra checks every composed config against these dataclasses, so a misspelt key
(`trainer.max_epoch=3`), a wrong type (`trainer.batch_size=big`) or a value outside a closed
choice (`trainer.precision=fp8`; the Enums of photoz.choices) fails at composition with Hydra's
own message; a key forced in with `+` (`+trainer.max_epoch=3`), which Hydra lets past the schema,
is refused by `check_known_keys` (called by `validate`). Ranges Hydra cannot express (lr > 0,
max_epochs >= 1, ...) are checked by `validate`, which raises a one-line ConfigError. Every
default here is also written in conf/config.yaml and conf/optimizer/ (tests/test_schema_defaults.py).
`register_schemas` also registers the data schemas and every estimator's model schema (one
registry: photoz.registry) so that every entry point composes against all of them.
This module imports only schemas (photoz.data.schema and the estimator registry, which import
nothing heavier than photoz.choices): nothing here imports an estimator, the data code or torch.

`to_typed` turns the composed config into these dataclasses once, at the entry point; each
component then gets only its slice (a network its model config, the training loop the trainer
and optimizer configs, the Tracker the tracking config). `plain` and `as_schema` convert a
slice to a plain dict and back (what is saved beside a model's weights and rebuilt on load).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from photoz.choices import Keep, OptimizerName, Precision, Schedule
from photoz.data.schema import register_schemas as register_data
from photoz.errors import ConfigError
from photoz.registry import REGISTRY
from photoz.registry import register_schemas as register_models
from photoz.training.schema import PretrainSchema

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


@dataclass
class TrainerConfig:
    max_epochs: int = 24
    batch_size: int = 128
    patience: int = 0  # epochs without a better val σ_MAD before stopping; 0 = never (the cosine schedule runs to its end)
    keep: Keep = Keep.best  # best: the best val σ_MAD epoch's weights | last: the final epoch's (a val split too small to choose on)
    precision: Precision = Precision.auto  # auto (bf16 where the hardware has it, else fp32) | bf16 | fp32
    device: str = "auto"  # auto (cuda if available, else cpu) | cpu | cuda | cuda:1 | mps
    resume: bool = False
    num_threads: int = 0  # torch CPU threads; 0 = every core this process may use
    checkpoint_dir: Optional[str] = None  # null = <hydra run dir>/checkpoints
    preload_max_gb: float = 4.0  # load a split into RAM up to this size, else read it memmapped
    progress: bool = True  # a tqdm bar per epoch
    compile: bool = False  # torch.compile the training step's network (docs/performance.md: measured)
    log_int8: bool = False  # also log the model quantised to int8, for its pyfunc's params={"precision": "int8"}


@dataclass
class TrackingConfig:
    uri: str = "sqlite:///mlruns/mlflow.db"  # relative paths are taken from where you run
    artifact_root: str = "mlruns/artifacts"
    experiment: Optional[str] = None  # null = named after the data set


@dataclass
class TrialConfig:
    """Filled per job by the Optuna sweeper (hydra/sweeper=photoz); all null in a plain run."""

    study_name: Optional[str] = None
    storage: Optional[str] = None
    trial_id: Optional[int] = None
    parent_run_id: Optional[str] = None


@dataclass
class OptimizerConfig:
    name: OptimizerName = MISSING
    lr: float = 2e-3
    weight_decay: float = 0.0
    schedule: Schedule = Schedule.cosine  # cosine (linear warm-up then cosine decay) | onecycle | constant
    warmup_epochs: float = 1.0  # cosine only
    min_lr_ratio: float = 0.01  # cosine: final lr = lr * min_lr_ratio


@dataclass
class AdamWConfig(OptimizerConfig):
    name: OptimizerName = OptimizerName.adamw
    weight_decay: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class SGDConfig(OptimizerConfig):
    name: OptimizerName = OptimizerName.sgd
    lr: float = 0.05
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True


@dataclass
class PhotozConfig:
    data: Any = MISSING  # typed: a photoz.data.schema dataclass (LsstSimData, CatalogData, DirectoryData)
    model: Any = MISSING  # typed: the schema photoz.registry names for model.name (or a variant's)
    optimizer: Any = MISSING  # typed: AdamWConfig or SGDConfig
    seed: int = 0
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    trial: TrialConfig = field(default_factory=TrialConfig)


@dataclass
class PretrainTrainerConfig(TrainerConfig):
    """trainer.* of python -m photoz.pretrain (conf/pretrain.yaml): its own epochs and batches."""

    max_epochs: int = 100  # about an hour for the default set on 2 CPU cores (docs/labels.md: measured)
    batch_size: int = 256


@dataclass
class PretrainConfig:
    """The config python -m photoz.pretrain composes (conf/pretrain.yaml)."""

    data: Any = MISSING
    model: Any = MISSING  # a CNN's schema: its network (less the head) is what pretraining trains
    optimizer: Any = MISSING
    seed: int = 0
    trainer: PretrainTrainerConfig = field(default_factory=PretrainTrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    pretrain: PretrainSchema = field(default_factory=PretrainSchema)


def register_schemas() -> None:
    """Store every schema in Hydra's ConfigStore; call before Hydra composes (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="photoz_schema", node=PhotozConfig)
    cs.store(name="pretrain_schema", node=PretrainConfig)
    cs.store(name="adamw_schema", node=AdamWConfig)
    cs.store(name="sgd_schema", node=SGDConfig)
    register_data()
    register_models()


def compose(*overrides: str, config_name: str = "config") -> DictConfig:
    """The config `python -m photoz.train <overrides>` would run with (config_name="pretrain":
    python -m photoz.pretrain's), for notebooks and tests."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_schemas()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def _check(ok: bool, key: str, value: Any, need: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value} is invalid: {need}; fix it on the command line, e.g. {key}=...")


def check_known_keys(cfg: DictConfig, prefix: str = "") -> None:
    """ConfigError for the first key that its node's schema (a dataclass) does not declare."""
    schema = OmegaConf.get_type(cfg)
    known = {f.name for f in dataclasses.fields(schema)} if dataclasses.is_dataclass(schema) else None
    for key in cfg.keys():
        if known is not None and key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {prefix}{close[0]}? " if close else ""
            where = prefix.rstrip(".") or "the config"
            raise ConfigError(f"unknown config key {prefix}{key}: {where} has no {str(key)!r}; {hint}remove it or fix the spelling")
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():
            check_known_keys(node, f"{prefix}{key}.")


def validate(cfg: DictConfig) -> None:
    """Unknown keys and range checks that the schemas cannot express; raise ConfigError naming the key."""
    check_known_keys(cfg)
    t, o = cfg.trainer, cfg.optimizer
    if cfg.model.name not in REGISTRY:
        raise ConfigError(f"unknown model.name={cfg.model.name}; choose model=<one of {', '.join(REGISTRY)}>")
    _check(t.max_epochs >= 1, "trainer.max_epochs", t.max_epochs, "need at least 1 epoch")
    _check(t.batch_size >= 1, "trainer.batch_size", t.batch_size, "need a positive batch size")
    _check(t.patience >= 0, "trainer.patience", t.patience, "need >= 0 (0 disables early stopping)")
    _check(t.patience == 0 or t.keep == "best", "trainer.patience", t.patience, "it stops worse than the best; with keep=last use 0")
    _check(t.num_threads >= 0, "trainer.num_threads", t.num_threads, "need >= 0 (0 = all cores)")
    _check(o.lr > 0, "optimizer.lr", o.lr, "the learning rate must be positive")
    _check(o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay, "need >= 0")
    _check(o.warmup_epochs >= 0, "optimizer.warmup_epochs", o.warmup_epochs, "need >= 0")
    _check(0 <= o.min_lr_ratio <= 1, "optimizer.min_lr_ratio", o.min_lr_ratio, "need a value in [0, 1]")


def _common(cfg: DictConfig) -> dict[str, Any]:
    """The slices a training and a pretraining config share, validated, as schema dataclasses."""
    validate(cfg)
    return dict(data=typed_data(cfg.data), model=OmegaConf.to_object(cfg.model), optimizer=OmegaConf.to_object(cfg.optimizer),
                seed=cfg.seed, trainer=OmegaConf.to_object(cfg.trainer), tracking=OmegaConf.to_object(cfg.tracking))  # fmt: skip


def to_typed(cfg: DictConfig) -> PhotozConfig:
    """The composed config, validated (the one call of `validate`), as schema dataclasses: data,
    model, optimizer, trainer, tracking and trial become instances of their schemas."""
    return PhotozConfig(**_common(cfg), trial=OmegaConf.to_object(cfg.trial))


def to_typed_pretrain(cfg: DictConfig) -> PretrainConfig:
    """conf/pretrain.yaml's composed config, validated like a training config, as dataclasses."""
    return PretrainConfig(**_common(cfg), pretrain=OmegaConf.to_object(cfg.pretrain))


def typed_data(node: DictConfig) -> Any:
    """The data group as its schema's dataclass (photoz.data.schema). A mandatory key left unset
    (data.path, data.catalog_path) keeps OmegaConf's "???", so that photoz.data, which opens the set
    after the store is checked, names it in its own words."""
    schema = OmegaConf.get_type(node)
    if not dataclasses.is_dataclass(schema):
        return node
    values = OmegaConf.to_container(node, resolve=True)
    for key, value in values.items():  # a block of its own (data.labels): its dataclass too
        if isinstance(value, dict) and dataclasses.is_dataclass(OmegaConf.get_type(node, key)):
            values[key] = OmegaConf.to_object(node[key])
    return schema(**values)


def plain(node: Any) -> dict[str, Any]:
    """A schema dataclass instance (or a config node) as a plain dict of JSON-able values."""
    node = node if isinstance(node, DictConfig) else OmegaConf.structured(node)
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)


def changed_keys(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """The dotted keys whose values differ between two nested plain configs: {key: (a's, b's)},
    sorted, "(unset)" where one lacks the key."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key, "(unset)"), b.get(key, "(unset)")
        if isinstance(x, dict) and isinstance(y, dict):
            out.update(changed_keys(x, y, f"{prefix}{key}."))
        elif x != y:
            out[f"{prefix}{key}"] = (x, y)
    return out


T = TypeVar("T")


def as_schema(schema: type[T], values: dict[str, Any] | DictConfig) -> T:
    """`values` (a plain dict, e.g. a saved model config, or a config node) as an instance of the
    dataclass `schema`, type-checked by OmegaConf; keys it lacks take the schema's defaults."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))
