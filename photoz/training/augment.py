"""Batched augmentation by the 8 symmetries of the square (flips and 90° rotations).

A galaxy's redshift does not depend on its orientation. Each element of the dihedral group is a
composition of (optional) horizontal flip, vertical flip and transpose, so three masked
`torch.where` calls give every stamp its own random symmetry with no per-sample Python.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]  # (labelled stamps, generator) -> stamps


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply an independent random flip/rotation to each stamp of a (B, C, H, W) batch.

    Non-square stamps get flips only (a transpose would change their shape).
    """
    n_ops = 3 if x.shape[-1] == x.shape[-2] else 2
    draws = torch.randint(0, 2, (n_ops, x.shape[0], 1, 1, 1), generator=generator, device="cpu").bool()
    draws = draws.to(x.device, non_blocking=True)
    x = torch.where(draws[0], x.flip(-1), x)
    x = torch.where(draws[1], x.flip(-2), x)
    if n_ops == 3:
        x = torch.where(draws[2], x.transpose(-1, -2), x)
    return x
