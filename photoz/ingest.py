"""`python -m photoz.ingest`: import real cutouts (FITS cube, per-galaxy FITS, numpy arrays) into a
photoz data set directory. Keys: conf/ingest.yaml; guide: docs/import.md."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from photoz.config import check_known_keys
from photoz.data.ingest import ingest, register_schemas
from photoz.errors import exit_on_user_error

register_schemas()


@hydra.main(config_path="../conf", config_name="ingest", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    """Write the data set and print where it is and how many galaxies per split it holds."""
    check_known_keys(cfg)  # +key=... forced past the schema
    ds = ingest(cfg)
    counts = ", ".join(f"{s} {len(ds.split_index(s))}" for s in ("train", "val", "test"))
    print(f"wrote {ds.path}: {len(ds)} galaxies, bands {''.join(ds.bands)}, stamps {ds.images.shape[2:]} ({counts})")


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main)
