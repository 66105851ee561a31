"""Colours of the realistic (simulator v3) population beside the cww one and a public LSST-like
reference, for docs/data.md.

    python benchmarks/sed_model_figures.py --n 5000     # writes docs/figures/sed_models_colours.png

Draws the same galaxies (same seed) with data.sed_model=realistic and cww and plots true
(noiseless) colours: u−g vs g−r and r−i vs i−z, and g−r, r−i against redshift. The reference is
the cosmoDC2 v1.1.4 sample that LSST DESC's RAIL ships on PyPI (pz-rail-base,
examples_data/testdata/test_dc2_training_9816.pq: 10,225 galaxies at i < 25.3 with 10-year LSST
magnitude errors, so its colours carry noise ours do not; non-detections, mag 99, are dropped
per colour). Prints median colours and spreads per population, and median g−r and r−i per
redshift bin side by side.
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
DC2 = "examples_data/testdata/test_dc2_training_9816.pq"  # inside RAIL's package (the rail extra)
Z_EDGES = (0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0)


def colours(sed_model: str, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    truth, _, _ = make_truth(OmegaConf.structured(LsstSimData(n_galaxies=n, sed_model=sed_model)), BANDS)
    mag = {b: np.asarray(truth[f"true_mag_{b}"], float) for b in BANDS}
    return np.asarray(truth["redshift"], float), {f"{a}-{b}": mag[a] - mag[b] for a, b in zip(BANDS[:-1], BANDS[1:])}


def dc2_colours() -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Redshifts and colours of RAIL's cosmoDC2 sample (NaN where a band is undetected), or None
    without the rail extra."""
    try:
        import pandas as pd
        from rail.utils.path_utils import find_rail_file
    except ImportError:
        return None
    table = pd.read_parquet(find_rail_file(DC2))
    mag = {b: np.where(table[f"mag_{b}_lsst"] < 90, table[f"mag_{b}_lsst"], np.nan) for b in BANDS}
    return table["redshift"].to_numpy(float), {f"{a}-{b}": mag[a] - mag[b] for a, b in zip(BANDS[:-1], BANDS[1:])}


def per_z_medians(z: np.ndarray, colour: np.ndarray) -> list[float]:
    """Median colour per Z_EDGES bin (NaN-aware)."""
    return [float(np.nanmedian(colour[(z >= lo) & (z < hi)])) for lo, hi in zip(Z_EDGES[:-1], Z_EDGES[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    populations = [(name, colour, colours(name, args.n)) for name, colour in (("cww", "C0"), ("realistic", "C3"))]
    reference = dc2_colours()
    if reference is None:
        print("no reference: RAIL (pip install -e '.[rail]') is not installed")
    else:
        populations.insert(0, ("cosmoDC2 (RAIL)", "0.5", reference))
    for name, colour, (z, c) in populations:
        spread = {k: np.subtract(*np.nanpercentile(v, [84, 16])) for k, v in c.items()}
        print(f"{name:16s}", " ".join(f"{k} {np.nanmedian(v):+.3f} (16-84% {spread[k]:.3f})" for k, v in c.items()))
    bins = "  ".join(f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(Z_EDGES[:-1], Z_EDGES[1:]))
    for key in ("g-r", "r-i"):
        print(f"median {key} per z bin: {bins}")
        for name, _, (z, c) in populations:
            print(f"  {name:16s}", "  ".join(f"{m:+7.2f}" for m in per_z_medians(z, c[key])))
    for name, colour, (z, c) in populations:
        kw = dict(s=2, alpha=0.25, color=colour, label=name, rasterized=True)
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
    fig.suptitle(f"true colours of the same {args.n} galaxies, data.sed_model=cww vs realistic, beside RAIL's cosmoDC2 sample (observed, 10-yr errors)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
