"""Diagnostic plots of any estimator's Predictions (CNNs and baselines alike).

    zphot_vs_zspec   2-d density of z_phot against z_spec, the 1:1 line, the η bounds
                     (|Δz| = 0.05) and σ_MAD, bias, η written on the panel
    dz_vs_zspec      Δz against z_spec with σ_MAD and the median Δz per z_spec bin
    pit              PIT histogram (flat = calibrated PDFs; from the PDF, or Gaussian z ± z_err)
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from photoz.predictions.table import Predictions  # noqa: E402
from photoz.predictions.metrics import ETA_THRESHOLD, delta_z, per_z_bin, sigma_mad  # noqa: E402
from photoz.predictions.pdf import pit  # noqa: E402

N_Z_BINS = 10  # redshift bins of the per-bin σ_MAD curve


def _z_top(pred: Predictions) -> float:
    """Upper axis limit: a little above the largest redshift shown."""
    return 1.05 * float(max(np.max(pred.z_spec), np.percentile(pred.z_phot, 99.5)))


def _metrics_text(pred: Predictions) -> str:
    m = pred.metrics()
    return (
        f"N = {len(pred.z_spec)}\n"
        f"σ_MAD = {m['sigma_mad']:.4f}\n"
        f"bias = {m['bias']:+.4f} ± {m['bias_err']:.4f}\n"
        f"η = {100 * m['eta']:.2f} %"
    )


def zphot_vs_zspec(pred: Predictions, title: str = "") -> Figure:
    """Density of (z_spec, z_phot) with the outlier bounds and the metrics on the panel."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = _z_top(pred)
    bins = np.linspace(0, top, 80)
    *_, image = ax.hist2d(pred.z_spec, pred.z_phot, bins=[bins, bins], norm=LogNorm(), cmap="viridis", cmin=1)
    fig.colorbar(image, ax=ax, label="galaxies per cell")
    z = np.array([0, top])
    ax.plot(z, z, "k-", lw=0.8)
    for sign in (-1, 1):
        ax.plot(z, z + sign * ETA_THRESHOLD * (1 + z), "k--", lw=0.6)
    ax.text(0.03, 0.97, _metrics_text(pred), transform=ax.transAxes, va="top", fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="z_spec", ylabel="z_phot", title=f"{title} z_phot vs z_spec".strip())
    fig.tight_layout()
    return fig


def dz_vs_zspec(pred: Predictions, title: str = "") -> Figure:
    """Δz against z_spec, with σ_MAD and median Δz in bins of z_spec."""
    dz = delta_z(pred.z_phot, pred.z_spec)
    edges = np.linspace(0, np.max(pred.z_spec) * 1.0001, N_Z_BINS + 1)
    sig, med = (per_z_bin(f, dz, pred.z_spec, edges) for f in (sigma_mad, np.median))
    shown = ~np.isnan(sig)  # bins with too few galaxies get no point
    centres, sig, med = ((edges[1:] + edges[:-1]) / 2)[shown], sig[shown], med[shown]
    fig, (ax, ax_sig) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, height_ratios=[2, 1])
    ax.scatter(pred.z_spec, dz, s=2, alpha=0.3, color="tab:blue", rasterized=True)
    ax.axhline(0, color="k", lw=0.8)
    for sign in (-1, 1):
        ax.axhline(sign * ETA_THRESHOLD, color="k", ls="--", lw=0.6)
    ax.plot(centres, med, "o-", color="tab:red", label="median Δz")
    span = max(3 * ETA_THRESHOLD, 4 * sigma_mad(dz))
    ax.set(ylim=(-span, span), ylabel="Δz = (z_phot − z_spec)/(1 + z_spec)", title=f"{title} Δz vs z_spec".strip())
    ax.legend(loc="upper right", fontsize=8)
    ax.tick_params(labelbottom=True)  # sharex hides the z_spec ticks of the upper panel
    ax_sig.plot(centres, sig, "o-", color="tab:green")
    ax_sig.axhline(sigma_mad(dz), color="tab:green", ls=":", lw=0.8, label=f"all: {sigma_mad(dz):.4f}")
    ax_sig.set(xlabel="z_spec", ylabel="σ_MAD per bin", ylim=(0, None))
    ax_sig.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def pit_values(pred: Predictions) -> np.ndarray | None:
    """PIT from the PDF; Gaussian PIT from z_phot ± z_err when there is no PDF; None if neither."""
    if pred.pdf is not None and pred.z_grid is not None:
        return pit(pred.pdf, pred.z_grid, pred.z_spec)
    if np.all(np.isfinite(pred.z_err)) and np.all(pred.z_err > 0):
        from scipy.stats import norm

        return norm.cdf((pred.z_spec - pred.z_phot) / pred.z_err)
    return None


def pit_histogram(values: np.ndarray, title: str = "") -> Figure:
    """Histogram of PIT values against the flat line of a calibrated estimator."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(values, bins=20, range=(0, 1), density=True, color="tab:blue", alpha=0.7)
    ax.axhline(1.0, color="k", ls="--", lw=0.8, label="calibrated")
    ax.set(xlim=(0, 1), xlabel="PIT", ylabel="density", title=f"{title} PIT".strip())
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def prediction_figures(pred: Predictions, title: str = "") -> dict[str, Figure]:
    """Every diagnostic figure for `pred`, by file stem."""
    figs = {"zphot_vs_zspec": zphot_vs_zspec(pred, title), "dz_vs_zspec": dz_vs_zspec(pred, title)}
    values = pit_values(pred)
    if values is not None:
        figs["pit"] = pit_histogram(values, title)
    return figs
