"""Batches sliced from a split's images with no per-sample Python.

A split that fits under `preload_max_gb` is copied once into one contiguous float32 tensor, and a
batch is a single `index_select`. A larger split stays memmapped and each batch is one sorted
fancy-index read from the memmap. Either way there is no Dataset/DataLoader per-sample overhead.
Each batch is a safe point where a received Ctrl-C or SIGTERM is raised (photoz.interrupt).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from photoz import interrupt

_COPY_CHUNK = 2048  # images per chunk when preloading from the memmap


class BatchSource:
    """The images, redshifts and (with model.catalog_features) raw catalogue columns of some rows
    of a data set, served in batches (x, catalog or None, z) on `device`."""

    def __init__(
        self,
        images: np.ndarray,
        index: np.ndarray,
        z: np.ndarray,
        device: torch.device,
        preload_max_gb: float,
        catalog: np.ndarray | None = None,
    ) -> None:
        self.index = np.asarray(index)
        self.device = device
        self.z = torch.as_tensor(np.asarray(z, dtype=np.float32)).to(device)
        self.catalog = None if catalog is None else torch.as_tensor(np.asarray(catalog, dtype=np.float32)).to(device)
        nbytes = len(self.index) * int(np.prod(images.shape[1:])) * 4
        self.preloaded = nbytes <= preload_max_gb * 1e9
        self.images = self._preload(images) if self.preloaded else images

    def _preload(self, images: np.ndarray) -> torch.Tensor:
        out = torch.empty((len(self.index), *images.shape[1:]), dtype=torch.float32)
        for start in range(0, len(self.index), _COPY_CHUNK):
            rows = self.index[start : start + _COPY_CHUNK]
            out[start : start + len(rows)] = torch.from_numpy(np.asarray(images[rows], dtype=np.float32))
        if self.device.type == "cuda":
            return out.to(self.device)
        return out

    def __len__(self) -> int:
        return len(self.index)

    def take(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Images (B, C, H, W), catalogue rows (B, K) or None, and redshifts (B,) at positions
        `pos` (0..len-1) of this source."""
        if self.preloaded:
            x = self.images.index_select(0, pos.to(self.images.device))
        else:
            pos = torch.sort(pos).values  # sorted rows read the memmap sequentially
            rows = self.index[pos.numpy()]
            x = torch.from_numpy(np.asarray(self.images[rows], dtype=np.float32))
        catalog = None if self.catalog is None else self.catalog[pos.to(self.catalog.device)]
        return x.to(self.device, non_blocking=True), catalog, self.z[pos.to(self.z.device)]

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]]:
        """Every row once; shuffled training epochs drop the last partial batch (BatchNorm needs
        more than one sample and a reshuffle covers it next epoch)."""
        n = len(self)
        if shuffle:
            order = torch.randperm(n, generator=generator)
            stop = n - n % batch_size if n >= batch_size else n
        else:
            order, stop = torch.arange(n), n
        for start in range(0, stop, batch_size):
            interrupt.check()
            yield self.take(order[start : min(start + batch_size, stop)])

    def n_batches(self, batch_size: int, shuffle: bool = False) -> int:
        n = len(self)
        if shuffle and n >= batch_size:
            return n // batch_size
        return -(-n // batch_size)
