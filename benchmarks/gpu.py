"""GPU check: every CNN family for a few epochs on CUDA, the default run to its final epoch, then
the throughput benchmark there.

    python benchmarks/gpu.py                                  # 3 epochs of each family, the default run, throughput.py
    python benchmarks/gpu.py --models sequential --epochs 2 --no-throughput
    python benchmarks/gpu.py --device cpu --epochs 1 --no-throughput -- data.n_galaxies=2000   # dry run, no GPU

Each model trains through photoz's own `run()` (what `python -m photoz.train` calls) with
`trainer.device=<--device>` and `trainer.precision=auto` (bf16 autocast + channels_last on CUDA) on
the default data set (simulated into `data/` on first use), into a throwaway MLflow store; then it
prints the runtime, training images/s per epoch (the first epoch includes warm-up), test inference
galaxies/s, test σ_MAD and the peak GPU memory. Then the default run (`python -m photoz.train`:
the sequential CNN at its default trainer.max_epochs), timed to its final epoch, unless
--no-default-run. Then `benchmarks/throughput.py --device <--device>` for sequential and googlenet
(peers, ratios, peaks on the same device). Arguments after `--` are photoz.train overrides.
Not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

from photoz.config import compose, to_typed
from photoz.job.run import run
from photoz.training.runtime import choose_runtime

HERE = Path(__file__).resolve().parent


def train(model: str, device: str, epochs: int | None, work: Path, overrides: list[str]) -> dict[str, float | str]:
    """One run of `model` on `device` (`epochs`, or the config's trainer.max_epochs if None); its
    speed, accuracy and peak GPU memory."""
    uri = f"sqlite:///{work / 'mlflow.db'}"
    epochs_override = [] if epochs is None else [f"trainer.max_epochs={epochs}"]
    cfg = to_typed(compose(f"model={model}", f"trainer.device={device}", *epochs_override, "trainer.progress=false",
                           f"tracking.uri={uri}", f"tracking.artifact_root={work / 'artifacts'}", "tracking.experiment=gpu",
                           f"trainer.checkpoint_dir={work / 'ckpt' / model / str(epochs)}", *overrides))  # fmt: skip
    rt = choose_runtime(cfg.trainer)
    if rt.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(rt.device)
    start = time.perf_counter()
    run(cfg)
    wall = time.perf_counter() - start
    client = MlflowClient(uri)
    (last,) = client.search_runs([client.get_experiment_by_name("gpu").experiment_id], f"tags.model = '{model}'",
                                 order_by=["attributes.start_time DESC"], max_results=1)  # fmt: skip
    speeds = [m.value for m in sorted(client.get_metric_history(last.info.run_id, "epoch_images_per_s"), key=lambda m: m.step)]
    memory = torch.cuda.max_memory_allocated(rt.device) / 2**30 if rt.device.type == "cuda" else float("nan")
    return {"runtime": rt.describe(), "epochs": len(speeds), "images/s per epoch": " ".join(f"{v:,.0f}" for v in speeds),
            "test galaxies/s": last.data.metrics["test_galaxies_per_s"], "test σ_MAD": last.data.metrics["test_sigma_mad"],
            "peak GPU memory GiB": memory, "wall s": wall}  # fmt: skip


def report(label: str, result: dict[str, float | str]) -> None:
    print(f"{label}: " + "; ".join(f"{k} {v:,.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sequential", "googlenet", "resnet", "efficientnet"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:<n>, or cpu for a dry run")
    parser.add_argument("--no-throughput", action="store_true", help="skip benchmarks/throughput.py")
    parser.add_argument("--no-default-run", action="store_true", help="skip the default run to its final epoch")
    parser.add_argument("overrides", nargs="*", help="photoz.train overrides, after --")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"benchmarks/gpu.py: no CUDA device visible to torch {torch.__version__}; run it on a GPU machine, or --device cpu")
    if args.device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(args.device))
        print(f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            result = train(model, args.device, args.epochs, Path(tmp), args.overrides)
            report(model, result)
        if not args.no_default_run:
            report("the default run (sequential, default epochs)", train("sequential", args.device, None, Path(tmp), args.overrides))
    if not args.no_throughput:
        cmd = [sys.executable, str(HERE / "throughput.py"), "--device", args.device, "--models", "sequential", "googlenet"]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
