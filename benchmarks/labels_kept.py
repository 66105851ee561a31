"""Which weights a few-label CNN should end with: each label-study CNN run scored on the test
split with its best-val epoch's weights (best.pt, what `trainer.keep=best` logs) and with its last
epoch's (last.pt, what `trainer.keep=last` logs), from the checkpoints the run left.

    python benchmarks/labels_kept.py --workdir benchmarks/out/labels_v8            # every CNN run of that study
    python benchmarks/labels_kept.py --workdir W --selections random --n 500,1000

Training does not depend on trainer.keep, so a run's last.pt is exactly what the same run with
trainer.keep=last would have logged. Prints, per run: the epoch best.pt holds (of the run's
epochs) and its val σ_MAD, the last epoch's val σ_MAD, test σ_MAD of each, and the paired
difference last − best with a 95 % bootstrap interval over the same test galaxies. Reads
<workdir>/runs.json (benchmarks/labels_study.py); a run whose checkpoints are gone is skipped, said.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

BOOTSTRAP = 1000


def kept_predictions(client, run, which: str, data, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z_phot, z_spec) of the test galaxies from `run`'s logged network with `which`.pt's weights."""
    import torch

    from photoz.estimators.cnn import CNNEstimator
    from photoz.estimators.logged import run_model_uri

    est = CNNEstimator.load(run_model_uri(client, run.info.run_id))  # a fresh one: its fast path is built per network
    state = torch.load(Path(run.data.params["trainer.checkpoint_dir"]) / f"{which}.pt", map_location="cpu", weights_only=True)
    est.net.load_state_dict(state["model"])
    pred = est.predict(data, test)
    return pred.z_phot, pred.z_spec


def paired(zp: dict[str, np.ndarray], zs: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """σ_MAD(last) − σ_MAD(best) and its 95 % bootstrap interval, resampling the same galaxies."""
    from photoz.predictions.metrics import sigma_mad

    dz = {k: (v - zs) / (1 + zs) for k, v in zp.items()}
    draws = [sigma_mad(dz["last"][k]) - sigma_mad(dz["best"][k]) for k in rng.integers(0, len(zs), (BOOTSTRAP, len(zs)))]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return sigma_mad(dz["last"]) - sigma_mad(dz["best"]), lo, hi


def report(client, name: str, run_id: str, rng: np.random.Generator) -> str:
    """One run's line: the epochs, val and test σ_MAD of best.pt and last.pt, and their difference."""
    from photoz.data import read_dataset
    from photoz.predictions.metrics import sigma_mad
    from photoz.training.checkpoint import Checkpoints

    run = client.get_run(run_id)
    checkpoints = Checkpoints(run.data.params["trainer.checkpoint_dir"])
    best, last = checkpoints.load_best(), checkpoints.load_last()
    if best is None or last is None:
        return f"{name}: no best.pt or last.pt in {checkpoints.dir}; skipped"
    data = read_dataset(run.data.tags["data"])  # the data set the run trained on (its test split: every label budget's)
    test = data.split_index("test")
    zp, zs = {}, None
    for which in ("best", "last"):
        zp[which], zs = kept_predictions(client, run, which, data, test)
    test_sigma = {k: sigma_mad((v - zs) / (1 + zs)) for k, v in zp.items()}
    diff, lo, hi = paired(zp, zs, rng)
    epochs = last["fit_state"]["epoch"]
    return (f"{name}: best.pt epoch {best['epoch']} of {epochs}, val σ_MAD {best['val_sigma_mad']:.4f} (last epoch's "
            f"{last['fit_state']['metrics']['val_sigma_mad']:.4f}); test σ_MAD best {test_sigma['best']:.4f}, last "
            f"{test_sigma['last']:.4f}, last − best {diff:+.4f} [{lo:+.4f}, {hi:+.4f}]")  # fmt: skip


def main() -> None:
    import mlflow

    from labels_study import CNNS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--selections", default="", help="only these (comma-separated); default every one")
    parser.add_argument("--n", default="", help="only these label budgets (comma-separated); default every one")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    if not (work / "runs.json").is_file():
        raise SystemExit(f"labels_kept: no runs.json in {work}: give the --workdir of a benchmarks/labels_study.py study")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")  # where CNNEstimator.load finds the runs' models
    client = mlflow.MlflowClient()
    rng = np.random.default_rng(0)
    for key, run_id in sorted(json.loads((work / "runs.json").read_text()).items()):
        est, selection, n, *_ = key.split("|") + [""] * 2
        wanted = (not args.selections or selection in args.selections.split(",")) and (not args.n or n in args.n.split(","))
        if est in CNNS and wanted:
            print(report(client, key, run_id, rng), flush=True)


if __name__ == "__main__":
    main()
