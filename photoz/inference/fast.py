"""The fast inference path: a trained network rewritten for prediction only.

`inference_net(net, rt)` returns a copy of `net` (any nn.Module, however it was loaded) in eval
mode with every BatchNorm2d that follows a Conv2d inside an nn.Sequential (photoz's ConvBlock)
folded into that convolution's weights and bias, in channels_last on CPU and CUDA. The original
network is not touched, so training, checkpoints and the logged model keep their BatchNorm.

Folding is exact algebra on the running statistics: for y = γ (conv(x) − μ)/√(σ² + ε) + β,
W' = W·γ/√(σ² + ε) and b' = (b − μ)·γ/√(σ² + ε) + β; outputs agree with the eval-mode network to
float32 rounding (tests/test_inference.py checks 1e-5 in z_phot for both CNN families).

`FastPredictor(net, rt)` runs that copy through ONNX Runtime in fp32 on CPU when the `onnx` extra
is installed (`pip install "photoz[onnx]"`) and it measures faster than eager PyTorch on the
first rows (sequential: 2.2-3.9x the eager network; googlenet: 0.9-2.5x, depending on the load;
torch.compile 1.6x after a ~2 min compile; docs/performance.md), else in eager PyTorch. On CPU the
eager path runs in fp32 too, even where training used bf16 (an AMX CPU), so which backend measures
faster under the machine's load never changes a prediction; on CUDA and MPS it uses rt's autocast.
Its batch size is picked by measurement on the first rows it predicts.
"""

from __future__ import annotations

import copy
import io
import itertools
import logging
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from photoz.training.runtime import Runtime

log = logging.getLogger(__name__)

BATCH_CANDIDATES = (64, 256, 1024)  # tried once each, in order, on the first rows predicted


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


def inference_net(net: nn.Module, rt: Runtime) -> nn.Module:
    """An eval-mode copy of `net` on rt.device with batch norm folded, channels_last where it helps."""
    fast = copy.deepcopy(net).eval().to(rt.device)
    for p in fast.parameters():
        p.requires_grad_(False)
    fold_batch_norm(fast)
    if rt.channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast


def onnx_session(net: nn.Module, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """`net` (eval, CPU, fp32) exported to ONNX and loaded in an ONNX Runtime session with torch's
    thread count, as a tensor -> tensor function; None if onnxruntime is missing or export fails."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    # the TorchScript exporter has no symbolic for asinh (ArcsinhNormalise); ONNX has the op
    torch.onnx.register_custom_op_symbolic("aten::asinh", lambda g, x: g.op("Asinh", x), 9)
    buffer = io.BytesIO()
    plain = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(plain, (example[:2].contiguous(),), buffer, input_names=["x"], output_names=["logits"],
                              dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)  # fmt: skip
    except Exception as err:  # noqa: BLE001 - the exporter raises many kinds; eager still works
        log.warning("ONNX export failed (%s); predicting in eager PyTorch", err)
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {"x": np.ascontiguousarray(x.numpy(), dtype=np.float32)})[0])

    return run


class FastPredictor:
    """Logits of a trained network by the fastest path available here (`backend`)."""

    def __init__(self, net: nn.Module, rt: Runtime, example: torch.Tensor, backend: str = "auto") -> None:
        self.rt, self.batch_size = rt, None  # batch_size: picked by outputs()
        self._rates: dict[int, float] = {}  # images/s measured per candidate batch size
        self.net = inference_net(net, rt)
        run = None
        if backend in ("auto", "onnxruntime") and rt.device.type == "cpu":  # fp32, also where rt.bf16
            run = onnx_session(self.net, example)
        self.backend = "onnxruntime" if run is not None else "torch"
        self._run = run or self._eager
        self._undecided = backend == "auto" and run is not None  # outputs() times both first

    def _choose_backend(self, x: torch.Tensor) -> None:
        """Keep whichever of ONNX Runtime and eager PyTorch is faster on x (warm-up, then timed)."""
        rates = {}
        for name, run in (("onnxruntime", self._run), ("torch", self._eager)):
            run(x)
            t0 = time.perf_counter()
            run(x)
            rates[name] = len(x) / (time.perf_counter() - t0)
        self.backend = max(rates, key=rates.get)
        self._run = self._run if self.backend == "onnxruntime" else self._eager
        self._undecided = False
        log.info("inference backend %s (images/s: %s)", self.backend, rates)

    @torch.inference_mode()
    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        if self.rt.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.rt.bf16 and x.device.type != "cpu"):
            return self.net(x).float()  # CPU: fp32 like ONNX Runtime, whichever backend is kept

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_out), float32, on x's device."""
        return self._run(x)

    def outputs(self, take: Callable[[torch.Tensor], torch.Tensor], n: int) -> np.ndarray:
        """Logits of rows 0..n-1 as float32 numpy, `take(positions)` giving their images. Until the
        batch size is picked, each full batch tries the next of BATCH_CANDIDATES on real rows
        (its output kept) and the fastest is used from then on."""
        if self._undecided:
            self._choose_backend(take(torch.arange(min(BATCH_CANDIDATES[1], n))))
        self(take(torch.arange(min(2, n))))  # warm-up: first-run allocations
        outs, start = [], 0
        while start < n:
            trial = self.batch_size is None
            size = BATCH_CANDIDATES[len(self._rates)] if trial else self.batch_size
            stop = min(start + size, n)
            t0 = time.perf_counter()
            outs.append(self(take(torch.arange(start, stop))))
            if trial and stop - start == size:
                self._rates[size] = size / (time.perf_counter() - t0)
                if len(self._rates) == len(BATCH_CANDIDATES):
                    self.batch_size = max(self._rates, key=self._rates.get)
                    log.info("inference batch size %d (images/s by size: %s)", self.batch_size, self._rates)
            start = stop
        return torch.cat(outs).cpu().numpy()
