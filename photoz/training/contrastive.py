"""Contrastive self-supervised pretraining of a CNN encoder: MoCo v2.

Method: momentum contrast (He et al. 2020, CVPR, "Momentum Contrast for Unsupervised Visual
Representation Learning"; v2's projection MLP and temperature: Chen et al. 2020, arXiv:2003.04297),
as Hayat et al. (2021, ApJL 911, L33) used it to pretrain on SDSS images for photo-z. Two views of
each galaxy (photoz.training.views) go through a query encoder and a key encoder, each followed by
a 2-layer projection MLP; the InfoNCE loss asks each query to pick its own galaxy's key among the
keys of `queue` earlier galaxies. The key encoder is a moving average of the query encoder
(`momentum`), so the queue's keys stay consistent; the queue decouples the number of negatives
from the batch size, which is why MoCo (not SimCLR, which needs batches of thousands) suits
CPU-sized batches. Keys are computed on a shuffled batch in groups (MoCo's "shuffle BN" on one
device), so BatchNorm statistics cannot tell a query which key is its own.

The encoder is any CNN of photoz.models with its dense head removed: PhotozNet's per-band
normalisation + the backbone up to the pooled features (`encoder`), so its weights load into the
same network a fine-tuning run builds (photoz.training.encoder).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photoz.models.build import build_model
from photoz.models.schema import HeadConfig
from photoz.training.net import PhotozNet
from photoz.training.schema import PretrainSchema

SHUFFLE_GROUPS = 4  # key batches are split in this many BatchNorm groups (at least 2 galaxies each)


class Features(nn.Module):
    """Stands in for a network's dense head: returns the pooled image features."""

    def forward(self, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        return x


def encoder(model_cfg: HeadConfig, bands: list[str], stamp: tuple[int, int], scale: np.ndarray) -> PhotozNet:
    """PhotozNet (normalisation `scale` per band + the backbone of `model_cfg`) without its head:
    (B, C, H, W) raw fluxes -> (B, F) features. Catalogue inputs belong to the head: none here."""
    cfg = dataclasses.replace(model_cfg, catalog_features=[])
    backbone = build_model(cfg, len(bands), int(stamp[0]))
    backbone.head = Features()
    return PhotozNet(backbone, scale, cfg, bands, stamp)


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """MoCo's InfoNCE loss of L2-normalised queries q (B, D) against their keys k (B, D) and the
    negatives `queue` (K, D): cross-entropy of picking index 0 among [q·k, q·queue] / temperature;
    and the share of queries whose own key scores highest."""
    positive = (q * k).sum(dim=1, keepdim=True)
    logits = torch.cat([positive, q @ queue.T], dim=1) / temperature
    target = torch.zeros(len(q), dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target), (logits.argmax(dim=1) == 0).float().mean()


def projector(n_in: int, n_out: int) -> nn.Sequential:
    """MoCo v2's projection head: Linear -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(n_in, n_in), nn.ReLU(inplace=True), nn.Linear(n_in, n_out))


class MoCo(nn.Module):
    """Query encoder + projector (trained), their moving-average copies (keys), the queue."""

    def __init__(self, net: PhotozNet, cfg: PretrainSchema) -> None:
        super().__init__()
        with torch.no_grad():
            n_features = net(torch.zeros(2, len(net.bands), *net.stamp)).shape[1]
        self.encoder_q, self.projector_q = net, projector(n_features, cfg.projection)
        self.encoder_k, self.projector_k = copy.deepcopy(self.encoder_q), copy.deepcopy(self.projector_q)
        for p in [*self.encoder_k.parameters(), *self.projector_k.parameters()]:
            p.requires_grad = False
        self.temperature, self.momentum = cfg.temperature, cfg.momentum
        generator = torch.Generator().manual_seed(0)
        self.register_buffer("queue", F.normalize(torch.randn(cfg.queue, cfg.projection, generator=generator), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    def forward(self, x_q: torch.Tensor, x_k: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, accuracy, keys) of one batch of two views; keys go into the queue after the step."""
        q = F.normalize(self.projector_q(self.encoder_q(x_q)), dim=1)
        with torch.no_grad():
            k = self._keys(x_k, g)
        loss, accuracy = info_nce(q.float(), k.float(), self.queue, self.temperature)
        return loss, accuracy, k

    def _keys(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Keys of a shuffled batch, BatchNorm statistics per group, back in the batch's order."""
        order = torch.randperm(len(x), generator=g).to(x.device)
        groups = max(1, min(SHUFFLE_GROUPS, len(x) // 2))
        k = torch.cat([self.projector_k(self.encoder_k(part)) for part in x[order].chunk(groups)])
        out = torch.empty_like(k)
        out[order] = k
        return F.normalize(out, dim=1)

    @torch.no_grad()
    def update_keys(self, k: torch.Tensor) -> None:
        """After an optimizer step: the key networks follow the query ones, the batch's keys
        replace the oldest in the queue."""
        m = self.momentum
        pairs = [(self.encoder_q, self.encoder_k), (self.projector_q, self.projector_k)]
        for online, target in pairs:
            for p_q, p_k in zip(online.parameters(), target.parameters()):
                p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)
        n, size = len(k), len(self.queue)
        rows = (self.queue_ptr + torch.arange(n, device=k.device)) % size
        self.queue[rows] = k.float()
        self.queue_ptr.copy_((self.queue_ptr + n) % size)
