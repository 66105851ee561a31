"""data.labels: which train galaxies keep their redshift (photoz.data.labels). The selection is
reproducible and recorded in the view's identity, the view holds no redshift (or simulation
truth) of an unlabelled galaxy, val is selected like train, test is untouched, and every budget
or selection that cannot be met is one ConfigError line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from tinydata import make_tiny_dataset

from photoz.config import compose, to_typed
from photoz.data import Dataset
from photoz.data.labels import apply_labels
from photoz.data.schema import LabelsConfig
from photoz.data.source import open_dataset
from photoz.errors import ConfigError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    data = make_tiny_dataset(tmp_path_factory.mktemp("labels") / "tiny", n=64)  # 38 train, 13 val, 13 test
    data.catalog["true_z"] = data.catalog["redshift"]  # simulation truth that carries the redshift too
    return data


def test_the_default_is_the_data_set_as_it_is(tiny: Dataset) -> None:
    assert apply_labels(tiny, LabelsConfig()) is tiny and apply_labels(tiny, None) is tiny


def test_random_budget_hides_every_unlabelled_redshift_and_keeps_the_rest(tiny: Dataset) -> None:
    view = apply_labels(tiny, LabelsConfig(n=16))
    train, val, test, unl = (view.split_index(s) for s in ("train", "val", "test", "unlabelled"))
    assert (len(train), len(val), len(unl)) == (16, round(16 * 13 / 38), 38 - 16 + 13 - 5)
    assert np.array_equal(test, tiny.split_index("test"))  # test: the whole population
    assert set(train) <= set(tiny.split_index("train")) and set(val) <= set(tiny.split_index("val"))
    z, truth = np.asarray(view.catalog["redshift"]), np.asarray(view.catalog["true_z"])
    assert np.isnan(z[unl]).all() and np.isnan(truth[unl]).all()
    for rows in (train, val, test):
        assert np.array_equal(z[rows], np.asarray(tiny.catalog["redshift"])[rows])
    assert np.isfinite(np.asarray(tiny.catalog["redshift"])).all()  # the data set itself is untouched
    assert view.images is tiny.images and np.array_equal(view.fluxes(unl)[0], tiny.fluxes(unl)[0])  # pixels and photometry stay


def test_the_selection_is_reproducible_and_part_of_the_identity(tiny: Dataset) -> None:
    a, b = apply_labels(tiny, LabelsConfig(n=16)), apply_labels(tiny, LabelsConfig(n=16))
    other = apply_labels(tiny, LabelsConfig(n=16, seed=1))
    assert np.array_equal(a.split_index("train"), b.split_index("train")) and a.meta["labels"] == b.meta["labels"]
    assert not np.array_equal(a.split_index("train"), other.split_index("train"))
    assert a.meta["labels"]["sha256"] != other.meta["labels"]["sha256"]
    assert {k: a.meta["labels"][k] for k in ("selection", "n", "seed", "n_train", "n_val")} == {
        "selection": "random", "n": 16, "seed": 0, "n_train": 16, "n_val": 5}  # fmt: skip
    assert a.meta["checksum"] == tiny.meta["checksum"]  # the same images and catalogue underneath


def test_labels_are_in_the_run_config_and_its_hash(tiny: Dataset) -> None:
    from photoz.job.run import config_hash
    from photoz.tracking.record import flat_params

    base = ["data=directory", f"data.path={tiny.path}"]
    one, two = (to_typed(compose(*base, f"data.labels.n={n}")) for n in (16, 20))
    assert config_hash(one) != config_hash(two)  # resume never mixes two budgets
    params = flat_params(one)
    assert params["data.labels.n"] == "16" and params["data.labels.selection"] == "random"
    assert open_dataset(one.data).meta["labels"]["n_train"] == 16  # the config reaches the data layer


def _mags(data: Dataset, rows: np.ndarray, band: str) -> np.ndarray:
    from photoz.data.features import asinh_magnitudes, softening

    soft = softening(data.fluxes(data.split_index("train"))[1])
    return asinh_magnitudes(data.fluxes(rows)[0], soft)[:, data.bands.index(band)]


def test_magnitude_selection_keeps_bright_galaxies(tiny: Dataset) -> None:
    limit = float(np.median(_mags(tiny, tiny.split_index("train"), "i")))
    view = apply_labels(tiny, LabelsConfig(selection="magnitude", mag_limit=limit))
    train = view.split_index("train")
    assert len(train) == (_mags(tiny, tiny.split_index("train"), "i") < limit).sum() > 0
    assert (_mags(tiny, train, "i") < limit).all() and (_mags(tiny, view.split_index("val"), "i") < limit).all()
    assert view.meta["labels"]["mag_limit"] == limit


def test_a_survey_selection_runs_through_rail(tiny: Dataset, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("rail.creation.degraders.spectroscopic_selections")
    monkeypatch.chdir(tmp_path)
    a, b = apply_labels(tiny, LabelsConfig(selection="vvds")), apply_labels(tiny, LabelsConfig(selection="vvds"))
    assert list(tmp_path.iterdir()) == []  # RAIL writes no output file where it runs
    train = a.split_index("train")
    assert 0 < len(train) < len(tiny.split_index("train")) and np.array_equal(train, b.split_index("train"))
    assert (_mags(tiny, train, "i") < 24.0).all()  # VVDS: 17.5 < i < 24 (Le Fèvre et al. 2005)


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        (LabelsConfig(n=0), "data.labels.n=0: give a positive number"),
        (LabelsConfig(n=39), "data.labels.n=39 is more than the 38 train galaxies"),
        (LabelsConfig(n=1), "leaves no val galaxy"),
        (LabelsConfig(n=30, selection="magnitude", mag_limit=0.0), "accepts 0 of the 38 train galaxies"),
        (LabelsConfig(selection="magnitude", band="w"), "data.labels.band=w is not a band"),
    ],
)
def test_an_impossible_budget_is_one_line(tiny: Dataset, labels: LabelsConfig, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as err:
        apply_labels(tiny, labels)
    assert "\n" not in str(err.value)


def test_a_survey_selection_without_rail_is_one_line(tiny: Dataset, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rail.creation.degraders.spectroscopic_selections", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"needs LSST DESC RAIL's SpecSelection degraders .*pip install"):
        apply_labels(tiny, LabelsConfig(n=5, selection="zcosmos"))


def test_a_simulated_set_keeps_its_cache_key_whatever_the_labels() -> None:
    from omegaconf import OmegaConf

    from photoz.data.simulate.build import output_path

    paths = {output_path(OmegaConf.structured(to_typed(compose(*o)).data)) for o in ([], ["data.labels.n=100"])}
    assert len(paths) == 1 and Path(paths.pop()).name.startswith("lsst_sim-")
