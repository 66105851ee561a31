"""How far model.dimming_to=sample dims the labelled galaxies of each selection, and how bright they
then are against the test galaxies (docs/labels.md, "How far: model.dimming_to=sample").

    python benchmarks/dimming_depths.py data/lsst_sim-<hash>        # the data set a run printed ("data set: ...")
    python benchmarks/dimming_depths.py PATH --selections vvds --passes 5 --cap 10

For each selection (data.labels: a survey's selection, or `random:<n>`) it builds the augmentation
a CNN would train with (model.dimming=<cap> model.dimming_to=sample), draws it `--passes` times over
every labelled train stamp and prints the share of draws dimmed, the mean Δm over all draws and over
the dimmed ones, the dimmed draws' 0.9 quantile and largest Δm, and the brightness quantiles (10, 25,
50, 75, 90 %, as magnitudes relative to the test split's median) of the labelled stamps as they are,
as dimmed, and of the test stamps. No training; seconds.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from photoz.choices import DimmingTo, LabelSelection
from photoz.data import read_dataset
from photoz.data.labels import apply_labels
from photoz.data.schema import LabelsConfig
from photoz.errors import PhotozError
from photoz.estimators.cnn import CNNEstimator
from photoz.models.schema import CNNConfig
from photoz.training.dimming import brightness

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def stamps(view, split: str) -> torch.Tensor:
    """(n, C, H, W) float32 stamps of a split of the view."""
    return torch.from_numpy(np.asarray(view.images[np.sort(view.split_index(split))], np.float32))


def mags(signal: torch.Tensor, zero: float) -> str:
    """Brightness quantiles as magnitudes relative to `zero` (fainter is positive)."""
    q = torch.quantile(signal.clamp(min=1e-3), torch.tensor(QUANTILES))
    return " ".join(f"{-2.5 * np.log10(v / zero):+.2f}" for v in q.tolist())


def parse_selection(text: str) -> LabelsConfig:
    """`<selection>` or `<selection>:<n>` as data.labels; one line and exit 1 if it is neither."""
    name, _, n = text.partition(":")
    if name not in LabelSelection.__members__ or not (n == "" or n.isdigit()):
        raise SystemExit(f"dimming_depths: {text!r} is not <selection>[:<n>] with a selection among "
                         f"{', '.join(LabelSelection.__members__)}, e.g. vvds or random:4000")  # fmt: skip
    return LabelsConfig(selection=LabelSelection(name), n=int(n) if n else None)


def depths(path: str, selection: str, passes: int, cap: float) -> None:
    """Print one selection's dimming depths and brightness quantiles."""
    view = apply_labels(read_dataset(path, validate=False), parse_selection(selection))
    dim = CNNEstimator(CNNConfig(dimming=cap, dimming_to=DimmingTo.sample))._augment(view)
    labelled, g = stamps(view, "train"), torch.Generator().manual_seed(0)
    a = torch.cat([dim.factor(labelled, g) for _ in range(passes)])
    dm = -2.5 * torch.log10(a)
    dimmed = dm[dm > 0.01]
    own = brightness(labelled, dim.sigma)
    test = brightness(stamps(view, "test"), dim.sigma)
    zero = test.median().item()
    print(f"{selection}: {len(labelled)} labelled train galaxies, {100 * len(dimmed) / len(dm):.0f} % of draws dimmed; "
          f"mean Δm {dm.mean():.2f} (all draws), {dimmed.mean():.2f} (dimmed); dimmed 0.9 quantile "
          f"{dimmed.quantile(0.9):.2f}, largest {dm.max():.2f} mag")  # fmt: skip
    print(f"  brightness quantiles {QUANTILES} (faint to bright), mag from the test median: labelled {mags(own, zero)}; "
          f"dimmed {mags(own.repeat(passes) * a, zero)}; test {mags(test, zero)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a data set folder (data/lsst_sim-<hash>)")
    parser.add_argument("--selections", default="vvds,deep2,random:4000", help="data.labels selections, random:<n> for n random labels")
    parser.add_argument("--passes", type=int, default=5, help="draws over every labelled stamp")
    parser.add_argument("--cap", type=float, default=10.0, help="model.dimming: the largest Δm")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        for selection in args.selections.split(","):
            depths(args.data, selection, args.passes, args.cap)
    except PhotozError as err:  # a bad data set or selection: its one line, no traceback
        raise SystemExit(f"dimming_depths: {err}") from None


if __name__ == "__main__":
    main()
