"""Figures of the cosmoDC2 comparison in benchmarks/simulation_validation.py (docs/data.md):
median colour–redshift tracks, colour–colour densities and the blue fraction against redshift."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from cosmodc2_reference import BLUE_Z_EDGES, COLOURS, Z_EDGES, blue_fraction, colours, median_tracks  # noqa: E402

STYLE = {"cosmoDC2": ("k", "-"), "v8 (empirical, default)": ("tab:purple", "-"), "v6 (cosmos, cosmodc2)": ("tab:green", "-"),
         "v5 (v6 with the Science Book n(z | i))": ("tab:olive", "-."), "v4 (cosmos, physics)": ("tab:blue", "--"),
         "v3 (realistic)": ("tab:red", ":")}


def plot_tracks(samples: dict[str, tuple[np.ndarray, dict]], path: Path) -> None:
    """Median colour per Δz = 0.1 bin (lines) and the 16–84 % range of cosmoDC2, v8 and v6 (bands)."""
    fig, axes = plt.subplots(1, 5, figsize=(19, 3.8))
    mid = 0.5 * (Z_EDGES[:-1] + Z_EDGES[1:])
    for name, (z, mag) in samples.items():
        col = colours(mag)
        med = median_tracks(z, col)[0]
        colour, line = STYLE[name]
        for c, ax in enumerate(axes):
            ax.plot(mid, med[:, c], line, color=colour, lw=2, label=name)
            if name in ("cosmoDC2", "v8 (empirical, default)", "v6 (cosmos, cosmodc2)"):
                lo, hi = (np.array([np.nanpercentile(col[(z >= a) & (z < b), c], q) if ((z >= a) & (z < b)).sum() > 50 else np.nan
                                    for a, b in zip(Z_EDGES[:-1], Z_EDGES[1:])]) for q in (16, 84))
                ax.fill_between(mid, lo, hi, color=colour, alpha=0.12)
    for (a, b), ax in zip(COLOURS, axes):
        ax.set(xlim=(0, 2.5), xlabel="redshift", ylabel=f"{a} − {b}", title=f"median {a} − {b} (band: 16–84 %)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_colour_colour(samples: dict[str, tuple[np.ndarray, dict]], path: Path) -> None:
    """Density contours (enclosing 30, 60, 90 %) of u−g/g−r, g−r/r−i, r−i/i−z at 0.2 < z < 2."""
    pairs = ((0, 1), (1, 2), (2, 3))
    limits = ((-0.8, 2.5), (-0.5, 2.2), (-0.5, 1.6), (-0.5, 1.2))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    for name, (z, mag) in samples.items():
        col = colours(mag)[(z > 0.2) & (z < 2.0)]
        colour, line = STYLE[name]
        for (x, y), ax in zip(pairs, axes):
            ok = np.isfinite(col[:, x]) & np.isfinite(col[:, y])
            h, xe, ye = np.histogram2d(col[ok, x], col[ok, y], 50, [limits[x], limits[y]])
            h = gaussian_filter(h, 1.2)  # smooth the counting noise of ~10^4 galaxies
            levels = _enclosing_levels(h, (0.9, 0.6, 0.3))
            ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T, levels, colors=colour, linestyles=line)
            ax.plot([], [], line, color=colour, label=name)
    for (x, y), ax in zip(pairs, axes):
        ax.set(xlabel=" − ".join(COLOURS[x]), ylabel=" − ".join(COLOURS[y]))
    axes[0].legend(fontsize=8)
    fig.suptitle("colour–colour densities, 0.2 < z < 2 (contours enclose 30, 60, 90 % of each sample)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _enclosing_levels(h: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Histogram heights above which the given fractions of the counts lie (increasing)."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    return sorted({float(flat[min(np.searchsorted(cum, f), len(flat) - 1)]) for f in fractions})


def plot_blue_fraction(samples: dict[str, tuple[np.ndarray, dict]], path: Path) -> None:
    """Fraction of galaxies bluer than midway between the COSMOS Ell4 and Sc templates across the 4000 Å break."""
    fig, ax = plt.subplots(figsize=(6, 4))
    mid = 0.5 * (BLUE_Z_EDGES[:-1] + BLUE_Z_EDGES[1:])
    for name, (z, mag) in samples.items():
        colour, line = STYLE[name]
        ax.plot(mid, blue_fraction(z, colours(mag)), line, color=colour, marker="o", label=name)
    ax.set(xlabel="redshift", ylabel="blue fraction", ylim=(0, 1.02))
    ax.set_title("blue fraction: 4000 Å break colour bluer than\nmidway between COSMOS Ell4 and Sc", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
