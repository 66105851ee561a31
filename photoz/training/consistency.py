"""Semi-supervised training by consistency (model.semi_supervised=consistency).

Unsupervised Data Augmentation (UDA; Xie et al. 2020, NeurIPS 33, 6256): besides its labelled
batch, each training step draws `ratio` x batch_size galaxies of the `unlabelled` split
(photoz.data.labels: their redshifts are hidden, their images are not). The network's PDF of a
weak view of each (a flip / 90° rotation, as labelled galaxies get), taken without gradient and
sharpened by `temperature`, is the target for its PDF of a strong view (photoz.training.views:
shift, PSF broadening, noise re-drawn at the catalogue's depth, a reddening jitter, the changes
contrastive pretraining uses). The step's loss is the labelled loss + `weight` x KL(target || PDF
of the strong view). A redshift does not change under these views, so the network learns to give
the galaxies the survey needs photo-z for (not only the labelled ones) PDFs that do not change
either. With `target=<catalogue estimator>` the target is instead that estimator's PDF of each
unlabelled galaxy, fitted on the same labelled galaxies (a teacher, as in knowledge distillation,
Hinton et al. 2015, and Noisy Student, Xie et al. 2020, CVPR): it ties the unlabelled galaxies
to a redshift read from their colours, which the network's own PDF cannot do
(photoz.estimators.teacher). Labelled images and strong views go through the network as one
batch: one forward before one backward, as DDP needs, and BatchNorm sees both populations.
Unlike UDA's single pass, the target's is a pass of its own (training mode, no gradient), which
costs no backward but has its own BatchNorm statistics and dropout (docs/labels.md). Every draw
comes from the step's generator, so a resumed run continues the same sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photoz.config import changed_keys, plain
from photoz.errors import ConfigError
from photoz.models.schema import ConsistencyConfig, HeadConfig
from photoz.training.augment import random_dihedral
from photoz.training.batches import BatchSource
from photoz.training.runtime import Runtime
from photoz.training.views import Views


def strong_views(cfg: ConsistencyConfig, bands: list[str], sigma: np.ndarray) -> Views:
    """The strong views of model.consistency.views for `bands` with sky noise `sigma` (nJy)."""
    return Views(cfg.views, bands, sigma, where="model.consistency.views")


def check_semi_supervised(model_cfg: HeadConfig, bands: list[str], n_unlabelled: int) -> None:
    """ConfigError unless model.semi_supervised=consistency can run (a pdf head, 0 <= weight < inf,
    ratio >= 1, 0 < temperature < inf, views these bands allow, unlabelled galaxies), or, with
    semi_supervised=none, if model.consistency was set anyway (it would have no effect); the
    target is photoz.estimators.teacher's to check."""
    c = model_cfg.consistency
    if model_cfg.semi_supervised == "none":
        changed = list(changed_keys(plain(c), plain(ConsistencyConfig())))
        if changed:
            raise ConfigError(f"model.consistency.{changed[0]} is set but model.semi_supervised=none, so it has no effect: "
                              "add model.semi_supervised=consistency, or drop it")  # fmt: skip
        return
    if model_cfg.head != "pdf":
        raise ConfigError("model.semi_supervised=consistency compares PDFs: it needs model.head=pdf")
    bad = {"weight": not 0 <= c.weight < math.inf, "ratio": c.ratio < 1, "temperature": not 0 < c.temperature < math.inf}
    bounds = {"weight": "a finite number >= 0", "ratio": "an integer >= 1", "temperature": "a finite number > 0"}
    for key, wrong in bad.items():
        if wrong:
            raise ConfigError(f"model.consistency.{key}={getattr(c, key)} must be {bounds[key]}")
    strong_views(c, bands, np.ones(len(bands)))
    if n_unlabelled == 0:
        raise ConfigError("model.semi_supervised=consistency learns from unlabelled galaxies, and every train and val "
                          "galaxy of this data set keeps its redshift: label fewer with data.labels.n=<n> (less than "
                          "the train split) or data.labels.selection=<survey> (docs/labels.md)")  # fmt: skip


class Consistency:
    """The unlabelled term of each training step: `source` the unlabelled galaxies, `views` their
    strong views, `batch_size` the labelled batch (ratio x batch_size unlabelled per step);
    `teacher`: a fixed target PDF (len(source), n_bins) per galaxy (model.consistency.target), else
    the network's own PDF of a weak view."""

    def __init__(
        self, cfg: ConsistencyConfig, source: BatchSource, views: Views, batch_size: int, teacher: torch.Tensor | None = None
    ) -> None:  # fmt: skip
        self.cfg = cfg
        self.source = source
        self.views = views
        self.n = cfg.ratio * batch_size
        self.teacher = teacher

    def loss(
        self, net: nn.Module, labelled: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor],
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], rt: Runtime, g: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """(labelled loss + weight x consistency, consistency) of one step; `labelled` is the
        step's (augmented images, catalogue rows or None, redshifts)."""
        x, catalog, z = labelled
        pos = torch.randint(0, len(self.source), (self.n,), generator=g)
        x_u, catalog_u, _ = self.source.take(pos)
        weak, strong = random_dihedral(x_u, g), self.views(x_u, g)  # weak drawn with a teacher too: one draw sequence
        if self.teacher is None:
            with torch.no_grad():
                target = torch.softmax(rt.forward(net, weak, catalog_u).float() / self.cfg.temperature, dim=1)
        else:
            target = sharpened(self.teacher[pos.to(self.teacher.device)], self.cfg.temperature)
        both = rt.forward(net, torch.cat([x, strong]), None if catalog is None else torch.cat([catalog, catalog_u])).float()
        agree = F.kl_div(F.log_softmax(both[len(x) :], dim=1), target, reduction="batchmean")
        return loss_fn(both[: len(x)], z) + self.cfg.weight * agree, agree


def sharpened(pdf: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, n_bins) probabilities `pdf` raised to 1 / temperature and normalised, as a softmax of
    logits / temperature would be (temperature 1: unchanged)."""
    if temperature == 1:
        return pdf
    powered = pdf.clamp_min(0) ** (1 / temperature)
    return powered / powered.sum(dim=1, keepdim=True).clamp_min(torch.finfo(pdf.dtype).tiny)
