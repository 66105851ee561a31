"""PIT recalibration of redshift PDFs, fitted on galaxies outside the test split.

Bordoloi, Lilly & Amara 2010 (MNRAS 406, 881), "Photo-z performance for precision cosmology",
§3: if the PIT values u = C_i(z_i) of a set of galaxies (each PDF's CDF at its true z) are not
uniform, their own CDF F maps every PDF's CDF to a recalibrated one, C'(z) = F(C(z)), whose PIT
values on such galaxies are uniform. F here is the histogram of the fitting galaxies' PIT values in
`n_bins` equal bins, with one pseudo-count per bin (so no region of a PDF is zeroed), read as a
piecewise-linear CDF through the bin edges. PDFs that are all shifted, too narrow or too wide get
the correction those galaxies show; calibrated PDFs give a flat histogram, F ≈ identity, and stay
as they were up to the histogram's noise (≈ sqrt(1/(n_bins·N)) per bin for N fitting galaxies).
The map is global: a shift that changes sign with redshift is averaged, not removed. photoz fits it
on the val split (photoz.estimators.ensemble, `model.calibration=pit`), never on test galaxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from photoz.errors import PhotozError
from photoz.predictions.pdf import cdf_edges, pit


@dataclass(frozen=True)
class PitCalibration:
    """F, the CDF of the fitting galaxies' PIT values, at the n_bins + 1 equal edges of [0, 1]."""

    cdf: tuple[float, ...]

    @classmethod
    def fit(cls, pdf: np.ndarray, grid: np.ndarray, z_spec: np.ndarray, n_bins: int = 20) -> PitCalibration:
        """F from the PIT values of galaxies with PDFs `pdf` on `grid` and true redshifts `z_spec`."""
        counts, _ = np.histogram(pit(pdf, grid, z_spec), bins=n_bins, range=(0.0, 1.0))
        cum = np.concatenate([[0.0], np.cumsum(counts + 1.0)])  # + 1: a pseudo-count per bin
        return cls(tuple(float(c) for c in cum / cum[-1]))

    def apply(self, pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """The recalibrated (N, n_bins) probabilities: the bins of F(C(z)), C each PDF's CDF."""
        pdf = np.asarray(pdf, dtype=float)
        cdf, _ = cdf_edges(pdf / pdf.sum(axis=1, keepdims=True), grid)
        u = np.linspace(0.0, 1.0, len(self.cdf))
        return np.diff(np.interp(np.clip(cdf, 0.0, 1.0), u, self.cdf), axis=1)

    def to_dict(self) -> dict[str, Any]:
        """What a logged model stores (JSON)."""
        return {"method": "pit", "cdf": list(self.cdf)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any], where: str) -> PitCalibration:
        """Read back `to_dict`; PhotozError (naming `where`) unless it is a CDF from 0 to 1."""
        cdf = np.asarray(saved.get("cdf", []), dtype=float) if saved.get("method") == "pit" else np.array([])
        if cdf.ndim != 1 or len(cdf) < 2 or cdf[0] != 0.0 or cdf[-1] != 1.0 or np.any(np.diff(cdf) < 0):
            raise PhotozError(f"{where}: its calibration is not a PIT CDF from 0 to 1; log the model again")
        return cls(tuple(float(c) for c in cdf))
