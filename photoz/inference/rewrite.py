"""A trained network rewritten for prediction only: same outputs to float32 rounding, fewer and
faster operations. The network that is trained, checkpointed and logged is never touched.

- `fold_batch_norm`: each BatchNorm2d after a Conv2d in an nn.Sequential (photoz's ConvBlock) is
  folded into the convolution: for y = γ (conv(x) − μ)/√(σ² + ε) + β, W' = W·γ/√(σ² + ε) and
  b' = (b − μ)·γ/√(σ² + ε) + β (exact algebra on the running statistics).
- `pools_as_convs`: average pools (googlenet's stride-1 SamePool and its 2×2 AvgPool2d) become
  depthwise convolutions with constant weights, times a constant map of k²/count where a SamePool
  window crosses the border. ONNX Runtime's AveragePool took 40 % of googlenet's fp32 time and its
  int8 QLinearAveragePool 44 % (profiled on an AMD EPYC, 1 thread); its depthwise convolutions are
  fast kernels in fp32 and int8.
- `split_normalise`: a PhotozNet's arcsinh(flux / scale) comes out of the network: ONNX Runtime's
  Asinh is a scalar loop (30 % of the sequential CNN's fp32 time, 51 % in int8), numpy's
  np.arcsinh is vectorised (about 12 µs per 6×32×32 galaxy) and runs in the reading thread
  (photoz.inference.stream), off the network's critical path.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photoz.models.layers import SamePool
from photoz.training.normalise import ArcsinhNormalise
from photoz.training.runtime import Runtime


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A Conv2d equal to bn(conv(x)) with bn in eval mode (its running statistics)."""
    fused = copy.deepcopy(conv)
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(bn.running_mean)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.weight = nn.Parameter(conv.weight.detach() * scale.view(-1, 1, 1, 1), requires_grad=False)
    fused.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)
    return fused


def fold_batch_norm(net: nn.Module) -> int:
    """Fold, in place, each BatchNorm2d that directly follows a Conv2d in an nn.Sequential;
    returns how many were folded. Call on an eval-mode copy: the result cannot be trained."""
    folded = 0
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for a, b in itertools.pairwise(names):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                module._modules[a], module._modules[b] = fold_conv_bn(conv, bn), nn.Identity()
                folded += 1
    return folded


class DepthwisePool(nn.Module):
    """An average pool as a depthwise convolution with weights 1/k², cropped to the first row and
    column dropped (`crop`, SamePool's even k) and times `border` (k²/count per pixel) where given."""

    def __init__(self, kernel: int, stride: int, padding: int, channels: int, border: torch.Tensor | None, crop: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel, stride, padding, groups=channels, bias=False)
        self.conv.weight.data.fill_(1.0 / kernel**2)
        self.conv.weight.requires_grad_(False)
        self.crop = crop
        self.register_buffer("border", border)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y = y[..., 1:, 1:] if self.crop else y
        return y if self.border is None else y * self.border

    @classmethod
    def of(cls, pool: nn.Module, shape: torch.Size) -> DepthwisePool | None:
        """The equivalent of `pool` (a SamePool, or an AvgPool2d with stride = kernel and no
        padding) for inputs of `shape`; None for any other pool."""
        if isinstance(pool, SamePool):
            k, size = pool.kernel, shape[-2:]
            full = F.avg_pool2d(torch.ones(1, 1, *size), k, 1, k // 2, count_include_pad=True)
            real = F.avg_pool2d(torch.ones(1, 1, *size), k, 1, k // 2, count_include_pad=False)
            crop = k % 2 == 0
            border = real / full  # = k²/count: 1 inside, more where the window crosses the border
            return cls(k, 1, k // 2, shape[1], border[..., 1:, 1:] if crop else border, crop)
        if isinstance(pool, nn.AvgPool2d):
            k, s, p = (pool.kernel_size, pool.stride, pool.padding)
            if isinstance(k, int) and k == s and p == 0 and not pool.ceil_mode and pool.divisor_override is None:
                return cls(k, k, 0, shape[1], None, False)
        return None


def pools_as_convs(net: nn.Module, example: torch.Tensor) -> int:
    """Replace, in place, each average pool DepthwisePool.of can express (input shapes from one
    forward pass on `example`); returns how many were replaced."""
    shapes: dict[nn.Module, torch.Size] = {}
    pools = [m for m in net.modules() if isinstance(m, (SamePool, nn.AvgPool2d))]

    def record(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        shapes.setdefault(module, args[0].shape)

    hooks = [m.register_forward_pre_hook(record) for m in pools]
    with torch.no_grad():
        net(example)
    for hook in hooks:
        hook.remove()
    replaced = 0
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            conv = DepthwisePool.of(child, shapes[child]) if child in shapes else None
            if conv is not None:
                setattr(module, name, conv.to(example.device))
                replaced += 1
    return replaced


def split_normalise(net: nn.Module) -> tuple[np.ndarray | None, nn.Module]:
    """(per-band scale, the network after its normalisation) for an images-only PhotozNet, so that
    arcsinh(x / scale) can be computed outside it; (None, net) for any other network."""
    normalise = getattr(net, "normalise", None)
    if isinstance(normalise, ArcsinhNormalise) and getattr(net, "catalog", None) is None and hasattr(net, "backbone"):
        return normalise.scale.detach().cpu().view(-1).numpy().copy(), net.backbone
    return None, net


def normalise_stamps(x: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """arcsinh(x / scale) per band, in place on a float32 (N, C, H, W) array (x if scale is None)."""
    if scale is not None:
        np.divide(x, scale.reshape(1, -1, 1, 1).astype(np.float32), out=x)
        np.arcsinh(x, out=x)
    return x


def inference_net(net: nn.Module, rt: Runtime, example: torch.Tensor | None = None) -> nn.Module:
    """An eval-mode copy of `net` on rt.device with batch norm folded, average pools as depthwise
    convolutions (given an `example` input), channels_last where it helps."""
    fast = copy.deepcopy(net).eval().to(rt.device)
    for p in fast.parameters():
        p.requires_grad_(False)
    fold_batch_norm(fast)
    if example is not None:
        pools_as_convs(fast, example.to(rt.device))
    if rt.channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast
