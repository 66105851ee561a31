"""Pruned against unpruned Optuna study (sweep=depth_lr through photoz.train): same data set,
sampler seed and n_trials; prints total epochs trained, wall time and best val σ_MAD of each and
their ratios. Issue 4's target: ≤ 50 % of the epochs for a best σ_MAD within 3 %.

    python benchmarks/pruning.py                      # 1000 simulated LSST galaxies, 16x16: ~12 min on 2 cores
    python benchmarks/pruning.py --n-galaxies 20000 --stamp-size 32 --n-trials 20 --epochs 10

Everything (data set, studies, MLflow store) goes under --out (default benchmarks/out/pruning);
delete it to start over (an existing study would be resumed, not rerun).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]


def run_study(name: str, pruner: str, args: argparse.Namespace, data: list[str]) -> dict[str, float]:
    out = args.out.resolve()
    cmd = [
        sys.executable, "-m", "photoz.train", "-m", "sweep=depth_lr", *data,
        f"hydra.sweeper.study_name={name}", f"hydra.sweeper.pruner={pruner}",
        f"hydra.sweeper.n_trials={args.n_trials}", f"hydra.sweeper.seed={args.seed}", "hydra.sweeper.plots=false",
        "hydra.sweeper.pruner_options.median.n_startup_trials=2",
        "hydra.sweeper.pruner_options.median.n_warmup_steps=1",
        f"model.width={args.width}", f"trainer.max_epochs={args.epochs}", "trainer.patience=0",
        "trainer.progress=false", f"tracking.uri=sqlite:///{out / 'mlflow.db'}",
        f"tracking.artifact_root={out / 'artifacts'}", "tracking.experiment=pruning_benchmark",
    ]  # fmt: skip
    log = out / f"{name}.log"
    start = time.perf_counter()
    with open(log, "w") as stream:
        done = subprocess.run(cmd, cwd=out, stdout=stream, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"study {name} failed (exit {done.returncode}); see {log}")
    journal = optuna.storages.journal.JournalFileBackend(str(out / "sweeps" / name / "journal.log"))
    study = optuna.load_study(study_name=name, storage=optuna.storages.JournalStorage(journal))
    trials = study.get_trials(deepcopy=False)
    return {
        "epochs": sum(len(t.intermediate_values) for t in trials),
        "wall_s": wall,
        "best_sigma_mad": study.best_value,
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-galaxies", type=int, default=1000)
    parser.add_argument("--stamp-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=8, help="model.width")
    parser.add_argument("--n-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5, help="trainer.max_epochs (early stopping off)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed, the same for both studies")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "pruning")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = [
        "data=lsst_sim", f"data.n_galaxies={args.n_galaxies}", f"data.stamp_size={args.stamp_size}",
        f"data.root={args.out.resolve() / 'data'}",
    ]
    subprocess.run([sys.executable, "-m", "photoz.simulate", *data], cwd=args.out, check=True, capture_output=True)

    results = {label: run_study(f"{label}-s{args.seed}", pruner, args, data)
               for label, pruner in (("unpruned", "none"), ("pruned", "median"))}  # fmt: skip
    print(f"data: lsst_sim, {args.n_galaxies} galaxies, {args.stamp_size}x{args.stamp_size} px; "
          f"model: sequential width {args.width}; {args.n_trials} trials x {args.epochs} epochs; seed {args.seed}")  # fmt: skip
    print(f"{'':10} {'epochs':>7} {'wall s':>8} {'best val σ_MAD':>15} {'pruned':>7}")
    for label, r in results.items():
        print(f"{label:10} {r['epochs']:7d} {r['wall_s']:8.0f} {r['best_sigma_mad']:15.4f} {r['pruned']:7d}")
    u, p = results["unpruned"], results["pruned"]
    print(f"pruned/unpruned: epochs {p['epochs'] / u['epochs']:.0%}, wall {p['wall_s'] / u['wall_s']:.0%}, "
          f"best σ_MAD {p['best_sigma_mad'] / u['best_sigma_mad'] - 1:+.1%} "
          "(target: epochs <= 50 %, best sigma_MAD within 3 %)")  # fmt: skip


if __name__ == "__main__":
    main()
