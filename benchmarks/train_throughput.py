"""Training throughput of photoz's loop against a naive PyTorch DataLoader loop, same model.

    python benchmarks/train_throughput.py                         # sequential, 4096 stamps 32x32x6
    python benchmarks/train_throughput.py --model googlenet --n 2048 --size 64 --epochs 2 --threads 1

naive: a map-style Dataset reading one stamp at a time from the memmap, per-sample numpy
normalisation and random flip/rotation, DataLoader(shuffle=True), NCHW fp32, plain AdamW,
loss.item() every step. photoz: photoz.training.loop.train_epoch (preloaded split, batched
augmentation, channels_last/bf16 as trainer.precision=auto picks, fused AdamW, one sync per
epoch). Prints images/s of each and the ratio. Not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from photoz.config import compose
from photoz.models import build_model, head_loss
from photoz.training.batches import BatchSource
from photoz.training.loop import make_optimizer, make_scheduler, train_epoch
from photoz.training.cnn import PhotozNet
from photoz.training.normalise import noise_scale
from photoz.training.runtime import choose_runtime


class StampDataset(torch.utils.data.Dataset):
    """What a first implementation usually looks like: one memmapped stamp per __getitem__."""

    def __init__(self, images: np.ndarray, z: np.ndarray, scale: np.ndarray) -> None:
        self.images, self.z, self.scale = images, z, scale[:, None, None]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.arcsinh(np.asarray(self.images[i]) / self.scale)
        x = np.rot90(x, np.random.randint(4), axes=(1, 2))
        if np.random.rand() < 0.5:
            x = x[:, :, ::-1]
        return torch.from_numpy(x.copy()), torch.tensor(self.z[i], dtype=torch.float32)


def naive_epoch(net, images, z, scale, cfg) -> float:
    loader = torch.utils.data.DataLoader(StampDataset(images, z, scale), batch_size=cfg.trainer.batch_size, shuffle=True, drop_last=True)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.optimizer.lr)
    net.train()
    start = time.perf_counter()
    seen = 0
    for x, zb in tqdm(loader, desc="naive", leave=False):
        loss = head_loss(net(x), zb, cfg.model)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        seen += len(x)
    return seen / (time.perf_counter() - start)


def photoz_epoch(net, images, z, scale, cfg) -> float:
    rt = choose_runtime(cfg.trainer)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    model = PhotozNet(net, scale, model_cfg, [f"b{i}" for i in range(images.shape[1])], images.shape[2:]).to(rt.device)
    if rt.channels_last:
        model = model.to(memory_format=torch.channels_last)
    source = BatchSource(images, np.arange(len(images)), z, rt.device, cfg.trainer.preload_max_gb)
    steps = source.n_batches(cfg.trainer.batch_size, shuffle=True)
    opt = make_optimizer(model, cfg.optimizer, rt.device)
    sched = make_scheduler(opt, cfg.optimizer, steps, 1)
    start = time.perf_counter()
    with tqdm(total=steps, desc=f"photoz ({rt.describe()})", leave=False) as bar:
        train_epoch(model, source, opt, sched, lambda out, zb: head_loss(out, zb, cfg.model), rt, cfg.trainer.batch_size, torch.Generator().manual_seed(0), bar)
    return steps * cfg.trainer.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sequential")
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--bands", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    args = parser.parse_args()
    cfg = compose(f"model={args.model}", f"trainer.num_threads={args.threads}")
    choose_runtime(cfg.trainer)  # sets the thread count for both loops
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        images = np.lib.format.open_memmap(Path(tmp) / "x.npy", mode="w+", dtype=np.float32, shape=(args.n, args.bands, args.size, args.size))
        images[:] = rng.normal(0, 1, images.shape).astype(np.float32)
        images.flush()
        z = rng.uniform(0, 2.5, args.n).astype(np.float32)
        scale = noise_scale(images, np.arange(args.n))
        rates = {}
        for name, epoch in (("naive", naive_epoch), ("photoz", photoz_epoch)):
            torch.manual_seed(0)
            net = build_model(cfg.model, args.bands, args.size)
            rates[name] = max(epoch(net, images, z, scale, cfg) for _ in range(args.epochs))
    print(f"{args.model}, {args.n} stamps {args.bands}x{args.size}x{args.size}, batch {cfg.trainer.batch_size}, {torch.get_num_threads()} threads")
    for name, rate in rates.items():
        print(f"  {name:7s} {rate:8.0f} images/s")
    print(f"  ratio   {rates['photoz'] / rates['naive']:8.2f}x")


if __name__ == "__main__":
    main()
