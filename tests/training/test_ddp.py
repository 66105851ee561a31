"""DDP training on CPU: 2 processes, gloo backend, the real CNNEstimator.fit, tiny data.

Each process gets the environment torchrun would give it (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR/PORT) and writes what it saw to a file the test then compares across ranks.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import optuna
import pytest
import torch
import torch.multiprocessing as mp
from tinydata import make_tiny_dataset

from photoz.config import compose, to_typed
from photoz.data import read_dataset

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, data_dir: str, out_dir: str, port: int) -> None:
    """Both scenarios in one process group (one spawn: process start-up is most of the cost)."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    for prune in (False, True):
        _fit(rank, data_dir, f"{out_dir}/{'prune' if prune else 'plain'}", prune)


def _fit(rank: int, data_dir: str, out_dir: str, prune: bool) -> None:
    from photoz.estimators.cnn import CNNEstimator
    from photoz.training.distributed import StoppedOnMain

    os.makedirs(out_dir, exist_ok=True)

    cfg = to_typed(compose(
        "data=directory", f"data.path={data_dir}", "model=sequential", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.max_epochs=2", "trainer.progress=false", "trainer.precision=fp32",
        "trainer.num_threads=1", "trainer.device=cpu",
    ))  # fmt: skip
    hook_epochs: list[int] = []

    def hook(epoch: int, metrics: dict[str, float]) -> None:
        hook_epochs.append(epoch)
        if prune:
            raise optuna.TrialPruned("pruned")

    est = CNNEstimator(cfg.model, cfg.seed, cfg.trainer, cfg.optimizer, f"{out_dir}/ckpt-rank{rank}")
    steps = [0]
    outcome = "finished"
    data = read_dataset(data_dir)
    try:
        est.build_net = _counting(est.build_net, steps)  # count training forwards on the real net
        est.fit(data, hook)
    except optuna.TrialPruned:
        outcome = "pruned"
    except StoppedOnMain:
        outcome = "stopped"
    params = {k: v.detach().clone().contiguous() for k, v in est.net.state_dict().items()}
    torch.save({"params": params, "steps": steps[0], "hook": hook_epochs, "outcome": outcome}, f"{out_dir}/rank{rank}.pt")


def _counting(build, steps: list[int]):
    def wrapped(*args, **kwargs):
        net = build(*args, **kwargs)

        def count(module, inputs) -> None:
            steps[0] += module.training

        net.register_forward_pre_hook(count)
        return net

    return wrapped


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> Path:
    """Runs the 2-process job once; returns the folder with its per-scenario results."""
    out = tmp_path_factory.mktemp("ddp")
    data = make_tiny_dataset(out / "tiny", n=64)
    env = {k: os.environ.pop(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK") if k in os.environ}
    try:
        mp.spawn(_worker, args=(str(data.path), str(out), _free_port()), nprocs=WORLD, join=True)
    finally:
        os.environ.update(env)
    return out


def _results(folder: Path) -> list[dict]:
    return [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


def test_two_ranks_step_in_sync_and_only_rank0_validates_and_checkpoints(ranks: Path) -> None:
    tmp_path = ranks / "plain"
    r0, r1 = _results(tmp_path)
    assert r0["outcome"] == r1["outcome"] == "finished"
    # 38 train rows -> 19 per rank -> 2 full batches of 8 per epoch, 2 epochs
    assert r0["steps"] == r1["steps"] == 4
    assert r0["params"].keys() == r1["params"].keys()
    assert all(torch.equal(r0["params"][k], r1["params"][k]) for k in r0["params"])
    assert r0["hook"] == [1, 2] and r1["hook"] == []  # MLflow/Optuna hook: rank 0 only
    assert (tmp_path / "ckpt-rank0" / "best.pt").is_file() and (tmp_path / "ckpt-rank0" / "last.pt").is_file()
    assert not (tmp_path / "ckpt-rank1").exists()
    best = torch.load(tmp_path / "ckpt-rank0" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(best[k].contiguous(), r1["params"][k]) for k in best)  # rank 1 ends on rank 0's best


def test_a_failing_hook_on_rank0_stops_every_rank(ranks: Path) -> None:
    r0, r1 = _results(ranks / "prune")
    assert (r0["outcome"], r1["outcome"]) == ("pruned", "stopped")
    assert r0["steps"] == r1["steps"] == 2  # both stopped after epoch 1, nobody hung


def test_torchrun_entry_point_writes_one_mlflow_run(tmp_path: Path) -> None:
    """`torchrun --nproc_per_node 2 -m photoz.train` trains on 2 gloo ranks and only rank 0 logs;
    with consistency training (each rank its share of the unlabelled galaxies: a forward without
    gradient, then one forward and backward)."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = _torchrun_train(tmp_path, uri, "trainer.max_epochs=2", "data.labels.n=24", "model.semi_supervised=consistency")
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = mlflow.MlflowClient(uri).search_runs(
        [e.experiment_id for e in mlflow.MlflowClient(uri).search_experiments()]
    )
    assert len(runs) == 1
    assert runs[0].info.status == "FINISHED"
    assert len(mlflow.MlflowClient(uri).get_metric_history(runs[0].info.run_id, "val_sigma_mad")) == 2
    assert runs[0].data.metrics["train_consistency"] > 0 and runs[0].data.tags["uses_unlabelled"] == "true"


def _torchrun_train(tmp_path: Path, uri: str, *overrides: str):
    """`torchrun --nproc_per_node 2 -m photoz.train` on a tiny set (made once in tmp_path), gloo on CPU."""
    import subprocess
    import sys

    data = tmp_path / "tiny"
    if not data.exists():
        make_tiny_dataset(data)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
        "-m", "photoz.train", "data=directory", f"data.path={data}", "model.depth=2", "model.width=8",
        "trainer.batch_size=8", "trainer.device=cpu", "trainer.num_threads=1", "trainer.progress=false",
        f"tracking.uri={uri}", f"tracking.artifact_root={tmp_path / 'artifacts'}", f"hydra.run.dir={tmp_path / 'run'}",
        *overrides,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_torchrun_resume_continues_the_interrupted_run(tmp_path: Path) -> None:
    """An interrupted torchrun job rerun with trainer.resume=true continues its run from the
    checkpoint on both ranks (rank 0 loads it and sends it to rank 1): epochs 1 then 2, one run."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = _torchrun_train(tmp_path, uri, "trainer.max_epochs=1")
    assert first.returncode == 0, first.stderr[-12000:]  # the ranks' traceback, before torchrun's summary
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    client.set_terminated(run.info.run_id, "KILLED")  # as after Ctrl-C
    again = _torchrun_train(tmp_path, uri, "trainer.max_epochs=2", "trainer.resume=true")
    assert again.returncode == 0, again.stderr[-12000:]
    assert "resuming from" in again.stderr + again.stdout
    (resumed,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert resumed.info.run_id == run.info.run_id and resumed.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_sigma_mad")] == [1, 2]
