"""The fast inference path (photoz.inference.fast): same predictions as the training-time network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tinydata import make_tiny_dataset
from torch import nn

from photoz.config import compose, to_typed
from photoz.inference.fast import BATCH_CANDIDATES, FastPredictor
from photoz.inference.rewrite import fold_batch_norm, inference_net
from photoz.models.build import head_predict
from photoz.training.batches import BatchSource
from photoz.estimators.cnn import CNNEstimator
from photoz.training.loop import predict_outputs
from photoz.training.runtime import Runtime

FAMILIES = {
    "sequential": ("model=sequential", "model.depth=2", "model.width=8"),
    "googlenet": ("model=googlenet", "model.depth=2", "model.width=8"),
    "googlenet_pasquet": ("model=googlenet_pasquet", "model.depth=2", "model.modules=[[8,8],[8,8]]"),  # no BatchNorm, PReLU
}


def trained_like(name: str, data) -> CNNEstimator:
    """A tiny random net whose BatchNorms hold non-trivial statistics and affine parameters."""
    cfg = to_typed(compose(*FAMILIES[name], "trainer.device=cpu", "trainer.num_threads=1", "trainer.precision=fp32"))
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer)
    est.net = est.build_net(data, data.split_index("train"))
    gen = torch.Generator().manual_seed(1)
    for m in est.net.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.running_mean, m.weight, m.bias):
                t.data = torch.randn(t.shape, generator=gen) * 0.5
            m.running_var.data = torch.rand(m.running_var.shape, generator=gen) + 0.5
    return est


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_fast_path_predicts_what_the_training_time_network_predicts(tmp_path: Path, name: str, backend: str) -> None:
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    data = make_tiny_dataset(tmp_path / "d", n=40)
    est = trained_like(name, data)
    rt, index = est.runtime(), np.arange(len(data))
    source = BatchSource(data.images, index, np.zeros(len(index)), rt.device, 1.0)
    reference = predict_outputs(est.net, source, rt, 16)  # the eval-mode network training validates with
    fast = FastPredictor(est.net, rt, source.take(torch.arange(2))[0], backend)
    assert fast.backend == backend
    logits = fast.outputs(lambda a, b: source.take(torch.arange(a, b))[0], len(source))
    cfg = est.net.model_cfg
    np.testing.assert_allclose(head_predict(torch.from_numpy(logits), cfg)[0], head_predict(torch.from_numpy(reference), cfg)[0], atol=1e-5)
    np.testing.assert_allclose(logits, reference, atol=1e-4)
    pred = est.predict(data, index)  # the estimator's own predict goes the fast way too
    np.testing.assert_allclose(pred.z_phot, head_predict(torch.from_numpy(reference), cfg)[0], atol=1e-5)


def test_folding_removes_every_conv_batch_norm_and_leaves_the_original_alone(tmp_path: Path) -> None:
    est = trained_like("googlenet", make_tiny_dataset(tmp_path / "d", n=40))
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in est.net.modules())
    fast = inference_net(est.net, est.runtime())
    assert n_bn > 0 and not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in est.net.modules()) == n_bn
    assert all(p.requires_grad for p in est.net.parameters())
    assert fold_batch_norm(fast) == 0  # nothing left to fold


def test_batch_size_is_the_fastest_measured_and_rows_stay_in_order() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 3))
    fast = FastPredictor(net, Runtime(torch.device("cpu"), bf16=False, channels_last=False), torch.zeros(2, 6), "torch")
    x = torch.randn(sum(BATCH_CANDIDATES) + 10, 6, generator=torch.Generator().manual_seed(0))
    out = fast.outputs(lambda a, b: x[a:b], len(x))
    assert fast.batch_size in BATCH_CANDIDATES
    assert fast.batch_size == max(fast._rates, key=fast._rates.get) and set(fast._rates) == set(BATCH_CANDIDATES)
    with torch.no_grad():
        np.testing.assert_allclose(out, net(x).numpy(), atol=1e-6)


def test_both_cpu_backends_give_the_same_logits_under_a_bf16_runtime(tmp_path: Path) -> None:
    """Where training runs in bf16 (trainer.precision=bf16, or auto on an AMX CPU), the backend that
    measures faster must not change a prediction: ONNX Runtime is fp32, so eager is too on CPU."""
    pytest.importorskip("onnxruntime")
    data = make_tiny_dataset(tmp_path / "d", n=40)
    est = trained_like("sequential", data)
    rt = Runtime(torch.device("cpu"), bf16=True, channels_last=True)
    source = BatchSource(data.images, np.arange(40), np.zeros(40), rt.device, 1.0)
    example = source.take(torch.arange(2))[0]
    outs = [FastPredictor(est.net, rt, example, b).outputs(lambda a, b: source.take(torch.arange(a, b))[0], 40) for b in ("onnxruntime", "torch")]
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-4)


def test_auto_keeps_the_backend_it_measured_faster(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    data = make_tiny_dataset(tmp_path / "d", n=40)
    est = trained_like("sequential", data)
    rt = est.runtime()
    source = BatchSource(data.images, np.arange(40), np.zeros(40), rt.device, 1.0)
    fast = FastPredictor(est.net, rt, source.take(torch.arange(2))[0])
    logits = fast.outputs(lambda a, b: source.take(torch.arange(a, b))[0], len(source))
    assert fast.backend in ("onnxruntime", "torch") and not fast._undecided
    np.testing.assert_allclose(logits, predict_outputs(est.net, source, rt, 16), atol=1e-4)
