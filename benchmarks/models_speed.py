"""Training-step throughput of the CNNs on this machine: fp32 NCHW, fp32 channels_last and bf16
autocast + channels_last.

    python benchmarks/models_speed.py                      # the four CNN families at their defaults
    python benchmarks/models_speed.py --models googlenet --batch 128 --size 64 --steps 5

A step is forward + head_loss + backward + AdamW on random stamps (batch × bands × size²).
Prints images/s per model and mode, and each mode's ratio to fp32 NCHW. Not a test.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from photoz.models.build import build_model, head_loss, n_trainable_params
from photoz.models.schema import CNNConfig, EfficientNetConfig, GoogLeNetConfig, ResNetConfig

SCHEMAS = {"sequential": CNNConfig, "googlenet": GoogLeNetConfig, "resnet": ResNetConfig,
           "efficientnet": EfficientNetConfig}
MODES = {"fp32 NCHW": (False, False), "fp32 channels_last": (True, False), "bf16 channels_last": (True, True)}


def training_step(name: str, batch: int, bands: int, size: int, channels_last: bool, bf16: bool):
    """(model, step) for one model at its defaults: step() is forward + head_loss + backward +
    AdamW on fixed random stamps (batch × bands × size²), under bf16 autocast if asked."""
    torch.manual_seed(0)
    cfg = SCHEMAS[name](name=name)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(cfg, bands, size).to(memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, bands, size, size).to(memory_format=fmt)
    z = torch.rand(batch) * cfg.z_max

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = head_loss(model(x), z, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return model, step


def images_per_s(name: str, args: argparse.Namespace, channels_last: bool, bf16: bool) -> tuple[float, int]:
    """Mean throughput over args.steps training steps after two warm-up steps."""
    model, step = training_step(name, args.batch, args.bands, args.size, channels_last, bf16)
    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    return args.batch * args.steps / (time.perf_counter() - t0), n_trainable_params(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SCHEMAS), choices=list(SCHEMAS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--bands", type=int, default=6)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.threads} threads; batch {args.batch} of {args.bands}×{args.size}×{args.size}; "
          f"load average {os.getloadavg()[0]:.1f} (other processes slow this down)")
    for name in args.models:
        rates = {}
        for mode in args.modes:
            rates[mode], n_params = images_per_s(name, args, *MODES[mode])
            base = rates.get("fp32 NCHW")
            ratio = f" ({rates[mode] / base:.2f}x fp32 NCHW)" if base else ""
            print(f"{name:10s} {n_params:>9,d} params  {mode:18s} {rates[mode]:7.0f} img/s{ratio}", flush=True)


if __name__ == "__main__":
    main()
