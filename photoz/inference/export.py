"""A network as an ONNX model, and ONNX Runtime sessions of one (the `onnx` extra:
`pip install "photoz[onnx]"`).

The exported graph has one input "x" and one output "logits", both with a dynamic batch axis.
The TorchScript exporter shares equal constants between layers through Identity nodes (a trained
network rarely has two equal bias vectors, but a freshly built one does); each such Identity is
replaced by its own copy of the constant, so every convolution's bias is an initializer, which
ONNX Runtime's quantiser needs to quantise it (photoz.inference.quantize).
"""

from __future__ import annotations

import copy
import io
import logging
import warnings
from collections.abc import Callable
from typing import Any
from importlib.util import find_spec

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


def own_constants(model: bytes) -> bytes:
    """`model` with each Identity of an initializer replaced by a copy of that initializer."""
    import onnx

    proto = onnx.load_from_string(model)
    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    for node in [n for n in graph.node if n.op_type == "Identity" and n.input[0] in initializers]:
        copied = onnx.TensorProto()
        copied.CopyFrom(initializers[node.input[0]])
        copied.name = node.output[0]
        graph.initializer.append(copied)
        graph.node.remove(node)
    return proto.SerializeToString()


def export_onnx(net: nn.Module, example: torch.Tensor) -> bytes | None:
    """`net` (eval, CPU, fp32) as an ONNX model; None if the export fails (logged)."""
    # the TorchScript exporter has no symbolic for asinh (a network that normalises inside); ONNX has the op
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
    return own_constants(buffer.getvalue()) if find_spec("onnx") else buffer.getvalue()


def ort_session(model: bytes, options: Any) -> Any:
    """An ONNX Runtime CPU session of `model` with `options` (an onnxruntime.SessionOptions). Its
    QDQ propagation is off: it would move the int8 model's first quantisation above the fp32
    max-pool that photoz.inference.quantize keeps beside the fp32 first layer, back into ONNX
    Runtime's slow NCHW uint8 max-pool (no effect on fp32 models)."""
    import onnxruntime as ort

    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"], disabled_optimizers=["QDQPropagationTransformer"])


def ort_runner(model: bytes) -> Callable[[torch.Tensor], torch.Tensor]:
    """An ONNX Runtime CPU session of `model` with torch's thread count, as a tensor -> tensor
    function. Its threads sleep between runs instead of spinning, so the reading and summarising
    threads (photoz.inference.stream) get the cores in between and CPU time measures work."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort_session(model, options)

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {"x": np.ascontiguousarray(x.numpy(), dtype=np.float32)})[0])

    return run


def onnx_session(net: nn.Module, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """`net` (eval, CPU, fp32) exported to ONNX and run by ONNX Runtime, as a tensor -> tensor
    function; None if onnxruntime is missing or the export fails."""
    if find_spec("onnxruntime") is None:
        return None
    model = export_onnx(net, example)
    return None if model is None else ort_runner(model)
