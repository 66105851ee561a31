"""int8 CPU inference: a CNN statically quantised by ONNX Runtime (the `onnx` extra).

`quantize(net, stamps, calibration)` takes the fast path's network (photoz.inference.rewrite:
batch norm folded, pools as depthwise convolutions, the arcsinh normalisation outside), exports
it to ONNX and quantises it in QDQ format: int8 weights per output channel, uint8 activations whose
ranges are the minimum and maximum seen on `stamps` (CALIBRATION_STAMPS train-split stamps,
normalised). The input normalisation stays in fp32 numpy, the first layer (which reads the
stamps) and the last (which writes the logits, whose fine differences make the PDF) in fp32 ONNX.
ONNX Runtime then runs integer convolution kernels (AVX512-VNNI / AVX2 integer dot products).

`photoz.predict precision=int8` quantises in memory (seconds); a training run with
`trainer.log_int8=true` also logs it beside the fp32 weights (`write_int8` / `read_int8`: the ONNX
graph and a JSON of what it was calibrated for, no pickle), for the logged model's pyfunc.

It refuses a data set whose bands or stamp size differ from those it was calibrated for, in one line.
"""

from __future__ import annotations

import json
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

INT8_ONNX, INT8_JSON = "model_int8.onnx", "int8.json"  # beside the logged weights (photoz.training.model_files)
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


def write_int8(model: Int8Model, folder: Path) -> dict[str, str]:
    """Write `model` into `folder` as INT8_ONNX + INT8_JSON; {artifact name: path} for MLflow."""
    (folder / INT8_ONNX).write_bytes(model.onnx)
    meta = {"bands": list(model.bands), "stamp": list(model.stamp), "scale": list(model.scale), "calibration": model.calibration}
    (folder / INT8_JSON).write_text(json.dumps(meta, indent=1, default=str))
    return {"int8_model": str(folder / INT8_ONNX), "int8_config": str(folder / INT8_JSON)}


def read_int8(folder: Path, where: str) -> Int8Model | None:
    """The int8 model `write_int8` left in `folder` (None if there is none); DataError naming
    `where` if its JSON is not what write_int8 writes (checked before the graph is read)."""
    if not ((folder / INT8_JSON).exists() or (folder / INT8_ONNX).exists()):
        return None
    try:
        meta = json.loads((folder / INT8_JSON).read_text())
        bands, stamp, scale = meta["bands"], meta["stamp"], meta["scale"]
        if not (isinstance(bands, list) and 0 < len(bands) <= 64 and all(isinstance(b, str) and b for b in bands)):
            raise ValueError("bands is not a list of 1-64 names")
        if not (isinstance(stamp, list) and len(stamp) == 2 and all(_number(n, int) and 0 < n <= 4096 for n in stamp)):
            raise ValueError("stamp is not two sizes of 1-4096 pixels")
        if not (isinstance(scale, list) and len(scale) == len(bands) and all(_number(v) and 0 < v < np.inf for v in scale)):
            raise ValueError("scale is not one positive finite number per band")
        onnx = (folder / INT8_ONNX).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{where}: {INT8_JSON} / {INT8_ONNX} are not photoz's int8 model ({err}); retrain with trainer.log_int8=true") from None
    return Int8Model(onnx, tuple(bands), tuple(stamp), tuple(float(v) for v in scale), dict(meta.get("calibration") or {}))


def _number(value: Any, kind: type | tuple[type, ...] = (int, float)) -> bool:
    """A JSON number of `kind`; JSON's true/false are Python ints but no sizes or scales."""
    return isinstance(value, kind) and not isinstance(value, bool)


def load_int8(folder: Path, net: nn.Module, where: str) -> tuple[Int8Model | None, Batched | None]:
    """read_int8 of `folder` and its ONNX Runtime predictor, checked against `net`, the fp32
    network logged beside it: DataError (one line) if its bands or normalisation are not the
    network's (an edited int8.json would otherwise predict silently wrong values) or ONNX Runtime
    cannot load its graph."""
    model = read_int8(folder, where)
    if model is None:
        return None, None
    scale, _ = split_normalise(net)
    bands = tuple(getattr(net, "bands", ()))
    if model.bands != bands or scale is None or not np.allclose(model.scale, scale, rtol=1e-6, atol=0):
        raise DataError(
            f"{where}: {INT8_JSON} does not describe the fp32 network beside it (bands {''.join(model.bands)} vs "
            f"{''.join(bands)}, or another normalisation): the files were edited or mixed; retrain with trainer.log_int8=true"
        )
    try:
        return model, model.predictor()
    except Exception as err:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
        why = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise DataError(f"{where}: ONNX Runtime cannot load {INT8_ONNX} ({why}); retrain with trainer.log_int8=true") from None


def check_quantisable(model_cfg: Any) -> None:
    """ConfigError (one line) before a run with trainer.log_int8=true starts, if it could not log an
    int8 model: a CNN that also reads catalogue columns, or no ONNX Runtime."""
    if getattr(model_cfg, "catalog_features", None):
        raise ConfigError("trainer.log_int8=true takes an images-only CNN; this one reads model.catalog_features: drop one of them")
    from importlib.util import find_spec

    if find_spec("onnxruntime") is None or find_spec("onnx") is None:
        raise ConfigError('trainer.log_int8=true needs ONNX Runtime: pip install "photoz[onnx]"')


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
