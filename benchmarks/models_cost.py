"""Trainable parameters and inference FLOPs per galaxy of every CNN at its conf/model defaults.

    python benchmarks/models_cost.py                               # 6 bands, 32×32 stamps
    python benchmarks/models_cost.py --size 64 --bands 5 --catalog-features photometry
    python benchmarks/models_cost.py --models timm --overrides model.arch=resnet18   # needs [timm]

FLOPs as photoz.train logs them (photoz.models.cost: torch's flop counter, 2 per multiply-
accumulate of convs and matrix products). Counted, not timed: the same on any machine. Not a test.
"""

from __future__ import annotations

import argparse

import torch

from photoz.config import compose, to_typed
from photoz.models.build import build_model, n_trainable_params
from photoz.models.catalog import n_catalog_features
from photoz.models.cost import flops_per_galaxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sequential", "googlenet", "resnet", "efficientnet"])
    parser.add_argument("--bands", type=int, default=6)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--catalog-features", nargs="*", default=[], help="e.g. photometry ebv")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides for every model")
    args = parser.parse_args()
    features = f"model.catalog_features=[{','.join(args.catalog_features)}]"
    print(f"{'model':14s} {'params':>12s} {'MFLOP/galaxy':>13s}   ({args.bands}×{args.size}×{args.size}, {features})")
    for name in args.models:
        cfg = to_typed(compose(f"model={name}", features, *args.overrides)).model
        net = build_model(cfg, args.bands, args.size)
        inputs = [torch.zeros(1, args.bands, args.size, args.size)]
        if args.catalog_features:
            inputs.append(torch.zeros(1, n_catalog_features(cfg, args.bands)))
        print(f"{name:14s} {n_trainable_params(net):>12,d} {flops_per_galaxy(net, *inputs) / 1e6:>13.1f}")


if __name__ == "__main__":
    main()
