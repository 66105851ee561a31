"""open_dataset: data=directory opens a set, simulated names build one, mistakes are ConfigErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoz.data import Dataset
from photoz.data.source import open_dataset
from photoz.errors import ConfigError, DataError


def test_directory_opens_an_existing_set(tiny_dataset: Dataset) -> None:
    ds = open_dataset({"name": "directory", "path": str(tiny_dataset.path)})
    assert ds.path == tiny_dataset.path and len(ds) == 48 and ds.images.shape == tiny_dataset.images.shape


def test_directory_relative_path_is_taken_from_the_working_directory(tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tiny_dataset.path.parent)
    assert len(open_dataset({"name": "directory", "path": tiny_dataset.path.name})) == 48


def test_directory_without_path_or_with_a_missing_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.path is not set"):
        open_dataset({"name": "directory", "path": "???"})
    with pytest.raises(DataError, match="no such data set directory"):
        open_dataset({"name": "directory", "path": str(tmp_path / "nope")})


def test_unknown_data_name() -> None:
    with pytest.raises(ConfigError, match="unknown data.name 'sdss'"):
        open_dataset({"name": "sdss"})
