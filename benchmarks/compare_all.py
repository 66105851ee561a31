"""Benchmark: train every estimator on the default simulated LSST set and print the comparison.

    python benchmarks/compare_all.py                                  # all five, default set
    python benchmarks/compare_all.py --models template_fit,random_forest,knn
    python benchmarks/compare_all.py -- trainer.max_epochs=10 data.n_galaxies=5000

Runs `python -m photoz.train -m model=<all>` (Hydra multirun) into its own MLflow store under
--workdir, then `python -m photoz.compare` on that store, and prints the table and wall times.
Extra arguments after `--` are Hydra overrides passed to photoz.train. Not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = "template_fit,random_forest,knn,sequential,googlenet"  # baselines first: quick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help=f"comma-separated model names (default {MODELS})")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "compare_all"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for photoz.train (after --)")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    store = [f"tracking.uri=sqlite:///{work / 'mlflow.db'}", f"tracking.artifact_root={work / 'artifacts'}"]
    train = [sys.executable, "-m", "photoz.train", "-m", f"model={args.models}", *store,
             f"hydra.sweep.dir={work / 'multirun'}", *args.overrides]
    print("$", " ".join(train), flush=True)
    start = time.perf_counter()
    subprocess.run(train, cwd=ROOT, check=True)
    train_s = time.perf_counter() - start
    compare = [sys.executable, "-m", "photoz.compare", *store, f"output={work / 'comparison'}",
               f"hydra.run.dir={work / 'compare_run'}"]
    print("$", " ".join(compare), flush=True)
    subprocess.run(compare, cwd=ROOT, check=True)
    print(f"training all models: {train_s:.0f} s wall; runs and plots in {work}")


if __name__ == "__main__":
    main()
