"""What model.semi_supervised=consistency costs per optimizer step, against supervised steps (not a test).

    python benchmarks/consistency_cost.py                      # default set, 1,000 labels, ratio 1 and 2, 1 thread
    python benchmarks/consistency_cost.py --data "data.n_galaxies=2000 data.stamp_size=16" --n 200 --rounds 1

In one process, on the labelled view of the data set (data.labels.n=--n), alternates epochs of
the real training step (photoz.training.loop.train_epoch) without and with the consistency term
(each --ratio), --rounds times, and prints each one's seconds per step (median over rounds) and
its ratio to the supervised step: paired, so the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from tqdm.auto import tqdm

from photoz.config import compose, to_typed
from photoz.data.source import open_dataset
from photoz.estimators.cnn import CNNEstimator
from photoz.models.build import head_loss
from photoz.training.loop import Stepper, Task, make_optimizer, make_scheduler, train_epoch


def seconds_per_step(est: CNNEstimator, task: Task, step: Stepper, batch: int) -> float:
    start = time.perf_counter()
    with tqdm(disable=True) as bar:
        train_epoch(est.net, task, step, est.runtime(), batch, bar)
    return (time.perf_counter() - start) / task.train.n_batches(batch, shuffle=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="", help="data overrides, e.g. 'data.n_galaxies=2000'")
    parser.add_argument("--n", type=int, default=1000, help="labelled train galaxies (data.labels.n)")
    parser.add_argument("--ratios", default="1,2", help="model.consistency.ratio values")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    cfg = to_typed(compose(*args.data.split(), f"data.labels.n={args.n}", f"trainer.num_threads={args.threads}",
                           "model.semi_supervised=consistency"))  # fmt: skip
    data = open_dataset(cfg.data)
    est = CNNEstimator.from_config(cfg)
    est.net = est.build_net(data, data.split_index("train"))
    rt, batch = est.runtime(), cfg.trainer.batch_size
    train = est._source(data, data.split_index("train"), rt)
    step = Stepper(opt := make_optimizer(est.net, cfg.optimizer, rt.device), make_scheduler(opt, cfg.optimizer, 10, 10), torch.Generator())
    tasks = {"supervised": Task(train, dict, lambda out, z: head_loss(out, z, cfg.model))}
    for ratio in (int(r) for r in args.ratios.split(",")):
        est.model_cfg.consistency.ratio = ratio
        tasks[f"ratio {ratio}"] = Task(train, dict, tasks["supervised"].loss_fn, est._consistency(data, rt))
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(args.rounds):
        for name, task in tasks.items():
            times[name].append(seconds_per_step(est, task, step, batch))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"{cpu}, {args.threads} thread(s), batch {batch}, load {os.getloadavg()[0]:.1f} at the end")
    base = sorted(times["supervised"])[len(times["supervised"]) // 2]
    for name, t in times.items():
        median = sorted(t)[len(t) // 2]
        print(f"{name:>11}: {median:.3f} s per step ({median / base:.2f}x supervised)")


if __name__ == "__main__":
    main()
