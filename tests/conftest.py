"""Shared fixtures: tiny seeded data sets written in the real format."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinydata import make_tiny_dataset

from photoz.data import Dataset


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Dataset:
    return make_tiny_dataset(tmp_path / "tiny")
