"""int8 CPU inference: a CNN statically quantised by ONNX Runtime (the `onnx` extra).

`quantize(net, stamps, calibration)` takes the fast path's network (photoz.inference.rewrite:
batch norm folded, pools as depthwise convolutions, the arcsinh normalisation outside), exports
it to ONNX and quantises it in QDQ format: int8 weights per output channel, uint8 activations whose
ranges are the minimum and maximum seen on `stamps` (CALIBRATION_STAMPS train-split stamps,
normalised). The input normalisation stays in fp32 numpy, the first layer (which reads the
stamps) and the last (which writes the logits, whose fine differences make the PDF) in fp32 ONNX.
ONNX Runtime then runs integer convolution kernels (AVX512-VNNI / AVX2 integer dot products).

The quantised model lives in memory for one prediction run (quantising takes seconds); it is not
logged with the run.

It refuses a data set whose bands or stamp size differ from those it was calibrated for, in one line.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from photoz.errors import ConfigError, DataError, PhotozError
from photoz.inference.export import export_onnx, ort_runner
from photoz.inference.fast import Batched
from photoz.inference.rewrite import inference_net, normalise_stamps, split_normalise
from photoz.training.runtime import Runtime

CALIBRATION_STAMPS = 512  # train-split stamps whose activation ranges set the int8 scales
BACKEND = "onnxruntime-int8"
MONOTONE_OPS = ("Relu", "MaxPool")  # ops that commute with quantisation: run in fp32 behind the fp32 first layer


@dataclass(frozen=True)
class Int8Model:
    """A quantised network (ONNX bytes) and what it was calibrated for."""

    onnx: bytes
    bands: tuple[str, ...]
    stamp: tuple[int, int]
    scale: tuple[float, ...]  # the per-band arcsinh normalisation applied before the network
    calibration: dict[str, Any] = field(default_factory=dict)

    def check(self, bands: list[str] | tuple[str, ...], stamp: tuple[int, ...], where: str) -> None:
        """DataError (one line) unless `bands` and `stamp` are those it was calibrated for."""
        if tuple(bands) != self.bands or tuple(stamp) != self.stamp:
            raise DataError(
                f"{where} has bands {''.join(bands)} and {'x'.join(map(str, stamp))} stamps but the int8 model was calibrated "
                f"for bands {''.join(self.bands)} and {'x'.join(map(str, self.stamp))} stamps; give input= a data set with those"
            )

    def predictor(self) -> Batched:
        """Its logits for raw images, in measured batches, by ONNX Runtime on CPU."""
        return Batched(ort_runner(self.onnx), BACKEND, np.asarray(self.scale, np.float32))


def calibration_rows(train: np.ndarray, n: int = CALIBRATION_STAMPS) -> np.ndarray:
    """n train rows spread evenly over the split (all of them if fewer), ascending."""
    train = np.sort(np.asarray(train))
    if len(train) == 0:
        raise ConfigError("int8 calibration needs train-split stamps, and this data set has no train split")
    return train[np.unique(np.linspace(0, len(train) - 1, min(n, len(train))).astype(int))]


class _Reader:
    """ONNX Runtime's calibration data reader over normalised stamps, 64 at a time."""

    def __init__(self, stamps: np.ndarray) -> None:
        self.batches = iter([{"x": stamps[i : i + 64]} for i in range(0, len(stamps), 64)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def fp32_layers(model: bytes) -> list[str]:
    """The nodes kept in fp32: the one that reads the stamps, the ReLU and max-pools right after it,
    and the one that writes the logits. Quantising the first layer too moved a 4-epoch default
    sequential CNN's test η by +0.14 ± 0.07 points and bias by +0.00049 (keeping it: −0.01 points,
    +0.00014; benchmarks/int8_accuracy.py). The max-pool behind it stays fp32 too: max commutes with
    the (monotonic) quantisation, so the result is the same, but ONNX Runtime runs an int8 max-pool
    there in a slow NCHW kernel, 41 % of the sequential CNN's int8 time (benchmarks/profile_predict.py),
    where its fp32 one is fused into the first layer's blocked layout."""
    import onnx

    graph = onnx.load_from_string(model).graph
    keep = [n for n in graph.node if graph.input[0].name in n.input or graph.output[0].name in n.output]
    tensors = {o for n in keep[:1] for o in n.output}
    for n in graph.node:  # the chain of ReLUs and max-pools fed by the first layer, in graph (topological) order
        if n.op_type in MONOTONE_OPS and len(n.input) == 1 and n.input[0] in tensors:
            keep.append(n)
            tensors = set(n.output)
    return [n.name for n in keep]


def quantize(net: nn.Module, stamps: np.ndarray, calibration: dict[str, Any]) -> Int8Model:
    """`net` (an images-only PhotozNet) quantised to int8, calibrated on raw `stamps` (N, C, H, W);
    `calibration` says where the stamps came from (stored in the JSON)."""
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    except ImportError:
        raise ConfigError('precision=int8 needs ONNX Runtime: pip install "photoz[onnx]"') from None
    scale, inner = split_normalise(net)
    if scale is None:
        raise ConfigError("precision=int8 takes an images-only CNN; this one also reads catalogue columns: use precision=fp32")
    x = normalise_stamps(np.array(stamps, dtype=np.float32), scale)
    example = torch.from_numpy(x[:2])
    model = export_onnx(inference_net(inner, Runtime(torch.device("cpu"), False, False), example), example)
    if model is None:
        raise PhotozError("precision=int8: the network could not be exported to ONNX (see the warning above)")
    import onnx

    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # the quantiser's advice to pre-process, on the root logger, for every model
    try:
        with tempfile.TemporaryDirectory(prefix="photoz-int8-") as tmp:
            out = Path(tmp) / "model_int8.onnx"
            quantize_static(onnx.load_from_string(model), out, _Reader(x), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=fp32_layers(model),
                            calibrate_method=CalibrationMethod.MinMax, extra_options={"ForceQuantizeNoInputCheck": True})  # fmt: skip
            quantised = out.read_bytes()
    finally:
        root.setLevel(level)
    bands, stamp = tuple(getattr(net, "bands", ())), tuple(getattr(net, "stamp", x.shape[2:]))
    return Int8Model(quantised, bands, stamp, tuple(float(s) for s in scale), {**calibration, "stamps": len(x)})
