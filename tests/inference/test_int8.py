"""int8 prediction (photoz.inference.quantize, `photoz.predict precision=int8`): close to fp32 on a
tiny trained network, and refuses stamps it was not calibrated for in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tinydata import make_tiny_dataset

from photoz.config import compose, to_typed
from photoz.errors import DataError
from photoz.estimators.cnn import CNNEstimator

pytest.importorskip("onnxruntime")

# The documented tolerance (docs/performance.md): on this network int8 moved z_phot by at most
# 0.00056 and by 0.00018 on average (measured on an AMD EPYC, onnxruntime 1.32); the bounds leave
# about 3x for other CPUs' integer kernels. A broken quantisation (a wrong scale, a dropped layer)
# moves z_phot by more than 0.01.
MAX_DZ = 0.002
MEAN_DZ = 0.0006


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[CNNEstimator, object]:
    """The smallest sequential CNN, trained two epochs on 96 tiny galaxies, on one CPU thread."""
    data = make_tiny_dataset(tmp_path_factory.mktemp("int8") / "d", n=96)
    cfg = to_typed(compose("model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=16",
                           "trainer.max_epochs=2", "trainer.device=cpu", "trainer.num_threads=1",
                           "trainer.precision=fp32", "trainer.progress=false"))  # fmt: skip
    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer)
    est.fit(data, lambda *a, **k: None)
    return est, data


def test_int8_predicts_what_fp32_predicts_within_tolerance(trained) -> None:
    est, data = trained
    index = np.arange(len(data))
    fp32 = est.predict(data, index)
    model = est.use_int8(data)
    assert est._fast.backend == "onnxruntime-int8" and model.calibration["split"] == "train"
    assert model.calibration["stamps"] == len(data.split_index("train"))
    int8 = est.predict(data, index)
    dz = np.abs(int8.z_phot - fp32.z_phot)
    assert np.isfinite(int8.z_phot).all() and np.all(int8.pdf >= 0)
    assert dz.max() <= MAX_DZ and dz.mean() <= MEAN_DZ, (dz.max(), dz.mean())
    assert not np.array_equal(int8.z_phot, fp32.z_phot)  # it really ran the quantised network
    np.testing.assert_array_equal(int8.ids, fp32.ids)


def test_int8_refuses_other_bands_or_stamp_size_in_one_line(trained, tmp_path: Path) -> None:
    est, data = trained
    est.use_int8(data)
    for other, what in ((make_tiny_dataset(tmp_path / "griz", n=8, bands=list("grizyu")), "bands ugrizy"),
                        (make_tiny_dataset(tmp_path / "s24", n=8, size=24), "16x16 stamps")):  # fmt: skip
        with pytest.raises(DataError) as err:
            est.predict(other, np.arange(len(other)))
        message = str(err.value)
        assert "\n" not in message and "int8 model was calibrated" in message and what in message
        assert "give input= a data set with those" in message


def test_the_first_max_pool_runs_in_fp32_before_the_first_quantisation(trained, tmp_path: Path) -> None:
    """Max commutes with quantisation, so the max-pool behind the fp32 first layer stays fp32 (ONNX
    Runtime's fused blocked kernel) instead of a slow uint8 NCHW one: in the model ONNX Runtime runs
    (photoz.inference.export.ort_session), the first QuantizeLinear comes after the first MaxPool."""
    import onnx
    import onnxruntime as ort

    from photoz.inference.export import ort_session

    est, data = trained
    model = est.use_int8(data)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    ort_session(model.onnx, options)
    ops = [n.op_type for n in onnx.load(tmp_path / "optimised.onnx").graph.node]
    assert "MaxPool" in ops and "QuantizeLinear" in ops, ops
    assert ops.index("MaxPool") < ops.index("QuantizeLinear"), ops


def test_a_model_logged_with_its_int8_copy_runs_it_through_the_pyfunc(trained, tmp_path: Path) -> None:
    """trainer.log_int8's files: the logged pyfunc runs the int8 graph when asked (params), fp32
    otherwise, and photoz's own loader accepts the folder (photoz.estimators.formats)."""
    import mlflow
    import torch


    est, data = trained
    int8 = est.quantised(data)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("int8")
    with mlflow.start_run() as run:
        est.log_model()
    uri = f"runs:/{run.info.run_id}/{est.model_name}"
    model = mlflow.pyfunc.load_model(uri)
    x = np.array(data.images[:8], dtype=np.float32)
    with torch.inference_mode():
        fp32 = est.net.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), fp32, rtol=1e-5, atol=1e-5)
    logits = model.predict(x, params={"precision": "int8"})
    np.testing.assert_array_equal(logits, int8.predictor()(torch.from_numpy(x)).numpy())
    assert not np.allclose(logits, fp32, atol=1e-6) and np.abs(logits - fp32).max() < 1.0
    assert CNNEstimator.load(uri).int8 is None  # the loader reads fp32 only
    with pytest.raises(Exception, match="expected fp32 or int8"):
        model.predict(x, params={"precision": "int4"})


def test_log_int8_refuses_a_cnn_that_reads_catalogue_columns_in_one_line() -> None:
    from photoz.errors import ConfigError
    from photoz.inference.quantize import check_quantisable

    cfg = to_typed(compose("model=sequential", "model.catalog_features=[photometry]", "trainer.log_int8=true"))
    with pytest.raises(ConfigError, match="trainer.log_int8=true takes an images-only CNN; this one reads model.catalog_features"):
        check_quantisable(cfg.model)
    check_quantisable(to_typed(compose("model=sequential")).model)  # images only: accepted


def test_an_edited_or_mixed_int8_copy_is_refused_in_one_line_before_it_predicts(trained, tmp_path: Path) -> None:
    """What the pyfunc loads (quantize.load_int8): an int8.json whose scale is infinite or another
    network's, whose bands are reordered or whose stamp size is `true`, or a graph ONNX Runtime
    cannot parse, is one DataError line; each of the first ones was accepted and, for the scales,
    predicted silently different logits (max |Δ| 0.4 and 1.5 on a 300-galaxy run)."""
    import json
    import shutil

    from photoz.inference.quantize import INT8_JSON, INT8_ONNX, load_int8, write_int8

    est, data = trained
    good = tmp_path / "good"
    good.mkdir()
    write_int8(est.quantised(data), good)
    model, run = load_int8(good, est.net, "the sent model")
    assert model is not None and run is not None and model.bands == tuple(est.net.bands)
    meta = json.loads((good / INT8_JSON).read_text())
    edits = {"inf": {"scale": [float("inf")] + meta["scale"][1:]}, "x10": {"scale": [v * 10 for v in meta["scale"]]},
             "reordered": {"bands": meta["bands"][::-1]}, "bool": {"stamp": [True, 16]}}  # fmt: skip
    for name, edit in [*edits.items(), ("graph", None)]:
        folder = tmp_path / name
        shutil.copytree(good, folder)
        if edit is None:
            (folder / INT8_ONNX).write_bytes(b"not an onnx graph")
        else:
            (folder / INT8_JSON).write_text(json.dumps({**meta, **edit}))
        with pytest.raises(DataError) as err:
            load_int8(folder, est.net, "the sent model")
        message = str(err.value)
        assert "\n" not in message and message.startswith("the sent model: ") and "retrain with trainer.log_int8=true" in message, message
