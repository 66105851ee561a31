"""The four RAIL estimators photoz wraps: which RAIL stages, what each adds, what it learns.

See photoz.estimators.rail for how they are called and what `n_trainable_params` counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from photoz.estimators.rail import RailEstimator
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
    """BPZ (Benítez 2000) as RAIL's BPZ_lite: template χ² likelihood × Bayesian n(z, type | m) prior."""

    informer = "rail.estimation.algos.bpz_lite:BPZliteInformer"
    estimator = "rail.estimation.algos.bpz_lite:BPZliteEstimator"
    model_cfg: RailBPZSchema
    filter_systems = ("lsst",)  # RAIL's DC2LSST_<b> curves

    def extra_config(self) -> dict[str, Any]:
        """RAIL's LSST filter curves for the data set's bands, one zero-point error per band."""
        return {"filter_list": [f"DC2LSST_{b}" for b in self.bands],
                "zp_errors": [self.model_cfg.zp_error] * len(self.bands)}

    def _stage(self, cls: type, key: str, **kw: Any) -> Any:
        """RAIL's stage, with desc_bpz pointed at the stage's SED/filter folder. RAIL sets
        BPZDATAPATH when it builds the stage, but desc_bpz reads that variable once, at import:
        in a process that imported desc_bpz earlier (its prior module, say) BPZ_lite would not
        find its templates."""
        stage = super()._stage(cls, key, **kw)
        data_path = getattr(stage, "bpz_ref_data_path", None)
        if data_path:
            from desc_bpz import paths

            paths.set_data_dir(data_path)
        return stage

    def n_trainable_params(self) -> int:
        """Prior numbers fitted to the train split; 0 when RAIL's default HDFN prior is used."""
        if self.model_cfg.inform.get("output_hdfn", True):
            return 0
        prior = self.rail_model["priormodel"]
        return int(sum(np.size(prior[k]) for k in ("fo_arr", "kt_arr", "zo_arr", "km_arr", "a_arr")))


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
