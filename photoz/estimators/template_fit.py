"""`model=template_fit`: χ² fit of catalogue fluxes against redshifted SED templates (BPZ-like).

Templates are GalSim's Coleman–Wu–Weedman SEDs (E, Sbc, Scd, Im) plus `model.n_interp` linear
mixtures between each neighbouring pair, seen through the data set's own filter curves when it has
them (photoz.ingest filter_curves=; the fitted model carries their text and predicts only on data
with the same curves), else GalSim's LSST ugrizy bandpasses for an LSST set (the band fluxes come
from photoz.physics.sed, shared with the simulator); a set with neither is refused. For every
template t and redshift z on the CNN heads' grid the model flux vector m_tz is computed once (and
cached); each galaxy's best non-negative amplitude is analytic, giving χ²_tz, and the likelihood
exp(−χ²/2) is summed over templates (flat template prior), times an optional magnitude-dependent
Smail n(z|m) prior.
The normalised result is the PDF on the z grid.

Nothing is learned: n_trainable_params() is 0, fit() only reports val metrics once.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from photoz.data.format import Dataset
from photoz.errors import ConfigError
from photoz.predictions.table import Predictions
from photoz.estimators.catalog_base import CatalogEstimator, pip_requirements
from photoz.data.features import ab_magnitudes
from photoz.estimators.schema import TemplateFitSchema
from photoz.physics.sed import Band, band_flux_grid, sed_scale
from photoz.training.hooks import EpochHook

PYFUNC_CODE = Path(__file__).with_name("template_pyfunc.py")  # the logged model's code, not imported here
_CHUNK = 1024  # galaxies per vectorised block (bounds memory at chunk × templates × n_bins floats)


def template_fluxes(name: str, bands: Sequence[Band], z: np.ndarray, ebvs: Sequence[float] = (0.0,), igm: bool = False) -> np.ndarray:
    """(len(ebvs), len(z), len(bands)) band fluxes (photoz.sed.band_flux_grid) of GalSim SED `name`
    at redshifts z, reddened by each Calzetti E(B−V) in `ebvs` (and Madau IGM with `igm`), the SED
    normalised to mean rest-frame f_λ = 1 over 4000–6000 Å so that templates mix alike."""
    return band_flux_grid(name, bands, z, tuple(ebvs), igm) / sed_scale(name)


@lru_cache(maxsize=8)
def model_flux_grid(bands: tuple[Band, ...], templates: tuple[str, ...], n_interp: int, grid: tuple[float, ...],
                    ebvs: tuple[float, ...] = (0.0,), igm: bool = False) -> np.ndarray:
    """(T, Z, C) model fluxes: for each E(B−V) in `ebvs`, the base templates and `n_interp` mixtures
    between each neighbouring pair (SEDs are normalised alike, so a mixture of SEDs is the same
    mixture of band fluxes). The first model is the first template without dust (the pairs' bulge)."""
    z = np.asarray(grid)
    reddened = np.stack([template_fluxes(name, bands, z, ebvs, igm) for name in templates], axis=1)  # (E, T, Z, C)
    out = []
    for base in reddened:
        for a, b in zip(base[:-1], base[1:]):
            out.append(a)
            out.extend((1 - w) * a + w * b for w in np.arange(1, n_interp + 1) / (n_interp + 1))
        out.append(base[-1])
    grid_flux = np.stack(out)
    grid_flux.setflags(write=False)  # shared through the cache
    return grid_flux


# Benítez 2000 (ApJ 536, 571) Table 1, the HDF-N I814 prior, per type (E/S0, Sbc+Scd, Irr):
# p(t|m) = f_t exp(−k_t (m − 20)) (Irr takes the rest) and p(z|t, m) ∝ z^α_t exp(−(z/z_mt)^α_t),
# z_mt = z0_t + k_mt (m − 20). Digits as in BPZ's own prior_hdfn_gen.py (desc_bpz, RAIL's BPZ_lite).
BENITEZ_F = (0.35, 0.50)  # f_t at m = 20: E/S0, spirals
BENITEZ_KT = (0.450, 0.147)  # k_t: ellipticals thin out fastest towards faint magnitudes
BENITEZ_ALPHA = (2.465, 1.806, 0.906)
BENITEZ_Z0 = (0.431, 0.390, 0.0626)
BENITEZ_KM = (0.0913, 0.0636, 0.123)


def benitez_type_fractions(mag: np.ndarray, mag_range: tuple[float, float]) -> np.ndarray:
    """(n, 3) p(type | m) for E/S0, spirals, Irr; magnitudes clipped into `mag_range`."""
    m = np.clip(mag, *mag_range) - 20.0
    early = [f * np.exp(-k * m) for f, k in zip(BENITEZ_F, BENITEZ_KT)]
    return np.stack([*early, np.clip(1.0 - sum(early), 0.0, 1.0)], axis=1)


def benitez_prior(mag: np.ndarray, grid: np.ndarray, mag_range: tuple[float, float]) -> np.ndarray:
    """(n, Z) BPZ prior summed over types: Σ_t p(t|m) p(z|t, m) on `grid` (see BENITEZ_* above)."""
    m = np.clip(mag, *mag_range)[:, None] - 20.0
    out = np.zeros((len(m), len(grid)))
    for t, frac in enumerate(benitez_type_fractions(mag, mag_range).T):
        alpha, z_m = BENITEZ_ALPHA[t], BENITEZ_Z0[t] + BENITEZ_KM[t] * m
        p = grid[None, :] ** alpha * np.exp(-((grid[None, :] / z_m) ** alpha))
        out += frac[:, None] * p / p.sum(axis=1, keepdims=True)
    return out / out.sum(axis=1, keepdims=True)


def smail_prior(mag: np.ndarray, grid: np.ndarray, alpha: float, beta: float, slope: float, offset: float,
                mag_range: tuple[float, float]) -> np.ndarray:
    """(n, Z) n(z|m) ∝ z^β exp(−(z/z0)^α), z0 = slope·m + offset (LSST Science Book: 0.0417 i − 0.744,
    valid for 21.5 < i < 27; magnitudes are clipped into `mag_range`)."""
    z0 = np.maximum(slope * np.clip(mag, *mag_range) + offset, 1e-2)
    prior = grid[None, :] ** beta * np.exp(-((grid[None, :] / z0[:, None]) ** alpha))
    return prior / prior.sum(axis=1, keepdims=True)


def chi2_pdf(flux: np.ndarray, err: np.ndarray, models: np.ndarray, sys_err: float = 0.0,
             prior: np.ndarray | None = None, pairs: bool = False) -> np.ndarray:
    """(n, Z) posterior on the grid from (n, C) fluxes/errors and (T, Z, C) model fluxes.

    Per template and z, the amplitude A = Σ w f m / Σ w m² (clipped at 0) minimises χ²; with
    weights w = 1/(σ² + (sys_err·f)²); bands with a non-finite flux or non-positive error get w = 0.
    With `pairs`, every non-negative combination A·m_0 + B·m_b of the first template (the
    elliptical: a bulge) and another one (a disk) is a model too, by a 2×2 linear solve. The
    likelihood exp(−χ²/2) is
    summed over all models (flat model prior), then multiplied by the n(z) prior.
    """
    flux = np.asarray(flux, float)
    var = np.asarray(err, float) ** 2 + (sys_err * flux) ** 2
    ok = np.isfinite(flux) & np.isfinite(var) & (var > 0)
    w = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
    f = np.where(ok, flux, 0.0)
    s_ff = (w * f * f).sum(axis=1)[:, None]
    flat = models.reshape(-1, models.shape[2])  # (T·Z, C): one matmul for all templates and z
    s_fm = ((w * f) @ flat.T).reshape(len(f), *models.shape[:2])  # (n, T, Z)
    s_mm = (w @ (flat * flat).T).reshape(len(f), *models.shape[:2])
    chi2 = [s_ff[:, None] - np.where(s_fm > 0, s_fm**2 / np.maximum(s_mm, 1e-300), 0.0)]
    if pairs:
        a = 0
        for b in range(1, len(models)):
            s_ab = w @ (models[a] * models[b]).T
            det = s_mm[:, a] * s_mm[:, b] - s_ab**2
            amp_a = (s_mm[:, b] * s_fm[:, a] - s_ab * s_fm[:, b]) / np.where(det > 0, det, 1.0)
            amp_b = (s_mm[:, a] * s_fm[:, b] - s_ab * s_fm[:, a]) / np.where(det > 0, det, 1.0)
            inside = (det > 1e-12 * s_mm[:, a] * s_mm[:, b]) & (amp_a > 0) & (amp_b > 0)
            # on the boundary (an amplitude ≤ 0) the single-template fits already hold the optimum
            chi2.append(np.where(inside, s_ff - amp_a * s_fm[:, a] - amp_b * s_fm[:, b], np.inf)[:, None])
    chi2 = np.concatenate(chi2, axis=1)
    chi2 -= chi2.min(axis=(1, 2), keepdims=True)
    like = np.exp(-0.5 * chi2).sum(axis=1)
    if prior is not None:
        like = like * prior
    like += 1e-300
    return like / like.sum(axis=1, keepdims=True)


class TemplateFitEstimator(CatalogEstimator):
    """χ² template fit on catalogue fluxes; no trainable parameters."""

    model_cfg: TemplateFitSchema
    model_format = "template_fit"
    filter_systems = ("lsst",)  # GalSim's LSST_<b>.dat curves (photoz.physics.sed)
    own_curves = True  # a data set's own filter curves, when it has them

    def _models(self, bands: list[str]) -> np.ndarray:
        mc = self.model_cfg
        ebvs = (0.0, *mc.ebv_grid)
        if min(ebvs) < 0:
            raise ConfigError(f"model.ebv_grid={mc.ebv_grid} has a negative E(B-V); give values >= 0, e.g. model.ebv_grid=[0.1,0.2,0.3]")
        passbands = tuple(self.curves[b] for b in bands) if self.curves else tuple(bands)
        return model_flux_grid(passbands, tuple(mc.templates), mc.n_interp, tuple(self.grid), ebvs, mc.igm)

    def _prior(self, flux: np.ndarray, bands: list[str]) -> np.ndarray | None:
        mc = self.model_cfg
        if mc.prior == "none":
            return None
        if mc.prior_band not in bands:
            raise ConfigError(f"model.prior_band={mc.prior_band!r} is not among the data set's bands {bands}")
        mag = ab_magnitudes(flux[:, bands.index(mc.prior_band)])
        if mc.prior == "benitez":
            return benitez_prior(mag, self.grid, tuple(mc.prior_mag_range))
        return smail_prior(mag, self.grid, mc.prior_alpha, mc.prior_beta, mc.prior_z0_slope,
                           mc.prior_z0_offset, tuple(mc.prior_mag_range))

    def pdf(self, flux: np.ndarray, err: np.ndarray, bands: list[str]) -> np.ndarray:
        """(n, n_bins) posterior for (n, C) fluxes and errors in nJy, in blocks of _CHUNK galaxies."""
        models = self._models(bands)
        out = np.empty((len(flux), len(self.grid)))
        for s in range(0, len(flux), _CHUNK):
            f, e = flux[s : s + _CHUNK], err[s : s + _CHUNK]
            out[s : s + _CHUNK] = chi2_pdf(f, e, models, self.model_cfg.sys_err, self._prior(f, bands),
                                           self.model_cfg.pairs)
        return out

    def fit(self, data: Dataset, on_epoch: EpochHook) -> None:
        """Nothing to learn; take the data set's filter curves, check its bands and report val metrics once."""
        self.use_filters(data)
        self.bands = data.bands
        self._models(data.bands)
        self.report_validation(data, on_epoch)

    def predict(self, data: Dataset, index: np.ndarray) -> Predictions:
        index = np.asarray(index)
        self.check_bands(data)
        flux, err = data.fluxes(index)
        pdf = self.pdf(flux, err, data.bands)
        z = np.asarray(data.catalog["redshift"], float)[index]
        return Predictions.from_pdf(np.asarray(data.catalog["id"])[index], z, pdf, self.grid, self.point)

    def n_trainable_params(self) -> int:
        """0: templates, bandpasses and prior are fixed physics, nothing is fitted to training data."""
        return 0

    def log_model(self) -> None:
        """Log a pyfunc "model from code" (photoz.estimators.template_pyfunc: fluxes DataFrame →
        z_phot, z_err) whose metadata, and a JSON copy of it, rebuild the fit: no pickle."""
        cols = [f"flux_{b}" for b in self.bands] + [f"flux_err_{b}" for b in self.bands]
        example = pd.DataFrame(np.ones((1, len(cols))), columns=cols)
        signature = infer_signature(example, pd.DataFrame({"z_phot": [0.0], "z_err": [0.0]}))
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "photoz_model.json"
            config.write_text(json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n")
            mlflow.pyfunc.log_model(
                name=self.model_name,
                python_model=str(PYFUNC_CODE),  # imports photoz, unpickles nothing
                artifacts={"config": str(config)},
                signature=signature,
                input_example=example,
                metadata=self.metadata(),
                pip_requirements=pip_requirements(),
            )

    @classmethod
    def from_model_folder(cls, folder: Path, mlmodel: dict[str, Any], where: str) -> TemplateFitEstimator:
        """Nothing learned: the fit is rebuilt from the checked MLmodel's metadata alone."""
        est, _ = cls.from_mlmodel(mlmodel, where)
        return est  # type: ignore[return-value]
