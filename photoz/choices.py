"""Every closed choice of the configs, as an Enum the schemas type their keys with, so Hydra refuses
a bad value (`model.head=foo`) at composition and names the valid ones.

A `Choice` is a str whose members are named by their values: `cfg.model.head == "pdf"` holds, JSON
writes "pdf", and str() and f-strings give "pdf" (not Head.pdf), so MLflow params, run names and
config hashes read as the plain value. Only the standard library is imported here: the schemas
(read at every composition) and the code that acts on a choice both import it.
"""

from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """A config value from a closed set; prints as its value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Precision(Choice):
    """trainer.precision: auto (bf16 where the hardware has it, else fp32) | bf16 | fp32."""

    auto = "auto"
    bf16 = "bf16"
    fp32 = "fp32"


class Keep(Choice):
    """trainer.keep: the weights a CNN run ends with: best (the epoch of the lowest val σ_MAD) |
    last (the final epoch's, for a val split too small to choose an epoch on)."""

    best = "best"
    last = "last"


class OptimizerName(Choice):
    """optimizer.name (set by optimizer=adamw | optimizer=sgd)."""

    adamw = "adamw"
    sgd = "sgd"


class Schedule(Choice):
    """optimizer.schedule: linear warm-up then cosine decay | one-cycle | constant."""

    cosine = "cosine"
    onecycle = "onecycle"
    constant = "constant"


class Head(Choice):
    """model.head of a CNN: softmax over redshift bins | one output."""

    pdf = "pdf"
    regression = "regression"


class SemiSupervised(Choice):
    """model.semi_supervised of a CNN: labelled galaxies only | also the consistency of the
    unlabelled ones' PDFs under augmentation (photoz.training.consistency)."""

    none = "none"
    consistency = "consistency"


class DimmingTo(Choice):
    """model.dimming_to of a CNN: how far each labelled training image is dimmed (photoz.training.dimming):
    uniform in [0, model.dimming] magnitudes | to the brightness of a random galaxy of the photometric
    sample when that one is fainter (at most model.dimming magnitudes)."""

    uniform = "uniform"
    sample = "sample"


class Activation(Choice):
    """model.activation of a CNN."""

    relu = "relu"
    prelu = "prelu"
    silu = "silu"


class ResNetBlock(Choice):
    """model.block of model=resnet: 3x3 -> 3x3 | 1x1 -> 3x3 -> 1x1 (4x expansion)."""

    basic = "basic"
    bottleneck = "bottleneck"


class PointEstimate(Choice):
    """model.point_estimate: z_phot from the PDF (photoz.predictions.pdf)."""

    zstar = "zstar"
    mean = "mean"
    median = "median"
    mode = "mode"


class Prior(Choice):
    """model.prior of model=template_fit: flat | BPZ's HDF-N n(z, type | m) | Smail n(z | m)."""

    none = "none"
    benitez = "benitez"
    smail = "smail"


class NeighbourWeights(Choice):
    """model.weights of model=knn."""

    uniform = "uniform"
    distance = "distance"


class SedModel(Choice):
    """data.sed_model of the simulator: empirical (v8, default: band fluxes from the deconvolved density of
    cosmoDC2's training photometry, on rank-matched v6 galaxies) | cosmos (v4–v6) | realistic (v3) | cww (the
    template fit's own)."""

    cosmos = "cosmos"
    realistic = "realistic"
    cww = "cww"
    empirical = "empirical"


class SedPopulation(Choice):
    """data.sed_population of sed_model=cosmos (refused with another model): cosmodc2 (v5–v6, calibrated on
    cosmoDC2's training sample) | physics (v4)."""

    cosmodc2 = "cosmodc2"
    physics = "physics"


class Depth(Choice):
    """data.depth of the simulator: the noise level."""

    y10 = "y10"
    y1 = "y1"
    single_visit = "single_visit"


class LabelSelection(Choice):
    """data.labels.selection: which training galaxies keep their redshift (photoz.data.labels):
    any (random) | brighter than data.labels.mag_limit (magnitude) | a spectroscopic survey's
    selection and success rate, through LSST DESC RAIL's SpecSelection degraders (rail extra)."""

    random = "random"
    magnitude = "magnitude"
    zcosmos = "zcosmos"  # RAIL SpecSelection_zCOSMOS: i < 22.5, success rate in (i, z) (Lilly et al. 2009)
    vvds = "vvds"  # RAIL SpecSelection_VVDSf02: 17.5 < i < 24, success in i and z (Le Fèvre et al. 2005, 2013)
    deep2 = "deep2"  # RAIL SpecSelection_DEEP2_LSST: R < 24.1 and colour cut, success in R (Newman et al. 2013)
    hsc = "hsc"  # RAIL SpecSelection_HSC: the HSC spec-z training set's density in (i, g - z)
    gama = "gama"  # RAIL SpecSelection_GAMA: r < 19.87
    boss = "boss"  # RAIL SpecSelection_BOSS: the LOWZ and CMASS colour cuts


class Layout(Choice):
    """fits_cube.layout= / numpy.layout= of python -m photoz.ingest: the axis order of the image arrays."""

    NCHW = "NCHW"
    NHWC = "NHWC"


class PredictFormat(Choice):
    """format= of python -m photoz.predict: a FITS table | a qp.Ensemble HDF5 file."""

    fits = "fits"
    qp = "qp"


class PredictPrecision(Choice):
    """photoz.predict precision=: fp32 (the fast path) | int8 (ONNX Runtime static quantisation, CNNs)."""

    fp32 = "fp32"
    int8 = "int8"


class Direction(Choice):
    """hydra.sweeper.direction."""

    minimize = "minimize"
    maximize = "maximize"


class Sampler(Choice):
    """hydra.sweeper.sampler."""

    tpe = "tpe"
    random = "random"
    gp = "gp"
    grid = "grid"


class Pruner(Choice):
    """hydra.sweeper.pruner."""

    median = "median"
    hyperband = "hyperband"
    successive_halving = "successive_halving"
    none = "none"


class CompareRuns(Choice):
    """runs= of python -m photoz.compare: the best run per model | every finished run (a study's
    trials) | one row per model over runs that differ only in seed (mean ± std)."""

    best = "best"
    all = "all"
    seeds = "seeds"


class Calibration(Choice):
    """model.calibration of model=ensemble (photoz.ensemble): no recalibration | a PIT recalibration
    fitted on the val split (Bordoloi et al. 2010; photoz.predictions.calibration)."""

    none = "none"
    pit = "pit"
