"""Where ONNX Runtime spends a prediction's time, fp32 against int8, per operator type (not a test).

    python benchmarks/profile_predict.py                      # sequential and googlenet, 1 thread
    python benchmarks/profile_predict.py --models googlenet --batches 20

Builds each network untrained on synthetic 6x32x32 stamps (benchmarks/throughput.py's make_data),
exports the fast path's rewritten network (photoz/inference/rewrite.py) and its int8 quantisation
(photoz/inference/quantize.py), runs `--batches` batches of 256 normalised stamps through each with
ONNX Runtime's profiler on one thread, and prints the share of kernel time per operator type and
the total kernel time per galaxy.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from throughput import cpu_model, make_data

from photoz.config import compose, to_typed
from photoz.estimators.cnn import CNNEstimator
from photoz.inference.export import export_onnx, ort_session
from photoz.inference.quantize import calibration_rows, quantize
from photoz.inference.rewrite import inference_net, normalise_stamps, split_normalise
from photoz.inference.stream import read_rows
from photoz.training.runtime import Runtime


def profile(model: bytes, x: np.ndarray, batches: int, workdir: Path) -> tuple[dict[str, float], float]:
    """({op type: share of kernel time}, kernel µs per galaxy) over `batches` runs of x."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(workdir / "ort")
    session = ort_session(model, options)
    session.run(None, {"x": x})  # warm-up, also profiled: dropped below by counting only the last runs
    for _ in range(batches):
        session.run(None, {"x": x})
    events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in events if e.get("name") == "model_run"]
    start = runs[1]["ts"] if len(runs) > 1 else 0
    total: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            total[e["args"]["op_name"]] += e["dur"]
    kernel = sum(total.values())
    return {op: t / kernel for op, t in total.most_common()}, kernel / (batches * len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sequential", "googlenet"])
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CPU {cpu_model()}; onnxruntime {ort.__version__}, 1 thread, batches of 256")
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp) / "stamps", 1024, 32)
        for name in args.models:
            cfg = to_typed(compose(f"model={name}", "trainer.device=cpu", "trainer.num_threads=1"))
            est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer)
            est.net = est.build_net(data, data.split_index("train"))
            scale, inner = split_normalise(est.net)
            x = normalise_stamps(read_rows(data.images, np.arange(256)), scale)
            example = torch.from_numpy(x[:2])
            fp32 = export_onnx(inference_net(inner, Runtime(torch.device("cpu"), False, False), example), example)
            int8 = quantize(est.net, read_rows(data.images, calibration_rows(data.split_index("train"))), {}).onnx
            for precision, model in (("fp32", fp32), ("int8", int8)):
                shares, per_galaxy = profile(model, x, args.batches, Path(tmp))
                top = "  ".join(f"{op} {share:.0%}" for op, share in list(shares.items())[:8])
                print(f"{name} {precision}: {per_galaxy:.0f} µs kernel time per galaxy; {top}")


if __name__ == "__main__":
    main()
