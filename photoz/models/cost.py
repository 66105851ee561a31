"""Inference cost of a network: FLOPs per galaxy, counted by torch's own flop counter.

torch.utils.flop_counter.FlopCounterMode counts 2 FLOPs per multiply-accumulate of the matrix
products and convolutions a forward pass dispatches (conv, linear, matmul, attention); it
ignores elementwise work (BatchNorm, activations, pooling, the arcsinh normalisation), which is
a few per cent of a CNN's total. photoz.train logs the count as `flops_per_galaxy`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def flops_per_galaxy(net: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one eval-mode forward pass of `net` on `inputs`, divided by their batch size."""
    was_training = net.training
    net.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            net(*inputs)
    finally:
        net.train(was_training)
    return counter.get_total_flops() // len(inputs[0])
