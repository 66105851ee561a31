"""Predictions as LSST DESC's PDF format: a qp.Ensemble (qp-prob, in the `[rail]` extra).

A PDF on the estimator's grid becomes a qp `hist` ensemble (bins: the grid's bin edges,
densities: probability / bin width), a Gaussian `norm` (z_phot, z_err) where the estimator has
no PDF. The point estimates ride along as ancillary columns: id, redshift (the catalogue's
z_spec, RAIL's truth column name), z_phot (the point estimate photoz scores, model.point_estimate), z_err, z_q16,
z_q50, z_q84. `qp.read(path)` opens the file; RAIL's evaluation stages read it directly.

qp is imported lazily so photoz runs without the extra (then no qp file is written).
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from photoz.data.target import remove_stale_temps, temp_file
from photoz.errors import ConfigError
from photoz.predictions.output import QP_SUFFIXES
from photoz.predictions.table import Predictions

INSTALL_HINT = 'pip install -e ".[rail]"'


def qp_available() -> bool:
    """Whether qp-prob is installed."""
    return find_spec("qp") is not None


def _require_qp():
    try:
        import qp
    except ImportError:
        raise ConfigError(f"qp output needs LSST DESC's qp-prob; install it with {INSTALL_HINT}") from None
    return qp


def bin_edges(grid: np.ndarray) -> np.ndarray:
    """Edges of the equal bins centred on `grid`."""
    width = grid[1] - grid[0]
    return np.concatenate([[grid[0] - width / 2], grid + width / 2])


def ancil(pred: Predictions) -> dict[str, np.ndarray]:
    """The ancillary columns (one row per galaxy)."""
    q = pred.quantiles()
    return {"id": np.asarray(pred.ids, np.int64), "redshift": pred.z_spec, "z_phot": pred.z_phot,
            "z_err": pred.z_err, "z_q16": q[:, 0], "z_q50": q[:, 1], "z_q84": q[:, 2]}


def to_ensemble(pred: Predictions):
    """A qp.Ensemble of the predictions: hist on the grid, or norm(z_phot, z_err) without a PDF."""
    qp = _require_qp()
    if pred.pdf is None or pred.z_grid is None:
        ens = qp.Ensemble(qp.stats.norm, data={"loc": pred.z_phot[:, None], "scale": pred.z_err[:, None]})
    else:
        width = pred.z_grid[1] - pred.z_grid[0]
        pdf = np.asarray(pred.pdf, float)
        ens = qp.Ensemble(qp.hist, data={"bins": bin_edges(pred.z_grid), "pdfs": pdf / pdf.sum(1, keepdims=True) / width})
    ens.set_ancil(ancil(pred))
    return ens


def write_qp(pred: Predictions, path: Path) -> Path:
    """Write the predictions as a qp file (format from the suffix: .hdf5, .fits, .parquet)."""
    to_ensemble(pred).write_to(str(path))
    return path


class QpStream:
    """Writes a qp HDF5 file of known length batch by batch (qp's chunked HDF5 writer), to a
    temp file renamed into place on `close`: a failed run leaves no partial output, and the temp
    files of killed writers of the same output (dead pid, this host) are removed first, as the
    FITS writer does (photoz.data.target)."""

    def __init__(self, path: Path, n_rows: int) -> None:
        if path.suffix.lower() not in QP_SUFFIXES:
            raise ConfigError(f"output={path}: format=qp writes HDF5; name the output *.hdf5")
        _require_qp()
        self.path, self.n_rows, self.written = path, n_rows, 0
        remove_stale_temps(path)
        self.tmp = temp_file(path)
        self.groups = self.file = None

    def write(self, pred: Predictions) -> None:
        ens = to_ensemble(pred)
        if self.file is None:
            self.groups, self.file = ens.initializeHdf5Write(str(self.tmp), self.n_rows)
            self.first = ens
        ens.writeHdf5Chunk(self.groups, self.written, self.written + len(pred.ids))
        self.written += len(pred.ids)

    def close(self) -> None:
        if self.written != self.n_rows:
            raise RuntimeError(f"wrote {self.written} rows, expected {self.n_rows}")
        self.first.finalizeHdf5Write(self.file)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
        self.tmp.unlink(missing_ok=True)
