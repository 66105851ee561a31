"""Training and inference throughput: photoz against a naive loop and a Lightning Trainer, side by side.

    python benchmarks/throughput.py                          # sequential and googlenet, 32x32x6 stamps
    python benchmarks/throughput.py --models sequential --steps 4 --rounds 3 --compile
    python benchmarks/throughput.py --predict-only --threads 1   # predict loop vs network, fp32 vs int8

Peers (fp32, NCHW, a DataLoader over a per-sample Dataset that normalises and flips in Python):
naive (AdamW, `loss.item()` every step) and a Lightning `Trainer` (benchmarks/peers.py). photoz:
the real `train_epoch` (and with --compile a torch.compile'd copy) and `CNNEstimator.predict`
(the fast path, photoz/inference/fast.py) beside the eager path it replaced, in the Runtime that
`trainer.*` defaults resolve to here. Sides alternate for --rounds rounds, median reported, so
other jobs on the machine bias all alike (the load average is printed). Achieved FLOP/s = FLOPs
of one step (torch.utils.flop_counter, fwd+bwd for training) × steps/s, as a fraction of the
matmul peaks and of the practical peak: the network's largest convolution run alone, alternating
with the sides. Every side runs on the device photoz's runtime picks (`--device`, default auto: a
GPU when one is visible); the peers stay fp32 there, as their defaults are. Not a test.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from astropy.table import Table
from predict_loop import predict_rates, threads_note  # benchmarks/predict_loop.py
from peers import (  # benchmarks/peers.py
    LitPhotoz,
    StampDataset,
    compare,
    conv_work,
    flops_of,
    largest_convs,
    lightning_infer,
    lightning_train,
    matmul_peak,
)
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from photoz.config import compose, to_typed
from photoz.data import Dataset, write_dataset
from photoz.models.build import head_loss
from photoz.training.batches import BatchSource
from photoz.estimators.cnn import CNNEstimator
from photoz.training.runtime import choose_runtime
from photoz.training.loop import (
    Stepper,
    Task,
    make_optimizer,
    make_scheduler,
    predict_outputs,
    train_epoch,
)

BANDS = list("ugrizy")


def make_data(path: Path, n: int, size: int, seed: int = 0) -> Dataset:
    """n noisy Gaussian blobs (nJy-like values), 60/20/20 train/val/test: shapes, not physics."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r2 = (xx**2 + yy**2)[None]
    sigma = rng.uniform(1.0, 3.0, n)[:, None, None]
    flux = rng.lognormal(3.0, 1.0, (n, len(BANDS)))
    images = flux[:, :, None, None] * np.exp(-r2 / (2 * sigma**2))[:, None] + rng.normal(0, 1.0, (n, len(BANDS), size, size))
    split = np.array(["train"] * n, dtype="U5")
    split[int(0.6 * n) : int(0.8 * n)], split[int(0.8 * n) :] = "val", "test"
    catalog = Table({"id": np.arange(n, dtype=np.int64), "redshift": rng.uniform(0.05, 3.0, n), "split": split})
    for i, b in enumerate(BANDS):
        catalog[f"flux_{b}"], catalog[f"flux_err_{b}"] = images[:, i].sum(axis=(1, 2)), np.full(n, float(size))
    return write_dataset(path, images.astype(np.float32), catalog, {"bands": BANDS, "pixel_scale": 0.2})


class Bench:
    """Naive and photoz training/inference for one model on one data set."""

    def __init__(self, name: str, data: Dataset, args: argparse.Namespace) -> None:
        self.cfg = to_typed(compose(f"model={name}", "trainer.progress=false", f"trainer.batch_size={args.batch}",
                                    f"trainer.device={args.device}",
                                    f"trainer.num_threads={args.threads}"))
        self.data, self.args = data, args
        self.train_idx = data.split_index("train")[: args.batch * args.steps]
        self.infer_idx = np.arange(min(len(data), args.infer))
        self.z = np.asarray(data.catalog["redshift"], np.float32)
        est = CNNEstimator(self.cfg.model, self.cfg.seed, self.cfg.trainer, self.cfg.optimizer)
        self.naive_net = est.build_net(data, self.train_idx)  # fp32 NCHW, never touched by runtime()
        self.scale = self.naive_net.normalise.scale.view(-1).numpy()
        est.net = est.build_net(data, self.train_idx)
        self.est, self.rt = est, est.runtime()
        self.dev = self.rt.device
        self.naive_net.to(self.dev)
        self.source = BatchSource(data.images, self.train_idx, self.z[self.train_idx], self.rt.device, 4.0)
        self.opt = make_optimizer(est.net, self.cfg.optimizer, self.rt.device)
        self.sched = make_scheduler(self.opt, self.cfg.optimizer, self.source.n_batches(args.batch, True), 1000)
        self.gen = torch.Generator().manual_seed(0)
        self.naive_opt = torch.optim.AdamW(self.naive_net.parameters(), lr=self.cfg.optimizer.lr)
        self.lit = LitPhotoz(copy.deepcopy(self.naive_net.backbone), self.loss, self.cfg.optimizer.lr)
        self.compiled = torch.compile(est.net) if args.compile else None

    def loss(self, out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return head_loss(out, z, self.cfg.model)

    def naive_train(self) -> int:
        ds = StampDataset(self.data.images[self.train_idx], self.z[self.train_idx], self.scale, augment=True)
        net = self.naive_net.backbone  # the Dataset normalised already
        net.train()
        n = 0
        for x, z in DataLoader(ds, batch_size=self.args.batch, shuffle=True, drop_last=True):
            x, z = x.to(self.dev), z.to(self.dev)
            loss = self.loss(net(x), z)
            self.naive_opt.zero_grad()
            loss.backward()
            self.naive_opt.step()
            loss.item()  # the usual per-step logging sync
            n += len(z)
        return n

    def stamps(self, idx: np.ndarray, augment: bool) -> StampDataset:
        return StampDataset(self.data.images[idx], self.z[idx], self.scale, augment)

    def lightning_train(self) -> int:
        return lightning_train(self.lit, self.stamps(self.train_idx, True), self.args.batch, self.dev)

    def lightning_infer(self) -> int:
        return lightning_infer(self.lit, self.stamps(self.infer_idx, False), 2 * self.args.batch, self.dev)

    def compiled_train(self) -> int:
        return self.photoz_train(self.compiled)

    def photoz_train(self, net: torch.nn.Module | None = None) -> int:
        with tqdm(disable=True) as bar:
            step = Stepper(self.opt, self.sched, self.gen)
            task = Task(self.source, dict, self.loss)  # no validation here
            train_epoch(self.est.net if net is None else net, task, step, self.rt, self.args.batch, bar)
        return self.source.n_batches(self.args.batch, True) * self.args.batch

    @torch.no_grad()
    def naive_infer(self) -> int:
        ds = StampDataset(self.data.images[self.infer_idx], self.z[self.infer_idx], self.scale, augment=False)
        net = self.naive_net.backbone.eval()
        outs = [torch.softmax(net(x.to(self.dev)), 1) for x, _ in DataLoader(ds, batch_size=2 * self.args.batch)]
        return len(torch.cat(outs))

    def photoz_infer(self) -> int:
        return len(self.est.predict(self.data, self.infer_idx).z_phot)

    def eager_infer(self) -> int:
        """The path predict took before the fast one: the training-time net in the Runtime."""
        source = self.est._source(self.data, self.infer_idx, self.rt)
        return len(self.est._predictions(predict_outputs(self.est.net, source, self.rt, 2 * self.args.batch), self.data, self.infer_idx).z_phot)

    def peak_side(self) -> tuple[Callable[[], int], str]:
        """The net's largest convolution alone (fwd+bwd, photoz's Runtime) as a benchmark side."""
        x = torch.randn(self.args.batch, len(BANDS), *self.data.images.shape[2:], device=self.dev)
        conv, shape = largest_convs(self.naive_net.backbone, x, top=1)[0]
        return conv_work(conv, shape, self.rt), f"{conv.in_channels}->{conv.out_channels} k{conv.kernel_size[0]} on {shape[2]}x{shape[3]}"

    def step_flops(self) -> tuple[int, int]:
        """FLOPs of one training step (fwd+bwd) and of one inference batch, per image."""
        x = torch.randn(self.args.batch, len(BANDS), *self.data.images.shape[2:], device=self.dev)
        z = torch.rand(self.args.batch, device=self.dev)
        net = self.naive_net

        def step() -> None:
            self.loss(net(x), z).backward()

        train = flops_of(step)
        net.zero_grad(set_to_none=True)
        with torch.no_grad():
            infer = flops_of(lambda: net(x))
        return train // len(x), infer // len(x)


def predict_end_to_end(bench: Bench, workdir: Path) -> tuple[float, float, str]:
    """Log the photoz net to a throwaway MLflow store, then time `python -m photoz.predict` on the
    whole data set: (galaxies/s it reports for its loop, galaxies/s over the command's wall time,
    the start-up it reports)."""
    import mlflow

    uri = f"sqlite:///{workdir}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("throughput", artifact_location=(workdir / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=exp, tags={"model": bench.cfg.model.name}) as run:
        bench.est.log_model()
    cmd = [sys.executable, "-m", "photoz.predict", f"run={run.info.run_id}", f"input={bench.data.path}",
           f"tracking.uri={uri}", f"output={workdir / 'pred.fits'}", f"hydra.run.dir={workdir / 'hydra'}"]  # fmt: skip
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    rate = float(re.search(r"\(([\d.]+) galaxies/s", res.stdout).group(1))
    startup = re.search(r"start-up .*", res.stdout)
    return rate, len(bench.data) / wall, startup.group(0).rstrip(")") if startup else ""


def print_end_to_end(bench: Bench, n: int) -> None:
    """`python -m photoz.predict` on the whole data set: its loop's rate, the wall-time rate, its start-up."""
    with tempfile.TemporaryDirectory() as work:
        loop_rate, wall_rate, startup = predict_end_to_end(bench, Path(work))
    print(f"  photoz.predict    {loop_rate:8.0f} galaxies/s in its loop, {wall_rate:.0f} galaxies/s "
          f"over the command's wall time ({n} galaxies, incl. start-up and model load); {startup}")  # fmt: skip


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; the platform's name elsewhere)."""
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sequential", "googlenet"])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128, help="trainer.batch_size (inference uses 2x, as photoz does)")
    parser.add_argument("--steps", type=int, default=8, help="training steps per timed round")
    parser.add_argument("--infer", type=int, default=4096, help="galaxies per timed inference round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-predict", action="store_true", help="skip photoz.predict end to end")
    parser.add_argument("--compile", action="store_true", help="also train a torch.compile'd photoz net (minutes of compile)")
    parser.add_argument("--predict-only", action="store_true", help="only predict's loop vs its network, fp32 and int8 (predict_loop.py)")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads for every side (0: torch's default)")
    parser.add_argument("--device", default="auto", help="trainer.device for every side: auto (a GPU if visible), cpu, cuda")
    args = parser.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = max(args.infer, int(args.batch * args.steps / 0.6) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp) / "stamps", n, args.size)
        device = choose_runtime(to_typed(compose(f"trainer.device={args.device}",
                                    f"trainer.num_threads={args.threads}")).trainer).device
        gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs; device {device}{gpu}; {n} stamps {len(BANDS)}x{args.size}x{args.size}")  # fmt: skip
        peak32 = matmul_peak(torch.float32, 2048 if device.type == "cpu" else 8192, device)
        peak16 = matmul_peak(torch.bfloat16, 512 if device.type == "cpu" else 8192, device)
        print(f"matmul peak: fp32 {peak32 / 1e9:.1f} GFLOP/s, bf16 {peak16 / 1e9:.2f} GFLOP/s")
        print(f"CPU {cpu_model()}")
        for name in args.models:
            bench = Bench(name, data, args)
            if args.predict_only:
                print(f"\n{name}: photoz runtime {bench.rt.describe()}, {threads_note()}")
                predict_rates(bench.est, data, args.rounds)
                if not args.no_predict:
                    print_end_to_end(bench, len(data))
                continue
            train_flops, infer_flops = bench.step_flops()
            peak_fn, conv_shape = bench.peak_side()
            print(f"\n{name}: photoz runtime {bench.rt.describe()}; {train_flops / 1e6:.1f} MFLOP/image per training "
                  f"step, {infer_flops / 1e6:.1f} MFLOP/image inference")  # fmt: skip
            train = {"naive": bench.naive_train, "lightning": bench.lightning_train, "photoz": bench.photoz_train}
            if bench.compiled is not None:
                train["photoz+compile"] = bench.compiled_train
            train_rates = compare(f"{name} train", {**train, "peak": peak_fn}, args.rounds, device)  # the peak alternates too
            conv = train_rates.pop("peak")
            print(f"  practical peak {conv / 1e9:.1f} GFLOP/s: the largest conv ({conv_shape}) alone, fwd+bwd, in the same rounds")
            infer = {"naive": bench.naive_infer, "lightning": bench.lightning_infer, "photoz eager": bench.eager_infer, "photoz": bench.photoz_infer}
            for what, flops, rates in (
                ("train images/s", train_flops, train_rates),
                ("infer galaxies/s", infer_flops, compare(f"{name} infer", infer, args.rounds, device)),
            ):
                print(f"  {what}: " + "  ".join(f"{side} {rate:.0f}" for side, rate in rates.items()))
                for side in [k for k in rates if k.startswith("photoz")]:
                    achieved = rates[side] * flops
                    ratios = "  ".join(f"{rates[side] / rates[peer]:.2f}x {peer}" for peer in rates if peer != side)
                    practical = f", {achieved / conv:.1%} of practical peak" if what.startswith("train") else ""
                    print(f"    {side}: {ratios}; {achieved / 1e9:.2f} GFLOP/s = {achieved / peak32:.1%} of fp32 matmul peak, "
                          f"{achieved / peak16:.1%} of bf16 matmul peak{practical}")  # fmt: skip
            if not args.no_predict:
                print_end_to_end(bench, len(data))
            if device.type == "cuda":
                print(f"  GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB at most (all sides of {name})")
                torch.cuda.reset_peak_memory_stats(device)
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
