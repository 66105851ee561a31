"""The four RAIL estimators photoz wraps: which RAIL stages, what each adds, what it learns.

See photoz.estimators.rail for how they are called and what `n_trainable_params` counts.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from photoz.errors import PhotozError
from photoz.estimators.bpz_templates import ensure_ab_files, rail_bpz_data
from photoz.estimators.rail import RailError, RailEstimator, described
from photoz.estimators.schema import RailBPZSchema


class FlexZBoostEstimator(RailEstimator):
    """FlexZBoost (Izbicki & Lee 2017; Schmidt et al. 2020): conditional density from XGBoost
    regressions of cosine-basis coefficients on the reference magnitude and colours."""

    informer = "rail.estimation.algos.flexzboost:FlexZBoostInformer"
    estimator = "rail.estimation.algos.flexzboost:FlexZBoostEstimator"

    def extra_config(self) -> dict[str, Any]:
        return {"qp_representation": "interp"}

    def n_trainable_params(self) -> int:
        """Nodes of every XGBoost tree (one fitted threshold or leaf weight each) + bump, sharpen."""
        regressors = self.rail_model.model.models.estimators_
        nodes = sum(line.strip() != "" for r in regressors for tree in r.get_booster().get_dump() for line in tree.split("\n"))
        return int(nodes + 2)


class BPZEstimator(RailEstimator):
    """BPZ (Benítez 2000) as RAIL's BPZ_lite: template χ² likelihood × Bayesian n(z, type | m) prior.

    Filters: RAIL's DC2LSST_<b> curves for an LSST set; a set's own curves (photoz.ingest
    filter_curves=) through a temporary BPZ data folder (`curve_folder`) whose SED folder is a link
    to RAIL's installed templates and whose FILTER folder holds the curves in BPZ's format (Å,
    throughput). The template fluxes through either (AB files) are made on first use, each file
    whole (photoz.estimators.bpz_templates)."""

    informer = "rail.estimation.algos.bpz_lite:BPZliteInformer"
    estimator = "rail.estimation.algos.bpz_lite:BPZliteEstimator"
    model_cfg: RailBPZSchema
    filter_systems = ("lsst",)  # RAIL's DC2LSST_<b> curves
    own_curves = True  # or the data set's own, through curve_folder
    _folder: Path | None = None

    def extra_config(self) -> dict[str, Any]:
        """The filter curves for the data set's bands (RAIL's LSST ones, or the set's own in
        curve_folder), one zero-point error per band."""
        conf: dict[str, Any] = {"zp_errors": [self.model_cfg.zp_error] * len(self.bands)}
        if not self.curves:
            return {**conf, "filter_list": [f"DC2LSST_{b}" for b in self.bands]}
        return {**conf, "filter_list": [bpz_filter_name(b, self.curves[b].sha256) for b in self.bands],
                "bpz_ref_data_path": str(self.curve_folder())}

    def curve_folder(self) -> Path:
        """A BPZ data folder for this estimator's curves (made once, removed with the estimator):
        SED -> RAIL's SED folder, FILTER/<name>.res per band, AB/ empty for BPZ to fill."""
        if self._folder is None:
            folder = Path(tempfile.mkdtemp(prefix="photoz-bpz-"))
            weakref.finalize(self, shutil.rmtree, folder, True)
            (folder / "SED").symlink_to(rail_bpz_data() / "SED")
            (folder / "FILTER").mkdir()
            (folder / "AB").mkdir()
            for band, curve in self.curves.items():  # type: ignore[union-attr]
                rows = np.column_stack([curve.wave * 10.0, curve.thru])  # BPZ reads Å
                np.savetxt(folder / "FILTER" / f"{bpz_filter_name(band, curve.sha256)}.res", rows, fmt="%.10g")
            self._folder = folder
        return self._folder

    def pdf(self, flux: np.ndarray, err: np.ndarray) -> np.ndarray:
        """RailEstimator.pdf; what desc_bpz prints as it makes AB files and fits (hundreds of
        lines on a fresh install) is kept off the user's stdout."""
        with contextlib.redirect_stdout(io.StringIO()):
            return super().pdf(flux, err)

    def _stage(self, cls: type, key: str, **kw: Any) -> Any:
        """RAIL's stage, with desc_bpz pointed at the stage's SED/filter folder. RAIL sets
        BPZDATAPATH when it builds the stage, but desc_bpz reads that variable once, at import:
        in a process that imported desc_bpz earlier (its prior module, say) BPZ_lite would not
        find its templates. The estimator's template fluxes are made here, each file whole
        (photoz.estimators.bpz_templates), so that BPZ_lite never writes one in place."""
        stage = super()._stage(cls, key, **kw)
        data_path = getattr(stage, "bpz_ref_data_path", None)
        if data_path:
            from desc_bpz import paths

            paths.set_data_dir(data_path)
        if key == "estimate":
            try:
                ensure_ab_files(stage)
            except PhotozError:
                raise
            except Exception as err:  # desc_bpz's: a missing template list or filter file, say
                raise RailError(f"BPZ's template fluxes in {data_path}: {described(err)}") from None
        return stage

    def n_trainable_params(self) -> int:
        """Prior numbers fitted to the train split; 0 when RAIL's default HDFN prior is used."""
        if self.model_cfg.inform.get("output_hdfn", True):
            return 0
        prior = self.rail_model["priormodel"]
        return int(sum(np.size(prior[k]) for k in ("fo_arr", "kt_arr", "zo_arr", "km_arr", "a_arr")))


def bpz_filter_name(band: str, sha256: str) -> str:
    """BPZ's name of a data set's own curve: its band and sha256, so that no two curves share AB files."""
    return f"photoz_{band}_{sha256[:16]}"


class KNNEstimator(RailEstimator):
    """RAIL's KNearNeigh: k nearest training neighbours in colour space, PDF a sum
    of Gaussians of width σ at their redshifts; k and σ tuned on a held-out part of the train split."""

    informer = "rail.estimation.algos.k_nearneigh:KNearNeighInformer"
    estimator = "rail.estimation.algos.k_nearneigh:KNearNeighEstimator"

    def n_trainable_params(self) -> int:
        """Stored training features and redshifts, plus the tuned σ and k."""
        m = self.rail_model
        return int(np.asarray(m["kdtree"].data).size + np.size(m["truezs"]) + 2)


class CMNNEstimator(RailEstimator):
    """CMNN (Graham et al. 2018): training galaxies within a Mahalanobis colour distance, PDF
    from their redshifts."""

    informer = "rail.estimation.algos.cmnn:CMNNInformer"
    estimator = "rail.estimation.algos.cmnn:CMNNEstimator"

    def n_trainable_params(self) -> int:
        """Stored training colours, colour errors and redshifts."""
        m = self.rail_model
        return int(np.size(m["train_color"]) + np.size(m["train_err"]) + np.size(m["truez"]))
