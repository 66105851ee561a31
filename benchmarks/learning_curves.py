"""Learning curves of one MLflow run: train loss and val σ_MAD / η per epoch, as a PNG.

    python benchmarks/learning_curves.py --uri sqlite:///mlruns/mlflow.db --run <run id> \\
        --out docs/figures/learning_curves.png

Reads the run's per-epoch metric history (train_loss, val_sigma_mad, val_eta, lr) and prints it.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--run", required=True)
    parser.add_argument("--out", default="docs/figures/learning_curves.png")
    args = parser.parse_args()
    client = MlflowClient(args.uri)
    hist = {k: sorted((m.step, m.value) for m in client.get_metric_history(args.run, k))
            for k in ("train_loss", "val_sigma_mad", "val_eta", "lr")}
    print("epoch  train_loss  val_sigma_mad  val_eta  lr")
    for row in zip(*hist.values()):
        print(f"{row[0][0]:5d}  {row[0][1]:10.4f}  {row[1][1]:13.4f}  {row[2][1]:7.3f}  {row[3][1]:.2e}")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, key, label in zip(axes, ("train_loss", "val_sigma_mad", "val_eta"), ("train loss (cross-entropy)", "val σ_MAD", "val η")):
        steps, values = zip(*hist[key])
        ax.plot(steps, values, "o-")
        ax.set_xlabel("epoch")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    run = client.get_run(args.run)
    fig.suptitle(f"{run.info.run_name} ({args.run[:8]})")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
