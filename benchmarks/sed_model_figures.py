"""Colours of the realistic (simulator v3) population beside the cww one, for docs/data.md.

    python benchmarks/sed_model_figures.py --n 5000     # writes docs/figures/sed_models_colours.png

Draws the same galaxies (same seed) with data.sed_model=realistic and cww and plots true
(noiseless) colours: u−g vs g−r and r−i vs i−z, and g−r, r−i against redshift. Prints median
colours and their spread per model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from photoz.data.schema import LsstSimData  # noqa: E402
from photoz.data.simulate.build import make_truth  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "sed_models_colours.png"
BANDS = list("ugrizy")


def colours(sed_model: str, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    truth, _, _ = make_truth(OmegaConf.structured(LsstSimData(n_galaxies=n, sed_model=sed_model)), BANDS)
    mag = {b: np.asarray(truth[f"true_mag_{b}"], float) for b in BANDS}
    return np.asarray(truth["redshift"], float), {f"{a}-{b}": mag[a] - mag[b] for a, b in zip(BANDS[:-1], BANDS[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for sed_model, colour in (("cww", "C0"), ("realistic", "C3")):
        z, c = colours(sed_model, args.n)
        print(sed_model, " ".join(f"{k} {np.median(v):+.3f} (16-84% {np.subtract(*np.percentile(v, [84, 16])):.3f})" for k, v in c.items()))
        kw = dict(s=2, alpha=0.25, color=colour, label=sed_model, rasterized=True)
        axes[0].scatter(c["g-r"], c["u-g"], **kw)
        axes[1].scatter(c["i-z"], c["r-i"], **kw)
        axes[2].scatter(z, c["g-r"], **kw)
        axes[3].scatter(z, c["r-i"], **kw)
    for ax, (x, y) in zip(axes, (("g−r", "u−g"), ("i−z", "r−i"), ("z", "g−r"), ("z", "r−i"))):
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
    axes[0].set_xlim(-0.5, 2.0), axes[0].set_ylim(-0.5, 3.0)
    axes[1].set_xlim(-0.3, 1.2), axes[1].set_ylim(-0.3, 1.6)
    axes[0].legend(markerscale=6)
    fig.suptitle(f"true colours of the same {args.n} galaxies: data.sed_model=cww vs realistic")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
