"""photoz.predict's loop against its network, fp32 and int8, in one process (used by throughput.py).

Four sides per model, alternating for `rounds` rounds after one warm-up each, median reported:

    network fp32   the fast path's network alone (FastPredictor.logits) on stamps already read
                   and normalised: what the loop would reach if nothing else cost time
    predict fp32   photoz.predict's loop in-process (photoz.predict.predict_dataset): reading the
                   memmap, normalising, the network, the head's z_phot/z_err/PDF, writing FITS
    network int8 / predict int8   the same with the network quantised (photoz.inference.quantize,
                   calibrated on the data set's train split)

Each side reports galaxies/s over wall time and galaxies per CPU-second of the whole process (all
its threads: ONNX Runtime's do not spin, so CPU time is work), the figure per core that does not
depend on what else the machine runs. Start-up (the ONNX export, quantisation, the backend and
batch-size trials) happens before the rounds and is timed apart.
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from photoz.data import Dataset
from photoz.estimators.cnn import CNNEstimator
from photoz.inference.fast import FastPredictor
from photoz.inference.stream import read_rows
from photoz.predict import predict_dataset


def _timed(fn: Callable[[], int]) -> tuple[float, float]:
    """(items/s over wall time, items per CPU-second of this process) of one call of fn."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = fn()
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def _sides(est: CNNEstimator, data: Dataset, out: Path, tag: str) -> dict[str, Callable[[], int]]:
    index = np.arange(len(data))
    t0 = time.perf_counter()
    est.prepare_predict(data, index[:4096])
    print(f"    {tag} start-up (export, backend and batch-size trials): {time.perf_counter() - t0:.1f} s, backend {est._fast.backend}")
    normalised = est._fast.normalise(read_rows(data.images, index))

    def network() -> int:
        return len(est._fast.logits(normalised))

    def loop() -> int:
        with contextlib.redirect_stderr(io.StringIO()):  # predict's progress bar, once per round
            predict_dataset(est, data, out / f"{tag}.fits", 4096, False, {}, "fits")
        return len(data)

    sides = {f"network {tag}": network, f"predict {tag}": loop}
    if tag == "fp32" and est._fast.backend != "onnxruntime":  # int8 runs in ONNX Runtime: its fp32 too, side by side
        example = torch.from_numpy(read_rows(data.images, index[:2]))
        ort = FastPredictor(est.net, est.runtime(), example, "onnxruntime")
        ort.prepare(read_rows(data.images, index[:2048]))
        sides["network fp32-ort"] = lambda: len(ort.logits(normalised))
    return sides


def predict_rates(est: CNNEstimator, data: Dataset, rounds: int) -> dict[str, tuple[float, float]]:
    """Median (galaxies/s, galaxies per CPU-second) of each side; prints them and the ratios."""
    int8 = copy.copy(est)  # the same net; use_int8 sets the copy's own fast path
    t0 = time.perf_counter()
    int8.use_int8(data)
    print(f"    int8 quantisation (calibration on {int8.int8.calibration['stamps']} train stamps): {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        sides = {**_sides(est, data, Path(tmp), "fp32"), **_sides(int8, data, Path(tmp), "int8")}
        for fn in sides.values():
            fn()  # warm-up
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for _ in range(rounds):
            for name, fn in sides.items():
                runs[name].append(_timed(fn))
    rates = {name: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for name, v in runs.items()}
    for name, (wall, cpu) in rates.items():
        print(f"    {name:17s} {wall:8.0f} galaxies/s  {cpu:8.0f} galaxies per CPU-second")
    for precision in ("fp32", "int8"):
        net, loop = rates[f"network {precision}"], rates[f"predict {precision}"]
        print(f"    {precision}: predict's loop at {loop[0] / net[0]:.0%} of its network's galaxies/s ({loop[1] / net[1]:.0%} per CPU-second)")
    for side, fp32 in (("network", "network fp32"), ("network", "network fp32-ort"), ("predict", "predict fp32")):
        if fp32 in rates:
            a, b = rates[f"{side} int8"], rates[fp32]
            print(f"    {side} int8: {a[0] / b[0]:.2f}x {fp32} galaxies/s ({a[1] / b[1]:.2f}x per CPU-second)")
    return rates


def threads_note() -> str:
    """The thread count the sides run with (torch's, which ONNX Runtime sessions copy)."""
    return f"{torch.get_num_threads()} intra-op threads (--threads; trainer.num_threads)"
