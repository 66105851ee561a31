"""Structured-config schemas of the baseline model groups (template_fit, random_forest, knn, rail_*).

photoz.registry pairs each with its estimator and stores it in Hydra's ConfigStore as
a top-level config (so `model=` does not offer it); the yamls in conf/model/ start with
`defaults: [/<name>_schema@_here_, _self_]`, so a typo'd key or a wrong type is a Hydra error at
composition time, before any work starts. Each schema's defaults are its YAML's values
(tests/test_schema_defaults.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

from photoz.choices import Calibration, NeighbourWeights, PointEstimate, Prior

CWW_TEMPLATES = ["CWW_E_ext", "CWW_Sbc_ext", "CWW_Scd_ext", "CWW_Im_ext"]


@dataclass
class GridSchema:
    """The PDF grid every baseline shares with the CNN heads."""

    name: str = "???"
    n_bins: int = 180  # PDF bins on [0, z_max], as the CNN heads (conf/model/sequential.yaml)
    z_max: float = 3.5  # covers the default simulated set (z < 3.5)
    point_estimate: PointEstimate = PointEstimate.zstar  # zstar | mean | median | mode of the PDF (photoz.predictions.pdf)


@dataclass
class SklearnSchema(GridSchema):
    """What the scikit-learn baselines share: PDF smoothing and parallelism."""

    pdf_smoothing: float = 0.02  # Gaussian width (in z) applied to the histogram of tree/neighbour redshifts
    n_jobs: int = -1


@dataclass
class TemplateFitSchema(GridSchema):
    """χ² template fit (photoz.estimators.template_fit)."""

    name: str = "template_fit"
    templates: list[str] = field(default_factory=lambda: list(CWW_TEMPLATES))  # GalSim SED names, ordered
    n_interp: int = 2  # mixtures between each neighbouring template pair
    pairs: bool = True  # also fit non-negative sums of the first template (E: bulge) and each other (disk)
    sys_err: float = 0.02  # fractional flux error added in quadrature (template mismatch, calibration)
    ebv_grid: list[float] = field(default_factory=list)  # extra Calzetti E(B−V) copies of every template
    igm: bool = True  # Madau 1995 IGM on the templates (as BPZ and LePhare apply it)
    prior: Prior = Prior.benitez  # none | benitez (BPZ's HDF-N n(z, type | m)) | smail (z^β exp(−(z/z0)^α), z0 linear in m)
    prior_band: str = "i"
    prior_alpha: float = 1.0  # n(z|m) ∝ z^β exp(−(z/z0)^α), z0 = slope·m + offset
    prior_beta: float = 2.0
    prior_z0_slope: float = 0.0417  # LSST Science Book eq. 3.8
    prior_z0_offset: float = -0.744
    prior_mag_range: list[float] = field(default_factory=lambda: [21.5, 27.0])  # where that z0(m) holds


@dataclass
class RandomForestSchema(SklearnSchema):
    """scikit-learn RandomForestRegressor on asinh magnitudes and colours."""

    name: str = "random_forest"
    n_estimators: int = 200
    max_depth: int | None = None
    min_samples_leaf: int = 5
    max_features: float = 0.5  # share of features tried per split


@dataclass
class KNNSchema(SklearnSchema):
    """scikit-learn KNeighborsRegressor on standardised asinh magnitudes and colours."""

    name: str = "knn"
    n_neighbors: int = 30
    weights: NeighbourWeights = NeighbourWeights.distance  # uniform | distance


@dataclass
class RailSchema(GridSchema):
    """A RAIL estimator (photoz.estimators.rail): photometry conversion and the stages' own config."""

    ref_band: str = "i"  # RAIL's ref_band: the magnitude used beside the colours (and BPZ's prior)
    detection_snr: float = 1.0  # a band below this S/N (or flux <= 0) is a non-detection
    nondetect_val: float = 99.0  # RAIL's sentinel magnitude for non-detections (replaced by the 1σ limit)
    rail_nzbins: int = 301  # points of RAIL's own z grid on [0, z_max]; its PDF is then read at n_bins centres
    inform: Dict[str, Any] = field(default_factory=dict)  # config of RAIL's informer stage (its key names)
    estimate: Dict[str, Any] = field(default_factory=dict)  # config of RAIL's estimator stage


@dataclass
class RailBPZSchema(RailSchema):
    """RAIL's BPZ_lite: one zero-point error for every band (RAIL's zp_errors)."""

    name: str = "rail_bpz"
    zp_error: float = 0.01  # magnitudes added in quadrature to every band's error
    inform: Dict[str, Any] = field(default_factory=lambda: {"output_hdfn": True, "spectra_file": "CWWSB4.list"})
    estimate: Dict[str, Any] = field(default_factory=lambda: {
        "spectra_file": "CWWSB4.list", "madau_flag": "no", "no_prior": False, "gauss_kernel": 0.0, "mag_err_min": 0.005,
    })  # fmt: skip


@dataclass
class RailCMNNSchema(RailSchema):
    """RAIL's CMNN: training galaxies within a colour distance."""

    name: str = "rail_cmnn"
    inform: Dict[str, Any] = field(default_factory=lambda: {"nondetect_replace": False})
    estimate: Dict[str, Any] = field(default_factory=lambda: {"ppf_value": 0.68, "selection_mode": 1, "min_n": 25})


@dataclass
class RailFlexZBoostSchema(RailSchema):
    """RAIL's FlexZBoost: a cosine basis of the conditional density, one XGBoost regression per coefficient."""

    name: str = "rail_flexzboost"
    inform: Dict[str, Any] = field(default_factory=lambda: {
        "trainfrac": 0.75, "retrain_full": True, "max_basis": 35, "basis_system": "cosine", "nbump": 20, "nsharp": 15,
        "regression_params": {"max_depth": 8, "n_estimators": 100, "objective": "reg:squarederror", "n_jobs": 1},
    })  # fmt: skip


@dataclass
class RailKNNSchema(RailSchema):
    """RAIL's KNearNeigh: a sum of Gaussians at the nearest neighbours in colour space."""

    name: str = "rail_knn"
    inform: Dict[str, Any] = field(default_factory=lambda: {
        "train_frac": 0.75, "nneigh_min": 3, "nneigh_max": 7, "sigma_grid_min": 0.01, "sigma_grid_max": 0.075,
        "ngrid_sigma": 10, "only_colors": False,
    })  # fmt: skip



@dataclass
class EnsembleSchema(GridSchema):
    """Logged runs' PDFs averaged on this grid, optionally recalibrated (photoz.estimators.ensemble)."""

    name: str = "ensemble"
    runs: List[str] = field(default_factory=list)  # the members' MLflow run ids (python -m photoz.ensemble runs=[...])
    weights: List[float] = field(default_factory=list)  # one per member; [] = equal weights
    calibration: Calibration = Calibration.none  # none | pit: a PIT recalibration fitted on the val split
    calibration_bins: int = 20  # PIT histogram bins of model.calibration=pit
    trust_pickles: bool = False  # load RAIL members (their model files are pickles, which run code when read)
