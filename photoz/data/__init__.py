"""Data sets: the on-disk format, the GalSim simulator and importers of real cutouts."""

from photoz.data.format import (
    SPLITS,
    Dataset,
    DatasetWriter,
    read_dataset,
    validate_dataset,
    write_dataset,
)

__all__ = ["SPLITS", "Dataset", "DatasetWriter", "read_dataset", "validate_dataset", "write_dataset"]
