"""`python -m photoz.simulate`: build (or find in the cache) the simulated data set of `cfg.data`.

Uses only the `data` group of conf/config.yaml (keys: conf/data/lsst_sim.yaml, catalog.yaml;
guide: docs/data.md). Prints the data set directory.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from photoz.config import check_known_keys, register_schemas
from photoz.data.source import SIMULATED, open_dataset
from photoz.errors import ConfigError, exit_on_user_error

register_schemas()


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    """Simulate or reuse the set and print its path and split sizes."""
    check_known_keys(cfg)  # +key=... forced past the schema
    if cfg.data.name not in SIMULATED:
        raise ConfigError(f"data={cfg.data.name} is not simulated; use data=lsst_sim or data=catalog")
    ds = open_dataset(cfg.data)
    counts = ", ".join(f"{s} {len(ds.split_index(s))}" for s in ("train", "val", "test"))
    print(f"{ds.path}: {len(ds)} galaxies, bands {''.join(ds.bands)}, stamps {ds.images.shape[2:]} ({counts})")


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main, signals=True)  # Ctrl-C / SIGTERM land between chunks: temp folder removed, one line
