"""Shared fixtures: tiny seeded data sets written in the real format, and an empty MLflow store
folder; `tiny` and `store` are one per module (a module may define its own instead)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinydata import make_tiny_dataset

from photoz.data import Dataset


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Dataset:
    return make_tiny_dataset(tmp_path / "tiny")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    """64 galaxies, made once per test module."""
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=64)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """An empty folder for a module's MLflow store (tracking.uri=sqlite:///<store>/mlflow.db)."""
    return tmp_path_factory.mktemp("mlflow")
