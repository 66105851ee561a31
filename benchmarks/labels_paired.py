"""Paired differences of each label-study run from FlexZBoost with the same labels, on the same
test galaxies: over the whole test split (photoz.comparison.intervals, as photoz.compare computes
them) and in the faintest true-i bin, where a spectroscopic selection labels no galaxy.

    python benchmarks/labels_paired.py --workdir benchmarks/out/labels_v8   # every run of that study
    python benchmarks/labels_paired.py --workdir W --selections vvds --faint 24.5,25.3

Prints, per run: σ_MAD, η and PIT KS and their differences from FlexZBoost with 95 % bootstrap
intervals, then the faint bin's bias and σ_MAD and their differences (resampling the same faint
galaxies for both runs); for a selection, how far each estimator's faint bias moved from its own
with --growth-from labels (4,000 random by default), against FlexZBoost's move. Reads
<workdir>/runs.json (benchmarks/labels_study.py).
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from pathlib import Path

import numpy as np

BOOTSTRAP = 500


def faint_metrics(rows: np.ndarray, zp: np.ndarray, zs: np.ndarray) -> np.ndarray:
    """(bias, σ_MAD) of Δz over `rows` (indices, repeats allowed)."""
    from photoz.predictions.metrics import point_metrics

    m = point_metrics(zp[rows], zs[rows])
    return np.array([m["bias"], m["sigma_mad"]])


def faint_line(run, ref, faint: tuple[float, float], rng: np.random.Generator) -> str:
    """The faint bin's bias and σ_MAD of `run` and, unless it is `ref`, their paired differences."""
    sel = np.flatnonzero((run["i"] >= faint[0]) & (run["i"] < faint[1]))
    arrays = [tuple(np.asarray(t[c], float) for c in ("z_phot", "z_spec")) for t in (run, ref)]
    value = faint_metrics(sel, *arrays[0])
    line = f"   i {faint[0]:g}–{faint[1]:g} ({len(sel)}): bias {value[0]:+.4f}  σ_MAD {value[1]:.4f}"
    if run is ref:
        return line
    draws = [faint_metrics(k, *arrays[0]) - faint_metrics(k, *arrays[1]) for k in rng.choice(sel, (BOOTSTRAP, len(sel)))]
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    diff = value - faint_metrics(sel, *arrays[1])
    return line + f"  Δbias {diff[0]:+.4f} [{lo[0]:+.4f}, {hi[0]:+.4f}]  Δσ_MAD {diff[1]:+.4f} [{lo[1]:+.4f}, {hi[1]:+.4f}]"


def growth_line(runs: dict, base: dict, faint: tuple[float, float], rng: np.random.Generator) -> list[str]:
    """How much each run's faint-bin bias moved from the same estimator's with the --growth-from
    labels (|bias here − bias there|), and that growth minus FlexZBoost's, resampling the same
    faint galaxies in all four runs (a negative difference: it grew less than FlexZBoost's)."""
    ref = runs["flexzboost"]
    sel = np.flatnonzero((ref["i"] >= faint[0]) & (ref["i"] < faint[1]))
    draws = rng.choice(sel, (BOOTSTRAP, len(sel)))

    def growth(name: str, k: np.ndarray) -> float:  # a seed's row grows from its estimator's (first) seed
        there = base[name.split(" ")[0]]
        here, there = (tuple(np.asarray(t[c], float) for c in ("z_phot", "z_spec")) for t in (runs[name], there))
        return abs(faint_metrics(k, *here)[0] - faint_metrics(k, *there)[0])

    ref_growth, ref_draws = growth("flexzboost", sel), np.array([growth("flexzboost", k) for k in draws])  # once, not per run
    lines = []
    for name in (n for n in runs if n.split(" ")[0] in base):
        g = growth(name, sel)
        line = f"{name}: faint bias grew by {g:.4f}"
        if name != "flexzboost":
            lo, hi = np.percentile(np.array([growth(name, k) for k in draws]) - ref_draws, [2.5, 97.5])
            line += f", {g - ref_growth:+.4f} [{lo:+.4f}, {hi:+.4f}] against FlexZBoost's"
        lines.append(line)
    return lines


def main() -> None:
    from mlflow.tracking import MlflowClient

    from labels_report import test_predictions
    from photoz.comparison.intervals import GalaxySample, row_intervals

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--selections", default="", help="only these (comma-separated); default every one")
    parser.add_argument("--faint", default="24.5,25.3", help="the faint bin's true-i edges")
    parser.add_argument("--growth-from", default="random|4000", help="the labels (selection|n) each selection's faint "
                        "bias is compared with, estimator by estimator (the study's quality bar)")  # fmt: skip
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    index = json.loads((work / "runs.json").read_text())
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    faint = tuple(float(x) for x in args.faint.split(","))
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for key, run_id in index.items():
        if key != "pretrain":
            est, selection, n, *seed = key.split("|")
            groups.setdefault((selection, n), {})[" ".join([est, *seed])] = run_id
    with tempfile.TemporaryDirectory() as tmp:
        load = functools.cache(lambda rid: test_predictions(client, client.get_run(rid), Path(tmp) / rid))  # each run once
        for (selection, n), runs in sorted(groups.items()):
            if args.selections and selection not in args.selections.split(","):
                continue
            if "flexzboost" not in runs:
                print(f"{selection} {n}: no flexzboost run to pair with; skipped")
                continue
            tables = {name: load(rid) for name, rid in runs.items()}
            samples = {name: GalaxySample.from_table(t) for name, t in tables.items()}
            print(f"\n{selection}, {n} labels: paired 95 % intervals against flexzboost")
            for name, row in row_intervals(samples, "flexzboost").items():
                d = "  ".join(f"Δ{k} {i.value:+.4f} [{i.low:+.4f}, {i.high:+.4f}]" for k, i in row.differences.items()
                              if k in ("sigma_mad", "eta", "pit_ks"))  # fmt: skip
                print(f"{name}: σ_MAD {row.values['sigma_mad'].value:.4f}  {d}")
                print(faint_line(tables[name], tables["flexzboost"], faint, np.random.default_rng(0)))
            base_key = tuple(args.growth_from.split("|"))
            if selection != base_key[0] and "flexzboost" in groups.get(base_key, {}):  # a selection against random labels
                base = {name: load(rid) for name, rid in groups[base_key].items() if name in {r.split(" ")[0] for r in runs}}
                print(f"faint-bin bias growth from {' '.join(base_key)} labels:")
                print("\n".join(growth_line(tables, base, faint, np.random.default_rng(0))))


if __name__ == "__main__":
    main()
