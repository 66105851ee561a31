"""Side-by-side figures of the best run per model: z_phot vs z_spec panels, σ_MAD and η per
redshift bin, and σ_MAD against FLOPs, trainable parameters and galaxies/s (the cost frontier)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.table import Table  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from photoz.comparison.table import Best  # noqa: E402
from photoz.predictions.metrics import ETA_THRESHOLD, delta_z, eta, per_z_bin, sigma_mad  # noqa: E402

N_Z_BINS = 8


def zphot_panels(tables: dict[str, Table]) -> Figure:
    """One z_phot vs z_spec density panel per model, shared axes."""
    n = len(tables)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4 * rows), squeeze=False, sharex=True, sharey=True)
    top = 1.05 * max(float(np.max(t["z_spec"])) for t in tables.values())
    bins = np.linspace(0, top, 70)
    line = np.array([0, top])
    for ax, (model, t) in zip(axes.flat, tables.items()):
        ax.hist2d(t["z_spec"], t["z_phot"], bins=[bins, bins], norm=LogNorm(), cmap="viridis", cmin=1)
        ax.plot(line, line, "k-", lw=0.8)
        for sign in (-1, 1):
            ax.plot(line, line + sign * ETA_THRESHOLD * (1 + line), "k--", lw=0.6)
        dz = delta_z(t["z_phot"], t["z_spec"])
        ax.set_title(f"{model}: σ_MAD {sigma_mad(dz):.4f}, η {eta(dz):.1%}", fontsize=10)
        ax.set(xlim=(0, top), ylim=(0, top))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes.flat[:n]:  # every panel labels its own ticks: shared axes hide them on inner panels,
        ax.tick_params(labelbottom=True, labelleft=True)  # and on a panel above an empty slot
        ax.set(xlabel="z_spec", ylabel="z_phot")
    fig.tight_layout()
    return fig


def metrics_per_z(tables: dict[str, Table]) -> Figure:
    """σ_MAD and η in bins of z_spec, one line per model."""
    top = max(float(np.max(t["z_spec"])) for t in tables.values()) * 1.0001
    edges = np.linspace(0, top, N_Z_BINS + 1)
    centres = (edges[1:] + edges[:-1]) / 2
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    for model, t in tables.items():
        z_spec = np.asarray(t["z_spec"])
        dz = delta_z(np.asarray(t["z_phot"]), z_spec)
        ax_s.plot(centres, per_z_bin(sigma_mad, dz, z_spec, edges), "o-", label=model)  # NaN: too few galaxies
        ax_e.plot(centres, 100 * per_z_bin(eta, dz, z_spec, edges), "o-", label=model)
    ax_s.set(xlabel="z_spec", ylabel="σ_MAD per bin", ylim=(0, None))
    ax_e.set(xlabel="z_spec", ylabel="η per bin (%)", ylim=(0, None))
    ax_s.legend(fontsize=8)
    fig.tight_layout()
    return fig


COST_AXES = [  # (table column, axis label, x scale: symlog shows the template fit's 0 parameters)
    ("flops", "inference FLOPs per galaxy", "log"),
    ("n_params", "trainable parameters", "symlog"),
    ("galaxies_per_s", "inference galaxies/s (measured)", "log"),
]


def _frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both cost and σ_MAD, by increasing cost."""
    best, front = math.inf, []
    for x, y in sorted(points):
        if y < best:
            best = y
            front.append((x, y))
    return front


def _decades(values: list[float]) -> tuple[float, float]:
    """Log-axis limits on whole decades around the positive `values`, at least one decade apart:
    two labelled major ticks on every log axis (a span within one decade had none, or only one)."""
    low = math.floor(math.log10(min(values) / 1.5))
    high = math.ceil(math.log10(max(values) * 1.5))
    return 10.0**low, 10.0 ** max(high, low + 1)


def sigma_vs_cost(rows: list[Best]) -> Figure:
    """Test σ_MAD against FLOPs per galaxy, trainable parameters and galaxies/s, one panel each,
    with the accuracy-for-cost frontier. An estimator without a value on an axis (no FLOP count
    for the catalogue baselines) is a dashed line at its σ_MAD, so every estimator is on every panel.
    Rows of one model (every trial of a study, `runs=all`) share its colour; its first row (the
    best by val σ_MAD) is labelled, the others are smaller points."""
    colours = {m: f"C{i % 10}" for i, m in enumerate(dict.fromkeys(r.model for r in rows))}
    fig, axes = plt.subplots(1, len(COST_AXES), figsize=(5.2 * len(COST_AXES), 4.2), sharey=True)
    for ax, (key, label, scale) in zip(axes, COST_AXES):
        points, seen = [], set()
        for r in rows:
            x, y, colour, first = r.values.get(key, math.nan), r.values["sigma_mad"], colours[r.model], r.model not in seen
            seen.add(r.model)
            if math.isnan(y):
                continue
            if math.isnan(x):
                if first:
                    ax.axhline(y, color=colour, ls="--", lw=0.8, label=f"{r.model} (not measured)")
                continue
            # faster is better: the frontier on galaxies/s runs on its negative
            points.append((-x if key == "galaxies_per_s" else x, y))
            ax.scatter(x, y, s=40 if first else 12, color=colour, alpha=1.0 if first else 0.6)
            if first:
                ax.annotate(r.model, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=9)
        front = _frontier(points)
        if len(front) > 1:
            ax.plot([abs(x) for x, _ in front], [y for _, y in front], "k:", lw=1, label="frontier")
        ax.set_xscale(scale, **({"linthresh": 1.0} if scale == "symlog" else {}))
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap on a short log range
        shown = [abs(x) for x, _ in points if x != 0]
        if scale == "log" and shown:
            ax.set_xlim(*_decades(shown))
        ax.tick_params(labelleft=True)  # sharey hides the σ_MAD ticks of the inner panels
        ax.set(xlabel=label, ylim=(0, None))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    axes[0].set_ylabel("test σ_MAD")
    fig.tight_layout()
    return fig
