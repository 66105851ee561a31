"""Normalisation, augmentation, batching, optimizer/schedule and runtime choices, in isolation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from photoz.config import SGDConfig, TrainerConfig, compose, to_typed
from photoz.errors import ConfigError
from photoz.training.augment import random_dihedral
from photoz.training.batches import BatchSource
from photoz.training.loop import make_optimizer, make_scheduler
from photoz.training.normalise import ArcsinhNormalise, noise_scale
from photoz.training.runtime import choose_runtime, hardware_bf16


def test_noise_scale_recovers_per_band_sigma_despite_bright_centres() -> None:
    rng = np.random.default_rng(1)
    sigma = np.array([2.0, 5.0, 0.5], dtype=np.float32)
    images = rng.normal(0, 1, (400, 3, 16, 16)).astype(np.float32) * sigma[None, :, None, None]
    images[:, :, 6:10, 6:10] += 1000.0  # galaxies: must not inflate the noise estimate
    est = noise_scale(images, np.arange(0, 400, 2))
    np.testing.assert_allclose(est, sigma, rtol=0.05)


def test_noise_scale_of_a_noiseless_band_is_positive() -> None:
    images = np.zeros((10, 2, 8, 8), dtype=np.float32)
    images[:, 1] = np.random.default_rng(0).normal(0, 3, (10, 8, 8))
    est = noise_scale(images, np.arange(10))
    assert est[0] == 1.0 and 2.0 < est[1] < 4.0


def test_arcsinh_normalise_is_per_band() -> None:
    norm = ArcsinhNormalise(np.array([1.0, 10.0]))
    x = torch.tensor([[[[10.0]], [[10.0]]]])
    out = norm(x)
    assert out.shape == x.shape
    assert torch.allclose(out.flatten(), torch.asinh(torch.tensor([10.0, 1.0])))


def _dihedral(img: torch.Tensor) -> list[torch.Tensor]:
    rots = [torch.rot90(img, k, dims=(-2, -1)) for k in range(4)]
    return rots + [r.flip(-1) for r in rots]


def test_random_dihedral_gives_each_stamp_one_of_the_8_symmetries() -> None:
    img = torch.arange(2 * 5 * 5, dtype=torch.float32).view(2, 5, 5)  # no symmetry of its own
    out = random_dihedral(img.expand(256, 2, 5, 5).clone(), torch.Generator().manual_seed(0))
    variants = _dihedral(img)
    seen = set()
    for stamp in out:
        matches = [i for i, v in enumerate(variants) if torch.equal(stamp, v)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range(8))


def test_random_dihedral_is_seeded_and_keeps_non_square_shapes() -> None:
    x = torch.randn(16, 3, 4, 6)
    a = random_dihedral(x, torch.Generator().manual_seed(3))
    b = random_dihedral(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)


@pytest.mark.parametrize("preload_gb", [10.0, 0.0])
def test_batch_source_serves_rows_in_order_or_shuffled_without_repeats(tmp_path, preload_gb: float) -> None:
    images = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(30, 2, 4, 4))
    images[:] = np.arange(30, dtype=np.float32)[:, None, None, None]
    index = np.arange(3, 30, 2)  # 14 rows
    src = BatchSource(images, index, index.astype(np.float32) / 10, torch.device("cpu"), preload_gb)
    assert src.preloaded == (preload_gb > 0)
    rows = torch.cat([x[:, 0, 0, 0] for x, _, _ in src.batches(4)])
    assert rows.tolist() == index.tolist()
    seen = []
    for x, _, z in src.batches(4, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert len(x) == 4 and torch.allclose(z, x[:, 0, 0, 0] / 10)
        seen += x[:, 0, 0, 0].tolist()
    assert len(seen) == 12 == 4 * src.n_batches(4, shuffle=True) and len(set(seen)) == 12
    assert set(seen) <= set(index.tolist())
    assert src.n_batches(4) == 4


def test_optimizer_skips_weight_decay_on_biases_and_norms() -> None:
    cfg = to_typed(compose("optimizer=adamw", "optimizer.weight_decay=0.01"))
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4))
    opt = make_optimizer(net, cfg.optimizer, torch.device("cpu"))
    decay = {p.ndim for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    no_decay = {p.ndim for g in opt.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    assert decay == {4} and no_decay == {1}
    assert isinstance(make_optimizer(net, SGDConfig(), torch.device("cpu")), torch.optim.SGD)


def _lrs(overrides: list[str], steps: int = 10, epochs: int = 5) -> list[float]:
    cfg = to_typed(compose(*overrides))
    net = torch.nn.Linear(2, 2)
    opt = make_optimizer(net, cfg.optimizer, torch.device("cpu"))
    sched = make_scheduler(opt, cfg.optimizer, steps, epochs)
    out = []
    for _ in range(steps * epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_schedule_warms_up_then_decays_to_the_floor() -> None:
    lrs = _lrs(["optimizer.lr=0.1", "optimizer.warmup_epochs=1", "optimizer.min_lr_ratio=0.01"])
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    last = 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 39 / 40))  # step 49 of 50, 10 warm-up
    assert lrs[-1] == pytest.approx(0.1 * last)


def test_onecycle_schedule_peaks_at_lr() -> None:
    lrs = _lrs(["optimizer.lr=0.1", "optimizer.schedule=onecycle"])
    assert max(lrs) == pytest.approx(0.1, rel=0.01)
    assert lrs[0] < 0.01 and lrs[-1] < 0.001
    assert _lrs(["optimizer.lr=0.1", "optimizer.schedule=constant"]) == [0.1] * 50


def test_runtime_choices() -> None:
    trainer = TrainerConfig()
    rt = choose_runtime(trainer)
    assert rt.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert rt.bf16 == hardware_bf16(rt.device)
    trainer.precision = "fp32"
    assert not choose_runtime(trainer).bf16
    trainer.precision, trainer.device = "bf16", "cpu"
    rt = choose_runtime(trainer)
    assert rt.bf16 and rt.channels_last and rt.device.type == "cpu"
    for bad in ("gpu0", "cuda:0" if not torch.cuda.is_available() else "mps:7"):
        trainer.device = bad
        with pytest.raises(ConfigError, match="trainer.device"):
            choose_runtime(trainer)
    trainer.device, trainer.num_threads = "cpu", 1
    choose_runtime(trainer)
    assert torch.get_num_threads() == 1
