"""Contrastive pretraining's parts: the InfoNCE loss on hand-computed inputs, MoCo's key update
and queue, views that keep each band's flux and the colours (the reddening jitter changes them
as dust does), an encoder that loads into a CNN (whole or frozen) and a resumed pretraining that
continues exactly where it stopped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from photoz.config import AdamWConfig, PretrainTrainerConfig
from photoz.errors import ConfigError
from photoz.models.schema import CNNConfig
from photoz.training.batches import BatchSource
from photoz.training.checkpoint import Checkpoints
from photoz.training.contrastive import MoCo, encoder, info_nce
from photoz.training.encoder import Encoder, freeze_encoder, load_encoder, read_encoder, start_from, write_encoder
from photoz.training.loop import FitContext
from photoz.training.net import PhotozNet
from photoz.training.pretrain_loop import pretrain
from photoz.training.runtime import Runtime
from photoz.training.schema import PretrainSchema, ViewsConfig
from photoz.training.views import R_LSST, Views

BANDS = list("ugrizy")
MODEL = CNNConfig(depth=2, width=8, dense=[16])


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is fastest, and two test workers share two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_info_nce_by_hand() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    queue = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss, accuracy = info_nce(q, k, queue, temperature=0.5)
    # galaxy 1: logits [0.6, 1, 0] / 0.5 = [1.2, 2, 0]; galaxy 2: [1, 0, 1] / 0.5 = [2, 0, 2]
    one = -math.log(math.exp(1.2) / (math.exp(1.2) + math.exp(2.0) + 1.0))  # 1.26037
    two = -math.log(math.exp(2.0) / (2 * math.exp(2.0) + 1.0))  # 0.75862
    assert loss.item() == pytest.approx((one + two) / 2, rel=1e-6) and loss.item() == pytest.approx(1.00950, abs=1e-5)
    assert accuracy.item() == 0.5  # galaxy 1's own key loses to a negative; galaxy 2's ties, and argmax takes the first


def _moco(queue: int = 8, momentum: float = 0.9) -> MoCo:
    torch.manual_seed(0)
    net = encoder(MODEL, BANDS, (16, 16), np.ones(6, np.float32))
    return MoCo(net, PretrainSchema(queue=queue, momentum=momentum, projection=4))


def test_keys_follow_the_queries_and_the_queue_is_a_ring() -> None:
    moco = _moco()
    with torch.no_grad():
        for p in moco.encoder_q.parameters():
            p.add_(1.0)
    before = [p.clone() for p in moco.encoder_k.parameters()]
    keys = torch.nn.functional.normalize(torch.randn(5, 4), dim=1)
    moco.update_keys(keys)
    for p_k, old, p_q in zip(moco.encoder_k.parameters(), before, moco.encoder_q.parameters()):
        torch.testing.assert_close(p_k, 0.9 * old + 0.1 * p_q)
    moco.update_keys(keys)  # 10 keys into a queue of 8: rows 0-4, then 5, 6, 7, 0, 1
    torch.testing.assert_close(moco.queue, torch.cat([keys[3:], keys[2:], keys[:3]]))
    assert int(moco.queue_ptr) == 2


def _galaxies(n: int = 32, size: int = 16) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size) - 7.3, torch.arange(size) - 7.6, indexing="ij")
    blob = torch.exp(-(xx**2 + yy**2) / 6.0)
    sed = torch.linspace(1, 3, len(BANDS)).view(1, -1, 1, 1)
    return 100 * sed * blob * torch.rand(n, 1, 1, 1) + 1e-3


def _views(**kw) -> Views:
    return Views(ViewsConfig(**{"shift": 2, "psf": 0.8, "noise": 0.0, "reddening": 0.0, **kw}), BANDS, np.ones(6))


def test_views_keep_each_bands_flux_and_the_colours() -> None:
    x, g = _galaxies(), torch.Generator().manual_seed(1)
    views = _views()
    moved = views.move(x, g)
    blurred, _ = views.broaden(moved, g)
    assert not torch.equal(moved, x) and not torch.allclose(blurred, moved)  # moved, then blurred
    assert torch.equal(moved.flatten(2).sort(dim=2).values, x.flatten(2).sort(dim=2).values)  # the same pixels
    torch.testing.assert_close(blurred.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-5, atol=1e-4)  # flux per band, so colours
    view = _views(noise=0.5)(x, g)  # the whole view: flux kept up to noise; its sum over 256 px of sky sigma 1
    assert (view.sum(dim=(2, 3)) - x.sum(dim=(2, 3))).abs().max() < 5 * 16 * math.sqrt(1 + 0.25)  # has sigma <= 16 * 1.12


def test_noise_is_redrawn_at_the_catalogue_depth() -> None:
    sky = torch.randn(64, 6, 32, 32, generator=torch.Generator().manual_seed(2)) * torch.tensor([1.0, 2, 3, 4, 5, 6]).view(1, -1, 1, 1)
    views = Views(ViewsConfig(shift=0, psf=2.0, noise=0.0, reddening=0.0), BANDS, np.arange(1.0, 7.0))
    blurred, kept = views.broaden(sky, torch.Generator().manual_seed(3))
    assert (kept < 1).all() and blurred.std() < sky.std()  # smoothing lowered the sky noise ...
    restored = views.add_noise(blurred, kept, torch.Generator().manual_seed(4))
    got = restored.std(dim=(0, 2, 3)) / torch.arange(1.0, 7.0)
    torch.testing.assert_close(got, torch.ones(6), rtol=0.03, atol=0)  # ... the view is back at the catalogue's


def test_the_reddening_jitter_changes_colours_as_galactic_dust_does() -> None:
    x = _galaxies()
    view = _views(shift=0, psf=0.0, reddening=0.05)(x, torch.Generator().manual_seed(5))
    dimming = -2.5 * torch.log10(view.sum(dim=(2, 3)) / x.sum(dim=(2, 3)))  # (n, C) A_b in magnitudes
    ebv = dimming[:, 0] / R_LSST["u"]
    assert ebv.abs().max() <= 0.05 + 1e-6 and ebv.abs().max() > 0.01
    torch.testing.assert_close(dimming, ebv.view(-1, 1) * torch.tensor([R_LSST[b] for b in BANDS]), rtol=1e-4, atol=1e-5)


def test_views_refuse_what_they_cannot_do() -> None:
    with pytest.raises(ConfigError, match="pretrain.views.psf=-1.0 must be >= 0"):
        _views(psf=-1.0)
    with pytest.raises(ConfigError, match=r"needs A_b/E\(B-V\) of band\(s\) NUV"):
        Views(ViewsConfig(), ["NUV", "r"], np.ones(2))
    Views(ViewsConfig(reddening=0.0), ["NUV", "r"], np.ones(2))  # without the jitter any band is fine


def _source(x: torch.Tensor) -> BatchSource:
    return BatchSource(x.numpy(), np.arange(len(x)), np.zeros(len(x)), torch.device("cpu"), 1.0)


def _pretrain(moco: MoCo, x: torch.Tensor, ckpt: Path, epochs: int, resume: bool = False, stop_after: int = 0) -> dict[int, dict]:
    """Pretrain on x; the metrics on_epoch was given, by epoch."""
    trainer = PretrainTrainerConfig(max_epochs=epochs, batch_size=8, resume=resume, progress=False)
    reported: dict[int, dict] = {}

    def on_epoch(epoch: int, metrics: dict) -> None:
        assert {"pretrain_loss", "pretrain_accuracy", "lr", "epoch_images_per_s"} <= metrics.keys()
        reported[epoch] = metrics
        if epoch == stop_after:
            raise KeyboardInterrupt  # killed after last.pt of this epoch was written

    rt = Runtime(torch.device("cpu"), bf16=False, channels_last=False)
    pretrain(moco, _source(x), _views(noise=0.3, reddening=0.02), trainer, AdamWConfig(lr=1e-3), FitContext(rt, Checkpoints(ckpt), on_epoch, 0))
    return reported


def test_a_killed_pretraining_resumes_exactly_where_it_stopped(tmp_path: Path) -> None:
    x = _galaxies()
    straight = _moco()
    logged = _pretrain(straight, x, tmp_path / "a", epochs=3)
    interrupted = _moco()
    with pytest.raises(KeyboardInterrupt):  # killed after last.pt of epoch 2, before its metrics were logged
        _pretrain(interrupted, x, tmp_path / "b", epochs=3, stop_after=2)
    resumed = _moco()  # a new process: fresh weights, everything else from last.pt
    again = _pretrain(resumed, x, tmp_path / "b", epochs=3, resume=True)
    assert sorted(again) == [2, 3]  # epoch 2 is reported again (the job logs it if its history lacks it)
    for epoch in (2, 3):
        for key in ("pretrain_loss", "pretrain_accuracy", "lr"):
            assert again[epoch][key] == pytest.approx(logged[epoch][key], rel=1e-6), (epoch, key)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_an_encoder_starts_a_cnn_whole_or_frozen(tmp_path: Path) -> None:
    from photoz.models.build import build_model

    moco = _moco()
    write_encoder(tmp_path / "enc", moco.encoder_q, {"run": "r1"})
    enc = read_encoder(tmp_path / "enc", "r1")
    assert enc.bands == BANDS and enc.stamp == (16, 16) and enc.pretraining == {"run": "r1"}
    torch.manual_seed(1)
    net = PhotozNet(build_model(MODEL, 6, 16), np.full(6, 5.0, np.float32), MODEL, BANDS, (16, 16))
    head = {k: v.clone() for k, v in net.state_dict().items() if k.startswith("backbone.head.")}
    start_from(net, enc, freeze=True)
    state = net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in enc.state.items())  # encoder weights and its normalisation
    assert all(torch.equal(state[k], v) for k, v in head.items())  # the head starts fresh
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("backbone.head.") for n in trainable)
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    net(_galaxies(8)).sum().backward()
    optimizer.step()
    after = net.state_dict()  # a training step moved the head only; BatchNorm statistics stayed
    assert all(torch.equal(after[k], v) for k, v in enc.state.items())
    assert not all(torch.equal(after[k], v) for k, v in head.items())


def test_an_encoder_of_another_network_is_refused() -> None:
    from photoz.config import plain
    from photoz.models.build import build_model
    from photoz.training.encoder import check_fits

    moco = _moco()
    enc = Encoder(plain(MODEL), BANDS, (16, 16), moco.encoder_q.state_dict(), {}, "r1")
    other = CNNConfig(depth=3, width=8)
    with pytest.raises(ConfigError, match=r"model.init=r1: its encoder is another network: model.depth=2 \(here 3\)"):
        check_fits(enc, other, BANDS, (16, 16))
    with pytest.raises(ConfigError, match="pretrained on bands"):
        check_fits(enc, MODEL, list("gri"), (16, 16))
    with pytest.raises(ConfigError, match=r"pretrained on \(16, 16\) stamps"):
        check_fits(enc, MODEL, BANDS, (24, 24))
    check_fits(enc, CNNConfig(depth=2, width=8, n_bins=50, dense=[]), BANDS, (16, 16))  # another head is fine
    net = PhotozNet(build_model(other, 6, 16), np.ones(6, np.float32), other, BANDS, (16, 16))
    with pytest.raises(ConfigError, match="do not fit this network"):
        load_encoder(net, enc)
    freeze_encoder(net)  # (and a frozen network's encoder stays in eval mode through net.train())
    net.train()
    assert not net.backbone.features.training and net.backbone.head.training

