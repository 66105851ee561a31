"""model.catalog_features in-process: the features equal the baselines' asinh magnitudes and
colours, are normalised on the train split, feed the dense head of every CNN family, and a
column the data set lacks is one DataError line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tinydata import make_tiny_dataset
from photoz.config import PhotozConfig, compose, to_typed
from photoz.data import Dataset
from photoz.errors import DataError
from photoz.estimators.build import build_estimator
from photoz.data.features import magnitude_colour_features, softening
from photoz.training.catalog_inputs import catalog_array
from photoz.estimators.cnn import CNNEstimator
from photoz.training.inputs import check_inputs
from photoz.training.net import PhotozNet


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    data = make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=40)
    data.catalog["ebv"] = np.linspace(0.0, 0.1, len(data))  # in memory: an extra column to list
    return data


def cfg_for(data: Dataset, model: str, *overrides: str) -> PhotozConfig:
    return to_typed(compose(
        "data=directory", f"data.path={data.path}", f"model={model}", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.max_epochs=1", "trainer.progress=false", "trainer.precision=fp32",
        "trainer.num_threads=1", *overrides,
    ))  # fmt: skip


def test_features_are_the_baselines_photometry_normalised_on_train(tiny: Dataset) -> None:
    cfg = cfg_for(tiny, "sequential", "model.catalog_features=[photometry,ebv]")
    model, train = cfg.model, tiny.split_index("train")
    module = CNNEstimator(cfg.model).build_net(tiny, train).catalog
    raw = catalog_array(model, tiny, np.arange(len(tiny)))
    assert raw.shape == (len(tiny), 6 + 1)
    flux, err = tiny.fluxes()
    expected = np.hstack([magnitude_colour_features(flux, softening(err[train])), np.asarray(tiny.catalog["ebv"])[:, None]])
    feats = module.features(torch.from_numpy(raw)).double().numpy()
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(module.centre.numpy(), np.median(expected[train], axis=0), rtol=1e-4, atol=1e-5)  # train only
    normalised = module(torch.from_numpy(raw[train])).numpy()
    np.testing.assert_allclose(np.median(normalised, axis=0), 0, atol=1e-5)  # train median at 0
    spread = 1.4826 * np.median(np.abs(expected[train] - np.median(expected[train], axis=0)), axis=0)
    np.testing.assert_allclose(module.spread.numpy(), spread, rtol=1e-4)


@pytest.mark.parametrize("model", ["sequential", "googlenet", "resnet", "efficientnet"])
def test_every_cnn_trains_with_catalog_features_and_uses_them(tiny: Dataset, tmp_path: Path, model: str) -> None:
    depth = ["model.depth=3"] if model == "efficientnet" else []
    est = build_estimator(cfg_for(tiny, model, "model.catalog_features=[photometry]", *depth), str(tmp_path))
    est.fit(tiny, lambda epoch, metrics: None)
    test = tiny.split_index("test")
    pred = est.predict(tiny, test)
    assert np.isfinite(pred.z_phot).all()
    inputs = {k: torch.from_numpy(v) for k, v in est.net.example_inputs(3).items()}
    assert inputs["catalog"].shape == (3, 6)
    est.net.eval()
    with torch.no_grad():
        a = est.net(inputs["images"], inputs["catalog"])
        b = est.net(inputs["images"], inputs["catalog"] + 100.0)
    assert not torch.allclose(a, b)  # the head reads the catalogue
    assert est.flops_per_galaxy() > 0


def test_a_missing_column_is_one_data_error_line(tiny: Dataset) -> None:
    model = cfg_for(tiny, "sequential", "model.catalog_features=[photometry,e_bv]").model
    with pytest.raises(DataError, match=r"has no column e_bv that model.catalog_features=\['photometry', 'e_bv'\] needs") as err:
        check_inputs(model, tiny)
    assert "\n" not in str(err.value)


def test_a_net_with_catalog_features_refuses_images_alone(tiny: Dataset) -> None:
    est = CNNEstimator(cfg_for(tiny, "sequential", "model.catalog_features=[ebv]").model)
    net: PhotozNet = est.build_net(tiny, tiny.split_index("train"))
    with pytest.raises(ValueError, match=r"also takes the catalogue columns \['ebv'\]"):
        net(torch.zeros(1, 6, 16, 16))


def test_a_text_column_is_one_data_error_line(tiny: Dataset) -> None:
    """model.catalog_features=[split] (the audit's case: a string column) was a ValueError traceback."""
    assert tiny.catalog["split"].dtype.kind in "US"
    model = cfg_for(tiny, "sequential", "model.catalog_features=[split]").model
    with pytest.raises(DataError, match=r"column split \(.*\) is not a number per galaxy.*drop split") as err:
        check_inputs(model, tiny)
    assert "\n" not in str(err.value)
