"""The sweeper's config schema, stored in Hydra's ConfigStore as `hydra/sweeper: photoz`."""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore

from photoz.choices import Direction, Pruner, Sampler


@dataclass
class PhotozSweeperConf:
    """hydra.sweeper.* keys; the defaults give a seeded TPE study with median pruning."""

    _target_: str = "hydra_plugins.photoz_sweeper.photoz_sweeper.PhotozSweeper"
    # key -> search space, in Hydra's override grammar: choice(...), range(...), interval(...),
    # tag(log, interval(...)), int(interval(...)); a plain value is passed to every trial
    params: Dict[str, Any] = field(default_factory=dict)
    direction: Direction = Direction.minimize  # minimize | maximize the value the task function returns
    metric: str = "val_sigma_mad"  # what that value is: names the objective in Optuna's plots, optuna-dashboard, MLflow
    n_trials: int = 20  # total COMPLETE + PRUNED trials of the study, over all runs and workers
    sampler: Sampler = Sampler.tpe  # tpe | random | gp | grid
    seed: Optional[int] = 0  # seeds each sweep process's sampler once (hydra.sweeper.seed=1); null = random
    sampler_options: Dict[str, Any] = field(default_factory=dict)  # by sampler: {tpe: {n_startup_trials: 5}}
    pruner: Pruner = Pruner.median  # median | hyperband | successive_halving | none
    pruner_options: Dict[str, Any] = field(default_factory=dict)  # by pruner: {median: {n_warmup_steps: 2}}
    study_name: Optional[str] = None  # null = <sweep>-<model>-<data> from the chosen config groups
    storage: Optional[str] = None  # null = journal file sweeps/<study_name>/journal.log; or an RDB URL
    n_jobs: Optional[int] = None  # trials per batch; null = the launcher's parallelism (1 for basic)
    max_failures: int = 3  # stop after this many failed trials in a row
    heartbeat_interval: int = 60  # s; a RUNNING trial silent for 3 intervals counts as dead
    plots: bool = True  # write optimization history, importances and intermediate values as PNG


ConfigStore.instance().store(group="hydra/sweeper", name="photoz", node=PhotozSweeperConf, provider="photoz")
