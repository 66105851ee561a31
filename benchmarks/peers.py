"""Peers and limits for benchmarks/throughput.py: the naive per-sample Dataset, a PyTorch
Lightning Trainer on a standard DataLoader (`pip install "photoz[bench]"`), the matmul peaks, and
the practical peak of a network's own largest convolutions run alone (forward + backward,
photoz's layout and precision), and the timing helpers (alternating rounds, FLOP counts)."""

from __future__ import annotations

import logging
import statistics
import time
import warnings
from collections.abc import Callable

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from photoz.training.runtime import Runtime

for _name in ("lightning.pytorch", "pytorch_lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)  # no banner per Trainer
warnings.filterwarnings("ignore", module="lightning")


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; a CPU is always done)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, n: int, device: torch.device, min_seconds: float = 1.0) -> float:
    """FLOP/s of repeated n×n matmuls in `dtype` on `device` (bf16 on CPUs without native support
    is emulated)."""
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    sync(device)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        a @ b
        reps += 1
        if reps % 50 == 0:
            sync(device)  # keep the clock honest without a sync per matmul
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


class StampDataset(torch.utils.data.Dataset):
    """The naive way: one stamp at a time, normalised and randomly flipped in Python."""

    def __init__(self, images: np.ndarray, z: np.ndarray, scale: np.ndarray, augment: bool) -> None:
        self.images, self.z, self.scale, self.augment = images, z.astype(np.float32), scale[:, None, None], augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.arcsinh(np.asarray(self.images[i], dtype=np.float32) / self.scale)
        if self.augment:
            if np.random.rand() < 0.5:
                x = x[:, :, ::-1]
            if np.random.rand() < 0.5:
                x = x[:, ::-1, :]
            if np.random.rand() < 0.5:
                x = x.transpose(0, 2, 1)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor(self.z[i])


class LitPhotoz(L.LightningModule):
    """What a lightning-hydra-template user writes: the same backbone, AdamW, the loss logged per step."""

    def __init__(self, net: nn.Module, loss, lr: float) -> None:
        super().__init__()
        self.net, self.loss_fn, self.lr = net, loss, lr

    def training_step(self, batch, _):
        x, z = batch
        loss = self.loss_fn(self.net(x), z)
        self.log("train_loss", loss)
        return loss

    def predict_step(self, batch, _):
        return torch.softmax(self.net(batch[0]), 1)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr)


def _trainer(device: torch.device) -> L.Trainer:
    """Lightning's defaults on the benchmark's device: fp32 ("32-true"), one device."""
    return L.Trainer(accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, max_epochs=1, precision="32-true",
                     logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)  # fmt: skip


def lightning_train(module: LitPhotoz, ds: Dataset, batch: int, device: torch.device) -> int:
    loader = DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True)
    _trainer(device).fit(module, loader)
    return len(loader) * batch


def lightning_infer(module: LitPhotoz, ds: Dataset, batch: int, device: torch.device) -> int:
    return len(torch.cat(_trainer(device).predict(module, DataLoader(ds, batch_size=batch))))


def largest_convs(net: nn.Module, x: torch.Tensor, top: int = 2) -> list[tuple[nn.Conv2d, tuple[int, ...]]]:
    """The `top` Conv2d layers of `net` with the most FLOPs on input x, with their input shapes."""
    shapes: dict[nn.Conv2d, tuple[int, ...]] = {}

    def record(module: nn.Conv2d, inputs: tuple[torch.Tensor], _: torch.Tensor) -> None:
        shapes[module] = tuple(inputs[0].shape)

    hooks = [m.register_forward_hook(record) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()

    def flops(item: tuple[nn.Conv2d, tuple[int, ...]]) -> float:
        conv, shape = item
        return conv.weight.numel() * shape[0] * shape[2] * shape[3] / conv.stride[0] ** 2

    return sorted(shapes.items(), key=flops, reverse=True)[:top]


def conv_work(conv: nn.Conv2d, shape: tuple[int, ...], rt: Runtime, reps: int = 10) -> Callable[[], int]:
    """A function that runs conv alone `reps` times, forward + backward, on `shape` input in rt's
    layout and precision, and returns the FLOPs it did (timed like a benchmark side: FLOP/s)."""
    layer = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    layer, x = layer.to(rt.device), torch.randn(shape, device=rt.device)
    if rt.channels_last:
        layer, x = layer.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()

    def step() -> None:
        with rt.autocast():
            y = layer(x)
        y.float().sum().backward()

    flops = flops_of(step)

    def work() -> int:
        for _ in range(reps):
            step()
        return flops * reps

    return work


def timed(fn: Callable[[], int], device: torch.device) -> float:
    """Items per second of one call of fn (which returns how many items it processed), the
    device's queued work included."""
    sync(device)
    start = time.perf_counter()
    n = fn()
    sync(device)
    return n / (time.perf_counter() - start)


def flops_of(fn: Callable[[], object]) -> int:
    """FLOPs torch's counter sees in one call of fn (2 per multiply-accumulate)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def compare(label: str, sides: dict[str, Callable[[], int]], rounds: int, device: torch.device) -> dict[str, float]:
    """Median items/s of each side over `rounds` alternating rounds (after one warm-up each)."""
    for fn in sides.values():
        fn()
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in tqdm(range(rounds), desc=label, leave=False):
        for name, fn in sides.items():
            rates[name].append(timed(fn, device))
    return {name: statistics.median(r) for name, r in rates.items()}
