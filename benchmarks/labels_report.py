"""The report of benchmarks/labels_study.py: per run σ_MAD (± bootstrap standard error over the
test galaxies), η, bias ± standard error and σ_MAD / bias per true i-magnitude bin, as
labels_study.md and .csv, and the figure sigma_vs_labels.png (σ_MAD against labelled galaxies, one
line per estimator, one colour per estimator in every panel, one panel per selection). Also the
test predictions of a run with each galaxy's true i (labels_paired.py reads them too).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

MAG_BINS = (17.0, 22.0, 23.0, 24.0, 24.5, 25.3)
BOOTSTRAP = 200  # resamples of the test galaxies for σ_MAD's standard error
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bar per downloaded file in the reports


def test_predictions(client, run, tmp: Path):
    """The run's test predictions (an astropy Table, sorted by id) with each galaxy's true i
    magnitude as column `i` (the catalogue's true_mag_i, else mag_i)."""
    from astropy.table import Table, join

    from run_dataset import run_catalog

    path = client.download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp))
    catalog = run_catalog(run)
    mag = "true_mag_i" if "true_mag_i" in catalog.colnames else "mag_i"
    t = join(Table.read(path), catalog["id", mag], keys="id")
    t.rename_column(mag, "i")
    t.sort("id")
    return t


def per_run(client, run_id: str, tmp: Path) -> dict:
    """The row of one run: labels, test metrics (σ_MAD with its bootstrap SE) and per-i-bin metrics."""
    from photoz.predictions.metrics import point_metrics

    run = client.get_run(run_id)
    t = test_predictions(client, run, tmp)
    z_phot, z_spec, i_mag = (np.asarray(t[c], float) for c in ("z_phot", "z_spec", "i"))
    rng = np.random.default_rng(0)
    draws = [point_metrics(z_phot[s], z_spec[s])["sigma_mad"] for s in rng.integers(0, len(t), (BOOTSTRAP, len(t)))]
    m = run.data.metrics
    row = {"n_labelled": int(m["n_labelled"]), "sigma_mad": m["test_sigma_mad"], "sigma_mad_se": float(np.std(draws)),
           "eta": m["test_eta"], "bias": m["test_bias"], "bias_se": m["test_bias_err"], "run": run_id}  # fmt: skip
    for lo, hi in zip(MAG_BINS[:-1], MAG_BINS[1:]):
        sel = (i_mag >= lo) & (i_mag < hi)
        pm = point_metrics(z_phot[sel], z_spec[sel]) if sel.sum() > 1 else {"sigma_mad": np.nan, "bias": np.nan, "bias_err": np.nan}
        row[f"i {lo:g}–{hi:g}"] = (pm["sigma_mad"], pm["bias"], pm["bias_err"], int(sel.sum()))
    return row


def study_rows(work: Path, tmp: Path) -> list[dict]:
    """The report's rows of the runs recorded in `work`/runs.json."""
    from mlflow.tracking import MlflowClient

    index = json.loads((work / "runs.json").read_text())
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    rows = []
    for key, run_id in index.items():
        if key != "pretrain":
            est, selection, _, *seed = key.split("|")
            rows.append({"estimator": " ".join([est, *seed]), "selection": selection, **per_run(client, run_id, tmp / run_id)})
    return rows


def report(workdir: Path, merge: list[str], plot: list[str] | None) -> None:
    """labels_study.md, .csv and sigma_vs_labels.png in `workdir` from its runs (and those of the
    `merge` workdirs); the figure draws the estimators in `plot` (None: all)."""
    work = workdir.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [r for w in [work, *(Path(m).resolve() for m in merge)] for r in study_rows(w, Path(tmp))]
    rows.sort(key=lambda r: (r["selection"], r["estimator"], r["n_labelled"]))
    write_tables(rows, work)
    figure([r for r in rows if plot is None or r["estimator"] in plot], work / "sigma_vs_labels.png")
    print((work / "labels_study.md").read_text())
    print(f"written to {work}: labels_study.md, labels_study.csv, sigma_vs_labels.png"
          + (f" (with the runs of {', '.join(merge)})" if merge else ""))


def write_tables(rows: list[dict], work: Path) -> None:
    bins = [k for k in rows[0] if k.startswith("i ")] if rows else []
    md = [f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when written", "",
          "| selection | estimator | labels | σ_MAD ± SE | η | bias ± SE | " + " | ".join(f"{b}: σ_MAD / bias (N)" for b in bins) + " |",
          "|---" * (6 + len(bins)) + "|"]  # fmt: skip
    for r in rows:
        cells = [f"{r[b][0]:.3f} / {r[b][1]:+.3f} ({r[b][3]})" for b in bins]
        md.append(f"| {r['selection']} | {r['estimator']} | {r['n_labelled']:,} | {r['sigma_mad']:.4f} ± {r['sigma_mad_se']:.4f} | "
                  f"{100 * r['eta']:.1f} % | {r['bias']:+.4f} ± {r['bias_se']:.4f} | " + " | ".join(cells) + " |")  # fmt: skip
    (work / "labels_study.md").write_text("\n".join(md) + "\n")
    header = ["selection", "estimator", "n_labelled", "sigma_mad", "sigma_mad_se", "eta", "bias", "bias_se", "run"]
    lines = [",".join(header + [f"{b} {q}" for b in bins for q in ("sigma_mad", "bias", "bias_se", "N")])]
    for r in rows:
        lines.append(",".join([str(r[h]) for h in header] + [str(v) for b in bins for v in r[b]]))
    (work / "labels_study.csv").write_text("\n".join(lines) + "\n")


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    selections, estimators = sorted({r["selection"] for r in rows}), sorted({r["estimator"] for r in rows})
    colours = dict(zip(estimators, plt.get_cmap("tab20" if len(estimators) > 10 else "tab10").colors))  # one per estimator
    fig, axes = plt.subplots(1, max(1, len(selections)), figsize=(5.5 * max(1, len(selections)), 4.2), sharey=True, squeeze=False)
    for ax, selection in zip(axes[0], selections):
        for est in estimators:
            mine = [r for r in rows if r["selection"] == selection and r["estimator"] == est]
            if mine:
                ax.errorbar([r["n_labelled"] for r in mine], [r["sigma_mad"] for r in mine], color=colours[est],
                            yerr=[r["sigma_mad_se"] for r in mine], marker="o", capsize=3, label=est)  # fmt: skip
        ax.set(xscale="log", xlabel="labelled train galaxies", title=f"data.labels.selection={selection}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test σ_MAD")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}  # every estimator once
    fig.legend([handles[e] for e in estimators if e in handles], [e for e in estimators if e in handles],
               loc="center left", bbox_to_anchor=(1.0, 0.5))  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
