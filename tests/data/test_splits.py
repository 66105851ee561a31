"""One split rule for simulator and importers; a catalogue's own split column kept by data=catalog."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from test_simulate_catalog import mock, render

from photoz.data.ingest.catalog import random_split
from photoz.data.ingest.schema import SplitConfig
from photoz.data.schema import LsstSimData
from photoz.data.simulate.build import assign_split
from photoz.data.splits import split_counts, valid_fractions
from photoz.errors import DataError

CASES = [(5, (0.5, 0.5, 0.0)), (7, (0.8, 0.1, 0.1)), (3, (0.0, 1.0, 0.0)), (101, (0.7, 0.15, 0.15)), (20000, (0.8, 0.1, 0.1))]


def counts(labels: np.ndarray) -> list[int]:
    return [int((labels == s).sum()) for s in ("train", "val", "test")]


@pytest.mark.parametrize("n,fractions", CASES)
def test_simulator_and_importer_split_alike(n: int, fractions: tuple[float, float, float]) -> None:
    expected = split_counts(n, fractions)
    assert expected.sum() == n and np.all(np.abs(expected - np.array(fractions) * n) < 1)
    assert all(c == 0 for c, f in zip(expected, fractions) if f == 0)  # a zero fraction gives zero rows
    sim = assign_split(OmegaConf.create({"seed": 3, "split": dict(zip(("train", "val", "test"), fractions))}), n)
    imp = random_split(n, SplitConfig(*fractions), seed=3)
    assert counts(sim) == counts(imp) == expected.tolist()


def test_default_set_split_counts() -> None:
    """The default set's 32,000 galaxies split 16,000 / 2,000 / 14,000 under the shared rule."""
    default = LsstSimData()
    assert split_counts(default.n_galaxies, tuple(default.split.values())).tolist() == [16000, 2000, 14000]


def test_default_set_split_labels_are_frozen() -> None:
    """The default simulated set's labels (seed 0, 32,000 galaxies), frozen: a change of the split
    rule or its seeding would silently move galaxies between train, val and test."""
    default = OmegaConf.structured(LsstSimData())
    labels = assign_split(default, default.n_galaxies)
    assert list(labels[:8]) == ["train", "test", "test", "train", "train", "train", "train", "test"]
    assert hashlib.sha256(labels.astype("U5").tobytes()).hexdigest() == "fdbf2eb9b7ffac8a855471035898751b6d3f116d04ce16b432a1884845aa85b0"


@pytest.mark.parametrize("fractions,valid", [
    ((0.8, 0.1, 0.1), True), ((0.0, 1.0, 0.0), True), ((0.5, 0.5, 1e-7), True),
    ((1.2, -0.1, -0.1), False), ((0.5, 0.4, 0.0), False), ((float("nan"), 0.5, 0.5), False),
])  # fmt: skip
def test_valid_fractions(fractions: tuple[float, float, float], valid: bool) -> None:
    assert valid_fractions(fractions) is valid


def test_catalogue_split_column_is_kept(tmp_path: Path) -> None:
    labels = np.array(["train"] * 6 + ["val"] * 3 + ["TEST "] * 3)
    ds = render(tmp_path, mock(split=labels))
    assert list(np.asarray(ds.catalog["split"]).astype(str)) == ["train"] * 6 + ["val"] * 3 + ["test"] * 3


def test_split_column_name_is_configurable_and_absent_means_random(tmp_path: Path) -> None:
    labels = np.array(["test"] * 4 + ["val"] * 4 + ["train"] * 4)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    ds = render(tmp_path / "a", mock(sample=labels), split_column="sample")
    assert list(np.asarray(ds.catalog["split"]).astype(str)) == list(labels)
    ds = render(tmp_path / "b", mock(sample=labels))  # no column named split: the seeded random split
    default = tuple(LsstSimData().split.values())  # data=catalog's default fractions
    assert counts(np.asarray(ds.catalog["split"]).astype(str)) == split_counts(12, default).tolist()


@pytest.mark.parametrize("labels,fragment", [
    (["train"] * 6 + ["val"] * 3 + ["spec"] * 3, "split column 'split' at row 9 is 'spec'"),
    (["train"] * 9 + ["test"] * 3, "split column 'split' has no val rows"),
])
def test_bad_split_column_is_one_clear_error(tmp_path: Path, labels: list[str], fragment: str) -> None:
    with pytest.raises(DataError, match=fragment.replace("(", r"\(")) as err:
        render(tmp_path, mock(split=np.array(labels)))
    assert "\n" not in str(err.value)
    assert not list((tmp_path / "out").glob("*/catalog.fits"))  # nothing half-written
