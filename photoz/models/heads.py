"""Output heads shared by the CNNs, and what the training code needs from them.

`pdf` (default): logits over `model.n_bins` equal bins on [0, model.z_max]; the PDF is their
softmax and z_phot its mean over bin *centres* (photoz.predictions.z_grid), z_err its
standard deviation. `regression`: one output, z_phot = z_max · sigmoid(output) (so z ≥ 0 and the
target is O(1)); it has no per-galaxy error, so z_err is NaN.

Losses:
- pdf: cross-entropy on the bin that holds the true z (Pasquet et al. 2019). It is a proper
  scoring rule: its minimum is the true probability of each bin, so the PDFs come out
  calibrated (flat PIT). Gaussian-smoothed labels would widen every PDF by the kernel
  (over-dispersed PIT) and were not worth that at 180 bins.
- regression: Huber loss on Δz = (z_phot − z)/(1 + z) with δ = 0.05, the η outlier threshold:
  quadratic for ordinary errors, linear for outliers so they do not dominate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photoz.errors import ConfigError
from photoz.predictions.table import Predictions, z_grid
from photoz.predictions.metrics import ETA_THRESHOLD
from photoz.models.catalog import n_catalog_features
from photoz.models.schema import HeadConfig

def n_outputs(cfg: HeadConfig) -> int:
    """Logits the network ends with: model.n_bins for pdf, 1 for regression."""
    return cfg.n_bins if cfg.head == "pdf" else 1


class DenseHead(nn.Sequential):
    """Dense layers on the pooled/flattened features: (Linear → ReLU → Dropout) per hidden size,
    then Linear to the head's outputs (`.out`). With model.catalog_features the normalised
    catalogue features (B, F) are concatenated to the image features before the first layer."""

    def __init__(self, n_in: int, hidden: Sequence[int], dropout: float, n_out: int) -> None:
        layers: list[nn.Module] = []
        for n in hidden:
            layers += [nn.Linear(n_in, n), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            n_in = n
        if not hidden:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers, nn.Linear(n_in, n_out))

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x if catalog is None else torch.cat([x, catalog.to(x.dtype)], 1))

    @property
    def out(self) -> nn.Linear:
        return self[-1]


def make_head(cfg: HeadConfig, n_features: int, n_bands: int) -> DenseHead:
    """The dense head of any CNN: n_features image features plus model.catalog_features' inputs."""
    n_in = n_features + n_catalog_features(cfg, n_bands)
    return DenseHead(n_in, cfg.dense, cfg.dropout, n_outputs(cfg))


def _regression_z(logits: torch.Tensor, cfg: HeadConfig) -> torch.Tensor:
    return cfg.z_max * torch.sigmoid(logits.float()[:, 0])


def head_loss(logits: torch.Tensor, z: torch.Tensor, cfg: HeadConfig) -> torch.Tensor:
    """Mean training loss of a batch (computed in float32, also under bf16 autocast)."""
    z = z.float()
    if cfg.head == "pdf":
        target = (z / cfg.z_max * cfg.n_bins).long().clamp(0, cfg.n_bins - 1)
        return F.cross_entropy(logits.float(), target)
    return F.huber_loss(_regression_z(logits, cfg) / (1 + z), z / (1 + z), delta=ETA_THRESHOLD)


def head_predict(logits: torch.Tensor, cfg: HeadConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(z_phot, z_err, pdf or None) as numpy arrays; pdf is (N, n_bins) on z_grid(n_bins, z_max).

    The PDF moments come from Predictions.from_pdf so that every estimator computes z_phot
    the same way (its ids and z_spec are placeholders here)."""
    logits = logits.detach().float().cpu()
    n = len(logits)
    if cfg.head == "regression":
        return _regression_z(logits, cfg).numpy().astype(np.float64), np.full(n, np.nan), None
    probs = torch.softmax(logits, dim=1).numpy()
    grid = z_grid(cfg.n_bins, cfg.z_max)
    pred = Predictions.from_pdf(np.arange(n), np.zeros(n), probs, grid, cfg.point_estimate)
    return pred.z_phot, pred.z_err, pred.pdf


def check_redshift_range(z: np.ndarray, cfg: HeadConfig) -> None:
    """Refuse redshifts above model.z_max, which the pdf head would pile into its last bin
    (read_dataset has already refused negative ones)."""
    z_hi, z_max = float(np.max(z)), cfg.z_max
    if z_hi > z_max:
        raise ConfigError(
            f"the data set's redshifts reach {z_hi:.3f} but model.z_max={z_max}; "
            f"set model.z_max={np.ceil(z_hi * 10) / 10:.1f} or more"
        )
