"""model.dimming (photoz.training.dimming): labelled images dimmed by up to Δm magnitudes with the
sky noise (measured on every non-test stamp, whatever is labelled) restored, colours kept; with
model.dimming_to=sample dimmed to a random photometric-sample galaxy's brightness where that is
fainter; off by default (today's augmentation); a CNN trains with it and resumes exactly; bad
settings are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from photoz.choices import DimmingTo
from photoz.data import Dataset
from photoz.data.labels import apply_labels
from photoz.data.schema import LabelsConfig
from photoz.errors import ConfigError
from photoz.estimators.cnn import CNNEstimator
from photoz.models.schema import CNNConfig
from photoz.training.augment import random_dihedral
from photoz.training.checkpoint import Checkpoints
from photoz.training.dimming import Dimming, brightness, check_dimming, sample_brightness
from photoz.training.normalise import noise_scale
from test_consistency import small  # a small CNN on a labelled view
from tinydata import make_tiny_dataset

SIGMA = np.array([1.0, 2.0, 4.0], np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n=64)


def test_dimming_scales_every_band_alike_within_its_range() -> None:
    galaxy = torch.rand(500, 3, 8, 8) * 100 + 1  # noiseless stamps
    out = Dimming(2.0, SIGMA * 1e-6)(galaxy, torch.Generator().manual_seed(0))
    factor = out.sum(dim=(2, 3)) / galaxy.sum(dim=(2, 3))  # (B, C)
    assert torch.allclose(factor, factor[:, :1].expand_as(factor), rtol=1e-4)  # the same factor in every band: colours kept
    dm = -2.5 * torch.log10(factor[:, 0])
    assert dm.min() >= -1e-4 and dm.max() <= 2.0 + 1e-4 and dm.min() < 0.05 and dm.max() > 1.95  # uniform in [0, 2] mag
    assert abs(dm.mean().item() - 1.0) < 0.1


def test_dimming_brings_the_sky_noise_back_to_the_catalogue_level() -> None:
    sky = torch.randn(2000, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * torch.from_numpy(SIGMA).view(1, -1, 1, 1)
    out = Dimming(3.0, SIGMA)(sky, torch.Generator().manual_seed(2))
    assert np.allclose(out.std(dim=(0, 2, 3)).numpy(), SIGMA, rtol=0.02)  # not aSIGMA: a fainter galaxy at the same depth


def test_no_dimming_is_todays_augmentation_and_the_sky_noise_does_not_depend_on_the_labels(tiny: Dataset) -> None:
    assert CNNEstimator(CNNConfig())._augment(tiny) is random_dihedral  # off: today's draws
    sigmas = []
    for n in (16, 32):  # which galaxies keep their redshift must not change the noise the dimming restores
        view = apply_labels(tiny, LabelsConfig(n=n))
        dim = CNNEstimator(CNNConfig(dimming=2.0))._augment(view)
        assert isinstance(dim, Dimming) and dim.max_mag == 2.0
        sigmas.append(dim.sigma.flatten().numpy())
    non_test = np.concatenate([tiny.split_index(s) for s in ("train", "val")])
    assert np.array_equal(sigmas[0], sigmas[1]) and np.array_equal(sigmas[0], noise_scale(tiny.images, non_test))


def blobs(flux: torch.Tensor) -> torch.Tensor:
    """Noiseless (B, 3, 12, 12) stamps: a 2x2 blob of total `flux` per band at the centre, and a
    bright neighbour in a corner (outside the brightness aperture)."""
    x = torch.zeros(len(flux), 3, 12, 12)
    x[:, :, 5:7, 5:7] = flux.view(-1, 1, 1, 1) / 4
    x[:, :, 0, 0] = 1e4
    return x


def test_brightness_is_the_central_flux_in_units_of_the_sky_noise() -> None:
    sigma = torch.from_numpy(SIGMA)
    got = brightness(blobs(torch.tensor([8.0, 0.0, -8.0])), sigma)  # the corner neighbour is not counted
    assert torch.allclose(got, torch.tensor([8.0, 0.0, -8.0]) * (1 + 1 / 2 + 1 / 4))


def test_dimming_to_the_sample_takes_a_fainter_galaxy_s_brightness_and_leaves_the_rest() -> None:
    flux = torch.tensor([400.0, 100.0, 25.0, 1.0, 0.0, -50.0] * 200)
    quiet = SIGMA * 1e-9  # noiseless: the factor shows in the output
    targets = brightness(blobs(torch.tensor([100.0, 400.0])), Dimming(1.0, quiet).sigma)  # a 100 and a 400 galaxy
    factor = Dimming(10.0, quiet, targets).factor(blobs(flux), torch.Generator().manual_seed(3))
    for f, allowed in ((400.0, {0.25, 1.0}), (100.0, {1.0}), (25.0, {1.0}), (1.0, {1.0}), (0.0, {1.0}), (-50.0, {1.0})):
        got = set(np.round(factor[flux == f].numpy(), 5).tolist())
        assert got == allowed  # dimmed to a fainter target's brightness, never brightened; no signal: left as it is
    assert 0.4 < (factor[flux == 400.0] == 0.25).float().mean() < 0.6  # the targets drawn evenly
    capped = Dimming(1.0, quiet, targets[:1] * 1e-6).factor(blobs(flux), torch.Generator())
    assert torch.allclose(capped[flux > 1], torch.full_like(capped[flux > 1], 10**-0.4))  # at most model.dimming mag
    out = Dimming(10.0, quiet, targets)(blobs(flux), torch.Generator().manual_seed(3))
    ratio = out[flux > 0].sum(dim=(2, 3)) / blobs(flux[flux > 0]).sum(dim=(2, 3))
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4)  # colours kept


def test_the_sample_s_brightness_is_every_non_test_stamp_s_whatever_is_labelled(tiny: Dataset) -> None:
    targets, sample = [], CNNConfig(dimming=2.0, dimming_to=DimmingTo.sample)
    for n in (16, 32):
        view = apply_labels(tiny, LabelsConfig(n=n))
        dim = CNNEstimator(sample)._augment(view)
        targets.append(dim.targets)
        labelled = torch.from_numpy(np.asarray(view.images[np.sort(view.split_index("train"))], np.float32))
        factor = dim.factor(labelled, torch.Generator().manual_seed(0))
        assert (factor < 1).any() and (factor == 1).any()  # some labelled galaxies dimmed, some left
    rows = np.sort(np.concatenate([tiny.split_index(s) for s in ("train", "val")]))
    expected = sample_brightness(tiny.images, rows, noise_scale(tiny.images, rows))
    assert torch.equal(targets[0], targets[1]) and torch.equal(targets[0], expected) and 0 < len(expected) <= len(rows)


def test_only_detected_galaxies_are_brightnesses_to_dim_to() -> None:
    sky = np.random.default_rng(4).normal(size=(40, 3, 12, 12)).astype(np.float32) * SIGMA.reshape(1, -1, 1, 1)
    sky[:10] += blobs(torch.full((10,), 400.0)).numpy()  # ten galaxies far above the noise, thirty empty stamps
    got = sample_brightness(sky, np.arange(40), SIGMA)
    assert len(got) == 10 and torch.allclose(got, brightness(torch.from_numpy(sky[:10]), torch.from_numpy(SIGMA)))
    with pytest.raises(ConfigError) as err:
        sample_brightness(sky[10:], np.arange(30), SIGMA)
    assert "none of the 30 stamps read is detected at 5 sigma" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "model, fragment",
    [
        (CNNConfig(dimming=-1.0), "model.dimming=-1.0 must be a finite number of magnitudes >= 0"),
        (CNNConfig(dimming=float("inf")), "model.dimming=inf must be a finite number"),
        (CNNConfig(dimming=float("nan")), "model.dimming=nan must be a finite number"),
        (CNNConfig(dimming=2.0, catalog_features=["photometry"]), "dims the images but not the catalogue row"),
        (CNNConfig(dimming_to=DimmingTo.sample), "model.dimming_to=sample dims by at most model.dimming magnitudes"),
    ],
)
def test_a_bad_dimming_is_one_line(model: CNNConfig, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_dimming(model)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    check_dimming(CNNConfig(catalog_features=["photometry"]))  # off: nothing to refuse


@pytest.mark.parametrize("to", ["uniform", "sample"])
def test_a_dimmed_cnn_trains_and_resumes_exactly(tiny: Dataset, tmp_path: Path, to: str) -> None:
    dimmed = ("model.semi_supervised=none", "model.dimming=2.0", f"model.dimming_to={to}")
    est, view = small(tiny, tmp_path / "a", *dimmed)
    est.check(view)
    calls = []
    est.fit(view, lambda epoch, metrics: calls.append(metrics))
    assert len(calls) == 2 and all(np.isfinite(m["train_loss"]) for m in calls)

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        small(tiny, tmp_path / "b", *dimmed)[0].fit(view, interrupt)
    torch.manual_seed(7)
    small(tiny, tmp_path / "b", *dimmed, "trainer.resume=true")[0].fit(view, lambda e, m: None)
    a, b = (Checkpoints(tmp_path / d).load_last()["model"] for d in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same dimming draws after the resume
    undimmed = small(tiny, tmp_path / "c", "model.semi_supervised=none")[0]
    undimmed.fit(view, lambda e, m: None)
    c = Checkpoints(tmp_path / "c").load_last()["model"]
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the dimming changed what was learnt
