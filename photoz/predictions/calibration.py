"""PIT recalibration of redshift PDFs, fitted on galaxies outside the test split.

Bordoloi, Lilly & Amara 2010 (MNRAS 406, 881), "Photo-z performance for precision cosmology",
§3: if the PIT values u = C_i(z_i) of a set of galaxies (each PDF's CDF at its true z) are not
uniform, their own CDF F maps every PDF's CDF to a recalibrated one, C'(z) = F(C(z)) (the PDF
p(z)·f(C(z)), f the PIT density), whose PIT values on such galaxies are uniform. F here is the
fitting galaxies' empirical PIT CDF, piecewise linear through its `n_bins`-quantiles (equal-count
bins: fine where the PIT values crowd), shrunk towards the identity by n_bins/(N + n_bins) for N
galaxies (a pseudo-count; it keeps F strictly increasing, so no region of a PDF is zeroed). PDFs
that are all shifted, too narrow or too wide get the correction those galaxies show; calibrated
PDFs give F ≈ identity and stay as they were up to its noise (≈ 1/sqrt(N) in the CDF). The map is
global: a shift that differs between galaxies (with redshift, or with the PDF's width) is averaged,
not removed. photoz fits it on the val split (photoz.estimators.ensemble, `model.calibration=pit`),
never on test galaxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from photoz.errors import PhotozError
from photoz.predictions.pdf import cdf_edges, pit


@dataclass(frozen=True)
class PitCalibration:
    """F through (knots[k], k / n_bins), k = 0..n_bins: knots from 0 to 1, strictly increasing."""

    knots: tuple[float, ...]

    @classmethod
    def fit(cls, pdf: np.ndarray, grid: np.ndarray, z_spec: np.ndarray, n_bins: int = 20) -> PitCalibration:
        """F from the PIT values of galaxies with PDFs `pdf` on `grid` and true redshifts `z_spec`."""
        u = pit(pdf, grid, z_spec)
        levels = np.linspace(0.0, 1.0, n_bins + 1)
        shrink = n_bins / (len(u) + n_bins)
        knots = (1 - shrink) * np.quantile(u, levels) + shrink * levels
        knots[0], knots[-1] = 0.0, 1.0
        return cls(tuple(float(k) for k in knots))

    def apply(self, pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """The recalibrated (N, n_bins) probabilities: the bins of F(C(z)), C each PDF's CDF."""
        pdf = np.asarray(pdf, dtype=float)
        cdf, _ = cdf_edges(pdf / pdf.sum(axis=1, keepdims=True), grid)
        levels = np.linspace(0.0, 1.0, len(self.knots))
        return np.diff(np.interp(np.clip(cdf, 0.0, 1.0), self.knots, levels), axis=1)

    def to_dict(self) -> dict[str, Any]:
        """What a logged model stores (JSON)."""
        return {"method": "pit", "knots": list(self.knots)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any], where: str) -> PitCalibration:
        """Read back `to_dict`; PhotozError (naming `where`) unless its knots rise from 0 to 1."""
        try:
            knots = np.asarray(saved.get("knots", []), dtype=float) if saved.get("method") == "pit" else np.array([])
        except (TypeError, ValueError):
            knots = np.array([])
        if knots.ndim != 1 or len(knots) < 2 or knots[0] != 0.0 or knots[-1] != 1.0 or np.any(np.diff(knots) <= 0):
            raise PhotozError(f"{where}: its calibration is not a PIT map (knots rising from 0 to 1); log the model again")
        return cls(tuple(float(k) for k in knots))
