"""Where a training step's CPU time goes: torch.profiler over a few steps, ops grouped by kind.

    python benchmarks/profile_step.py                          # sequential, the precision photoz picks here
    python benchmarks/profile_step.py --model efficientnet --precision fp32 --steps 2

A step is what photoz.train does per batch: forward under the runtime's autocast, head loss,
backward, AdamW, on random stamps in channels_last. Prints the share of self CPU time of
convolutions (forward + backward), batch norm, activations, pooling, the optimizer and the rest,
then the ten most expensive ops with their input shapes. Not a test.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

import torch
from models_speed import SCHEMAS, training_step
from torch.profiler import profile

from photoz.training.runtime import hardware_bf16

KINDS = {  # substring of the aten op name -> kind; first match wins
    "conv": "convolution", "batch_norm": "batch norm", "clamp_min": "activation", "threshold": "activation",
    "relu": "activation", "silu": "activation", "sigmoid": "activation", "pool": "pooling", "fill_": "pooling (grad zero-fill)",
    "adamw": "optimizer", "_foreach": "optimizer",
}


def kind(name: str) -> str:
    low = name.lower()
    return next((k for sub, k in KINDS.items() if sub in low), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sequential", choices=list(SCHEMAS))
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    bf16 = args.precision == "bf16" or (args.precision == "auto" and hardware_bf16(torch.device("cpu")))
    _, step = training_step(args.model, args.batch, 6, args.size, channels_last=True, bf16=bf16)
    for _ in range(2):
        step()
    with profile(record_shapes=True) as prof:
        for _ in range(args.steps):
            step()
    events = [e for e in prof.key_averages(group_by_input_shape=True) if e.key.startswith("aten::") or "Optimizer" in e.key]
    shares: dict[str, float] = defaultdict(float)
    for e in events:
        if not e.key.startswith("Optimizer"):  # the optimizer's own aten ops are counted below it
            shares[kind(e.key)] += e.self_cpu_time_total
    total = sum(shares.values())
    print(f"{args.model}, {'bf16 autocast' if bf16 else 'fp32'} channels_last, batch {args.batch} of 6×{args.size}², "
          f"{args.steps} steps, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}: "
          f"{total / args.steps / 1e3:.0f} ms of op time per step")
    for k, t in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {k:26s} {100 * t / total:5.1f} %")
    print("most expensive ops (self CPU per step):")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]:
        print(f"  {e.self_cpu_time_total / args.steps / 1e3:7.1f} ms  {e.key:40s} {str(e.input_shapes)[:90]}")


if __name__ == "__main__":
    main()
