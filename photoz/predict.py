"""`python -m photoz.predict`: apply a logged estimator to every galaxy of a data set.

    python -m photoz.predict run=<mlflow run id> [input=<data set dir>] [output=out.fits] [pdf=true]
    python -m photoz.predict run=<id> format=qp     # a qp.Ensemble (HDF5) for RAIL

Without input= it predicts the data set the run trained on (the run's tag `data`).

The run's tag `model` (set by photoz.train) picks the estimator class, whose `load(model_uri)`
rebuilds it; its tag `model_config` (the conf/model option, e.g. googlenet_pasquet) labels the output. Galaxies are predicted in batches over the memmapped images and each batch is
appended to the FITS table on disk, so memory stays at one batch whatever the set's size. The
table is written to a temp file and renamed into place: a failed run leaves no partial output.
With shard=i/n (or under torchrun) one process predicts one row range (photoz.predictions.shards).
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # start-up is timed from here: imports, Hydra, the model load

import os
from pathlib import Path

import hydra
import numpy as np
from astropy.io import fits
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from tqdm import tqdm

from photoz.config import check_known_keys
from photoz.data.target import remove_stale_temps, temp_file
from photoz.errors import ConfigError, PhotozError, exit_on_user_error
from photoz.estimators.base import Estimator
from photoz.job.model_source import resolve_model, run_dataset
from photoz.predictions.output import check_output
from photoz.predictions.table import Predictions
from photoz.predictions.qpio import QpStream
from photoz.predictions.shards import parse_shard, shard_path, shard_rows
from photoz.tool_schemas import register_schemas

register_schemas()  # conf/predict.yaml composes against photoz/tool_schemas.py

POINT_COLUMNS = ("z_spec", "z_phot", "z_err", "z_q16", "z_q50", "z_q84")
FORMATS = {"fits": "fits", "qp": "hdf5"}  # format= -> default output suffix


def dataset_identity(data) -> dict[str, object]:
    """Header keys that identify the data set predicted: its content checksum and size
    (photoz.merge refuses shards whose keys differ)."""
    return {"DATASUM": str(data.meta.get("checksum") or ""), "NGAL": len(data)}


def _row_dtype(pred: Predictions, with_pdf: bool) -> np.dtype:
    fields = [("id", ">i8")] + [(c, ">f8") for c in POINT_COLUMNS]
    if with_pdf:
        fields.append(("pdf", ">f4", (pred.pdf.shape[1],)))
    return np.dtype(fields)


class FitsTableStream:
    """Writes a FITS binary table of known length row-batch by row-batch (big-endian records
    appended after a header computed up front), to `path`.tmp, renamed on `close`."""

    def __init__(self, path: Path, n_rows: int, dtype: np.dtype, header: dict[str, object]) -> None:
        self.path, self.n_rows, self.dtype, self.written = path, n_rows, dtype, 0
        remove_stale_temps(path)  # tables left by killed predicts of this output
        self.tmp = temp_file(path)
        hdr = fits.BinTableHDU(np.zeros(1, dtype)).header
        hdr["NAXIS2"] = n_rows
        hdr["EXTNAME"] = "PHOTOZ"
        for key, value in header.items():
            hdr[key] = value
        self.file = open(self.tmp, "wb")
        self.file.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
        self.file.write(hdr.tostring().encode("ascii"))

    def write(self, rows: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.written += len(rows)

    def close(self) -> None:
        """Pad to a whole FITS block and rename into place."""
        if self.written != self.n_rows:
            raise RuntimeError(f"wrote {self.written} rows, header promised {self.n_rows}")
        size = self.n_rows * self.dtype.itemsize
        self.file.write(b"\0" * (-size % 2880))
        self.file.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def _rows(pred: Predictions, dtype: np.dtype) -> np.ndarray:
    rows = np.empty(len(pred.ids), dtype)
    q = pred.quantiles()
    values = {"id": pred.ids, "z_spec": pred.z_spec, "z_phot": pred.z_phot, "z_err": pred.z_err,
              "z_q16": q[:, 0], "z_q50": q[:, 1], "z_q84": q[:, 2]}
    for name in dtype.names:
        rows[name] = pred.pdf if name == "pdf" else values[name]
    return rows


def _open_stream(pred: Predictions, output: Path, n: int, with_pdf: bool, header: dict[str, object], fmt: str):
    if with_pdf and pred.pdf is None:
        raise ConfigError("pdf=true but this estimator gives no PDF; drop pdf=true")
    if fmt == "qp":
        return QpStream(output, n)
    extra = {"PDF_ZMAX": float(pred.z_grid[-1] + pred.z_grid[0]), "PDF_NBIN": len(pred.z_grid)} if with_pdf else {}
    return FitsTableStream(output, n, _row_dtype(pred, with_pdf), {**header, **extra})


def predict_dataset(estimator: Estimator, data, output: Path, batch_size: int, with_pdf: bool,
                    header: dict[str, object], fmt: str = "fits", rows: range | None = None) -> tuple[float, float]:
    """Predict `rows` of `data` (default all) in batches into `output` (a FITS table, or with
    fmt="qp" a qp HDF5 file, photoz.predictions.qpio). The estimator overlaps the batches' reading,
    predicting and summarising (Estimator.predict_batches); this loop writes each batch. Returns
    (galaxies/s of the loop, seconds of the estimator's start-up work before it: prepare_predict)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size}; need a positive number of galaxies per batch")
    rows = range(len(data)) if rows is None else rows
    n = len(rows)
    t0 = time.perf_counter()
    estimator.prepare_predict(data, np.arange(rows.start, rows.start + min(n, 4 * 1024)))
    start = time.perf_counter()
    batches = (np.arange(rows.start + s, rows.start + min(s + batch_size, n)) for s in range(0, n, batch_size))
    stream = None
    try:
        for pred in tqdm(estimator.predict_batches(data, batches), desc="predict", unit="batch", total=-(-n // batch_size)):
            stream = stream or _open_stream(pred, output, n, with_pdf, header, fmt)
            stream.write(pred if fmt == "qp" else _rows(pred, stream.dtype))
        stream.close()
    except BaseException:
        if stream is not None:
            stream.abort()
        raise
    return n / (time.perf_counter() - start), start - t0


def calibration_set(cfg: DictConfig, model_uri: str, data):
    """precision=int8's calibration stamps come from the train split of the run's own data set, or
    of `data` (input=) where that is not on this machine or model_uri= names a model folder."""
    from photoz.data.format import read_dataset

    try:
        return data if cfg.run is None else read_dataset(run_dataset(cfg, model_uri))
    except PhotozError:  # moved, or on another machine
        return data


def predict(cfg: DictConfig) -> Path:
    """Load the model, open the data set, write the table; prints where and how fast."""
    check_known_keys(cfg)  # a key forced in with + (+pdfs=true) is refused, as photoz.train does
    from photoz.data.format import read_dataset
    from photoz.estimators.build import estimator_class

    shard = parse_shard(cfg.shard)
    name, label, model_uri = resolve_model(cfg)
    estimator = estimator_class(name).load(model_uri, bool(cfg.trust_pickles))  # checked: formats.py
    loaded = time.perf_counter()
    data = read_dataset(hydra.utils.to_absolute_path(str(cfg.input)) if cfg.input else run_dataset(cfg, model_uri))
    if cfg.output:
        output = Path(hydra.utils.to_absolute_path(str(cfg.output)))
    else:
        output = Path(HydraConfig.get().runtime.output_dir) / f"predictions.{FORMATS[cfg.format]}"
    output, rows = shard_path(output, shard), shard_rows(len(data), shard)
    check_output(output, bool(cfg.overwrite))  # replaces only a file photoz wrote, unless overwrite=true
    output.parent.mkdir(parents=True, exist_ok=True)
    if cfg.precision == "int8":
        estimator.use_int8(calibration_set(cfg, model_uri, data))
    prepared = time.perf_counter()
    header = {"MODEL": label, "MODELURI": model_uri, "DATASET": str(data.path), "PRECISIO": str(cfg.precision),
              **dataset_identity(data)}
    header.update({"SHARD": f"{shard[0]}/{shard[1]}", "ROW0": rows.start} if shard else {})
    rate, prepare_s = predict_dataset(estimator, data, output, int(cfg.batch_size), bool(cfg.pdf), header, str(cfg.format), rows)
    print(f"photoz: wrote {len(rows)} galaxies to {output} ({rate:.0f} galaxies/s in the prediction loop, model {label}; "
          f"start-up {loaded - _STARTED:.1f} s to the loaded model, {prepared - loaded + prepare_s:.1f} s preparing it)")
    return output


@hydra.main(config_path="../conf", config_name="predict", version_base="1.3")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(predict)(cfg)


if __name__ == "__main__":
    from photoz.cli import run_main

    run_main(main)
