"""Which weights a few-label CNN should end with: each label-study CNN run scored on the test
split with its best-val epoch's weights (best.pt, what `trainer.keep=best` logs) and with its last
epoch's (last.pt, what `trainer.keep=last` logs), from the checkpoints the run left.

    python benchmarks/labels_kept.py --workdir benchmarks/out/labels_v8            # every CNN run of that study
    python benchmarks/labels_kept.py --workdir W --selections random --n 500,1000

Training does not depend on trainer.keep, so a run's last.pt is exactly what the same run with
trainer.keep=last would have logged. Prints, per run: the epoch best.pt holds (of the run's
epochs) and its val σ_MAD, the last epoch's val σ_MAD, test σ_MAD of each, and the paired
difference last − best with its 95 % bootstrap interval over the same test galaxies
(photoz.comparison.intervals, seeded: the same whichever runs are printed), and where the study
has FlexZBoost with the same labels, each one's paired difference from it. Reads
<workdir>/runs.json (benchmarks/labels_study.py); a run whose checkpoints are gone is skipped, said.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

def kept_sample(client, run, which: str, data):
    """The test galaxies' GalaxySample (ids, Δz) from `run`'s logged network with `which`.pt's weights."""
    import torch

    from photoz.comparison.intervals import GalaxySample
    from photoz.estimators.cnn import CNNEstimator
    from photoz.estimators.logged import run_model_uri
    from photoz.predictions.metrics import delta_z

    est = CNNEstimator.load(run_model_uri(client, run.info.run_id))  # a fresh one: its fast path is built per network
    state = torch.load(Path(run.data.params["trainer.checkpoint_dir"]) / f"{which}.pt", map_location="cpu", weights_only=True)
    est.net.load_state_dict(state["model"])
    pred = est.predict(data, data.split_index("test"))
    order = np.argsort(pred.ids, kind="stable")
    return GalaxySample(pred.ids[order], delta_z(pred.z_phot, pred.z_spec)[order])


def paired_difference(samples: dict, reference: str, other: str) -> str:
    """σ_MAD(other) − σ_MAD(reference) on the same galaxies, with its paired 95 % interval
    (photoz.comparison.intervals, as photoz.compare and labels_paired compute them)."""
    from photoz.comparison.intervals import row_intervals

    rows = row_intervals({reference: samples[reference], other: samples[other]}, reference)
    d = rows[other].differences.get("sigma_mad")
    return "not paired (other test galaxies)" if d is None else f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def report(client, name: str, run_id: str, partner: str | None) -> str:
    """One run's line: the epochs, val and test σ_MAD of best.pt and last.pt, their difference, and
    each one's difference from `partner` (FlexZBoost's run with the same labels), if any."""
    from photoz.data import read_dataset
    from photoz.errors import PhotozError
    from photoz.training.checkpoint import Checkpoints

    run = client.get_run(run_id)
    checkpoints = Checkpoints(run.data.params["trainer.checkpoint_dir"])
    best, last = checkpoints.load_best(), checkpoints.load_last()
    if best is None or last is None:
        return f"{name}: no best.pt or last.pt in {checkpoints.dir}; skipped"
    try:
        data = read_dataset(run.data.tags["data"])  # the data set the run trained on (its test split: every budget's)
    except PhotozError as err:
        return f"{name}: {err}; skipped"
    samples = {which: kept_sample(client, run, which, data) for which in ("best", "last")}
    line = (f"{name}: best.pt epoch {best['epoch']} of {last['fit_state']['epoch']}, val σ_MAD {best['val_sigma_mad']:.4f} "
            f"(last epoch's {last['fit_state']['metrics']['val_sigma_mad']:.4f}); test σ_MAD best "
            f"{samples['best'].value('sigma_mad'):.4f}, last {samples['last'].value('sigma_mad'):.4f}, "
            f"last − best {paired_difference(samples, 'best', 'last')}")  # fmt: skip
    if partner is None:
        return line
    samples["flexzboost"] = logged_sample(client, partner)
    versus = {k: paired_difference(samples, "flexzboost", k) for k in ("best", "last")}
    return (line + f"; against FlexZBoost ({samples['flexzboost'].value('sigma_mad'):.4f}): best {versus['best']}, "
            f"last {versus['last']}")


def logged_sample(client, run_id: str):
    """The test galaxies' GalaxySample (ids, Δz) from a run's logged test predictions."""
    import tempfile

    from labels_report import test_predictions

    from photoz.comparison.intervals import GalaxySample

    with tempfile.TemporaryDirectory() as tmp:
        return GalaxySample.from_table(test_predictions(client, client.get_run(run_id), Path(tmp)))


def open_study(workdir: str, tool: str) -> tuple[Path, dict]:
    """A labels_study workdir and its runs.json, with MLflow pointed at its store (where
    CNNEstimator.load finds the runs' models); a workdir without runs.json is one line."""
    import mlflow

    work = Path(workdir).resolve()
    if not (work / "runs.json").is_file():
        raise SystemExit(f"{tool}: no runs.json in {work}: give the --workdir of a benchmarks/labels_study.py study")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    return work, json.loads((work / "runs.json").read_text())


def main() -> None:
    import mlflow

    from labels_study import CNNS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--selections", default="", help="only these (comma-separated); default every one")
    parser.add_argument("--n", default="", help="only these label budgets (comma-separated); default every one")
    args = parser.parse_args()
    _, index = open_study(args.workdir, "labels_kept")
    client = mlflow.MlflowClient()
    for key, run_id in sorted(index.items()):
        est, selection, n, *_ = key.split("|") + [""] * 2
        wanted = (not args.selections or selection in args.selections.split(",")) and (not args.n or n in args.n.split(","))
        if est in CNNS and wanted:
            print(report(client, key, run_id, index.get(f"flexzboost|{selection}|{n}")), flush=True)


if __name__ == "__main__":
    main()
