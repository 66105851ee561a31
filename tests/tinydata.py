"""A tiny seeded data set in the real format, importable from any test as `tinydata`.

(Test modules cannot import `conftest` reliably: tests/sweeper has a conftest.py of its own.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from photoz.data import Dataset, write_dataset

BANDS = list("ugrizy")
# the smallest CNN a training test runs: `python -m photoz.train data=directory data.path=... *SMALL_CNN`
SMALL_CNN = ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.max_epochs=1"]


def make_tiny_dataset(
    path: Path, n: int = 48, bands: list[str] = BANDS, size: int = 16, seed: int = 0
) -> Dataset:
    """A few dozen Gaussian blobs whose colours and size track redshift, so a model can learn a
    little in one epoch; noise is Gaussian. Not physics: physics tests use photoz.data.simulate."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.5, n)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    sigma = 1.0 + 2.0 / (1.0 + z)
    profile = np.exp(-(xx**2 + yy**2)[None] / (2 * sigma[:, None, None] ** 2))
    slope = np.linspace(-1, 1, len(bands))
    amp = 100.0 * np.exp(np.outer(z - 0.7, slope))
    images = amp[:, :, None, None] * profile[:, None] + rng.normal(0, 1.0, (n, len(bands), size, size))
    split = np.array(["train"] * n, dtype="U5")
    split[int(0.6 * n) : int(0.8 * n)] = "val"
    split[int(0.8 * n) :] = "test"
    catalog = Table({"id": np.arange(1, n + 1, dtype=np.int64), "redshift": z, "split": split})
    for i, b in enumerate(bands):
        catalog[f"flux_{b}"] = images[:, i].sum(axis=(1, 2))
        catalog[f"flux_err_{b}"] = np.full(n, float(size))
    meta = {"bands": list(bands), "pixel_scale": 0.2, "generator": {"name": "tests.conftest"}}
    return write_dataset(path, images.astype(np.float32), catalog, meta)
