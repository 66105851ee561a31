"""The fast inference path: a trained network's logits for many rows, by the fastest way here.

`FastPredictor(net, rt, example)` predicts with a copy of `net` rewritten for inference only
(photoz.inference.rewrite: batch norm folded into the convolutions, average pools as depthwise
convolutions, a PhotozNet's arcsinh normalisation taken out and done in numpy), run by ONNX
Runtime in fp32 on CPU when the `onnx` extra is installed (`pip install "photoz[onnx]"`) and it
measures faster than eager PyTorch on the first rows, else in eager PyTorch. On CPU the eager path
runs in fp32 too, even where training used bf16 (an AMX CPU), so which backend measures faster
under the machine's load never changes a prediction; on CUDA and MPS it uses rt's autocast.
Outputs agree with the eval-mode network to float32 rounding (tests/inference/test_inference.py:
1e-5 in z_phot for every CNN family, both backends).

`Batched` is what both this and the int8 model (photoz.inference.quantize) are: a function of
normalised images run in batches whose size is picked by measurement on the first rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from photoz.inference.export import onnx_session
from photoz.inference.rewrite import inference_net, normalise_stamps, split_normalise
from photoz.training.runtime import Runtime

log = logging.getLogger(__name__)

BATCH_CANDIDATES = (64, 256, 1024)  # tried once each, in order, on the first rows predicted


Take = Callable[[int, int], torch.Tensor]  # (start, stop) -> the images of rows start..stop-1
Run = Callable[[torch.Tensor], torch.Tensor]  # normalised images -> logits


class Batched:
    """`run` (normalised images -> logits) applied to many rows in batches whose size is measured:
    until it is picked, each full batch tries the next of BATCH_CANDIDATES on real rows (its output
    kept) and the fastest is used from then on. `scale`: the per-band arcsinh normalisation taken
    out of the network (None: `run` takes raw images); `backend` names what `run` is."""

    def __init__(self, run: Run, backend: str, scale: np.ndarray | None = None) -> None:
        self._run, self.backend, self.scale = run, backend, scale
        self.batch_size: int | None = None  # picked by outputs()
        self._rates: dict[int, float] = {}  # images/s measured per candidate batch size

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """What `run` takes, from raw float32 (N, C, H, W) images: x itself, changed in place."""
        return normalise_stamps(x, self.scale)

    def _normalised(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is None:
            return x
        if x.device.type == "cpu":
            return torch.from_numpy(self.normalise(x.numpy().copy()))
        return torch.asinh(x / torch.as_tensor(self.scale, device=x.device).view(1, -1, 1, 1))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_out), float32, of raw images x (on x's device)."""
        return self._run(self._normalised(x))

    def _before(self, images_of: Take, n: int) -> None:
        """Called once per call of _batches before its first batch (a warm-up here)."""
        self._run(images_of(0, min(2, n)))  # first-run allocations

    def outputs(self, take: Take, n: int) -> np.ndarray:
        """Logits of rows 0..n-1 as float32 numpy, `take(start, stop)` giving their raw images."""
        return self._batches(lambda a, b: self._normalised(take(a, b)), n).cpu().numpy()

    def _batches(self, images_of: Take, n: int) -> torch.Tensor:
        """Logits of rows 0..n-1, `images_of(start, stop)` giving the normalised images of a batch."""
        self._before(images_of, n)
        outs, start = [], 0
        while start < n:
            trial = self.batch_size is None
            size = BATCH_CANDIDATES[len(self._rates)] if trial else self.batch_size
            stop = min(start + size, n)
            t0 = time.perf_counter()
            outs.append(self._run(images_of(start, stop)))
            if trial and stop - start == size:
                self._rates[size] = size / (time.perf_counter() - t0)
                if len(self._rates) == len(BATCH_CANDIDATES):
                    self.batch_size = max(self._rates, key=self._rates.get)
                    log.info("inference batch size %d (images/s by size: %s)", self.batch_size, self._rates)
            start = stop
        return torch.cat(outs)

    def logits(self, x: np.ndarray) -> torch.Tensor:
        """Logits of (N, C, H, W) float32 images already normalised (`normalise`), in batches of
        the measured size, where the network ran (on a GPU: not waited for, so the caller's next
        batch can be queued)."""
        images = torch.from_numpy(x)
        return self._batches(lambda a, b: images[a:b], len(images))

    def prepare(self, sample: np.ndarray) -> None:
        """Decide what outputs() decides on its first rows (the backend, the batch size) on raw
        `sample` images, outputs dropped: start-up work, off a prediction loop's clock. `sample`:
        ideally at least sum(BATCH_CANDIDATES) rows. Nothing to do once the batch size is picked."""
        if self.batch_size is None:
            self.logits(self.normalise(np.array(sample, dtype=np.float32)))


class FastPredictor(Batched):
    """Logits of a trained network by the fastest path available here (`backend`)."""

    def __init__(self, net: nn.Module, rt: Runtime, example: torch.Tensor, backend: str = "auto") -> None:
        self.rt = rt
        scale, inner = split_normalise(net)
        example = torch.from_numpy(normalise_stamps(example.detach().cpu().numpy().copy(), scale))
        self.net = inference_net(inner, rt, example)
        run = None
        if backend in ("auto", "onnxruntime") and rt.device.type == "cpu":  # fp32, also where rt.bf16
            run = onnx_session(self.net, example)
        super().__init__(run or self._eager, "onnxruntime" if run is not None else "torch", scale)
        self._undecided = backend == "auto" and run is not None  # the first rows time both

    def _choose_backend(self, x: torch.Tensor) -> None:
        """Keep whichever of ONNX Runtime and eager PyTorch is faster on normalised x (warm-up, then timed)."""
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
        x = x.to(self.rt.device, non_blocking=True)
        if self.rt.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.rt.bf16 and x.device.type != "cpu"):
            return self.net(x).float()  # CPU: fp32 like ONNX Runtime, whichever backend is kept

    def _before(self, images_of: Take, n: int) -> None:
        if self._undecided:
            self._choose_backend(images_of(0, min(BATCH_CANDIDATES[1], n)))
        super()._before(images_of, n)
