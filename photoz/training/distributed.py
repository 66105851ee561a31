"""Data-parallel training over processes started by torchrun (DistributedDataParallel).

    torchrun --nproc_per_node 4 -m photoz.train model=googlenet          # one node, 4 GPUs
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint host:29500 -m photoz.train

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them (a plain `python -m photoz.train`)
every function here is a no-op and training runs in one process. Each rank trains on its own
equal-sized shard of the train split (so all ranks take the same number of steps and DDP's
gradient all-reduce never waits on a finished rank); trainer.batch_size is per process.
Validation, the epoch hook (MLflow, Optuna) and checkpoints run on rank 0 only; their results
and failures are broadcast so every rank takes the same early-stopping decision and stops together.
Backend: nccl on CUDA, gloo on CPU.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")


class StoppedOnMain(RuntimeError):
    """Raised on ranks > 0 when rank 0's validation or epoch hook raised (rank 0 re-raises it)."""


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def active() -> bool:
    """True in a process started by torchrun with more than one process in the job."""
    return world_size() > 1


def is_main() -> bool:
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """cuda:LOCAL_RANK for the CUDA ranks of a torchrun job (one GPU per process), else `device`."""
    if active() and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def init() -> None:
    """Join the torchrun job's process group (idempotent; no-op outside torchrun): gloo for CPU
    tensors, nccl for CUDA ones."""
    if active() and not dist.is_initialized():
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(lambda: dist.destroy_process_group() if dist.is_initialized() else None)  # if finish() was not reached


def finish() -> None:
    """End the torchrun job's process group on every rank together (no-op outside torchrun): a
    barrier, then destroy. A rank that left the group while rank 0 was still logging could abort
    in gloo's shutdown ("terminate called without an active exception", pytorch#28126)."""
    if active() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def leave() -> NoReturn:
    """A rank > 0 whose work is done: finish(), then exit at once (stdio flushed). Its interpreter
    teardown raced gloo's threads after the barrier and aborted the rank ("terminate called without
    an active exception", exit -6) in 2 of 8 resumed tiny torchrun runs beside a CPU burner, and
    torchrun then killed rank 0 before it ended its MLflow run."""
    finish()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main_first(fn: Callable[[], T]) -> T:
    """fn() on rank 0, then on the other ranks (e.g. rank 0 simulates a data set, the others then
    find it in the cache instead of building it concurrently)."""
    init()
    if active() and not is_main():
        dist.barrier()
    out = fn()
    if active() and is_main():
        dist.barrier()
    return out


def shard(index: np.ndarray) -> np.ndarray:
    """This rank's rows of `index`: every world_size-th row from rank(), all shards equally long."""
    if not active():
        return index
    n = len(index) // world_size()
    return np.asarray(index)[rank() :: world_size()][:n]


def wrap(net: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel(net) in a torchrun job, else net itself."""
    if not active():
        return net
    return nn.parallel.DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)


def mean(value: float, device: torch.device) -> float:
    """The mean of a per-rank float over all ranks (e.g. the train loss of equal-sized shards)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / world_size()


def from_main(fn: Callable[[], T]) -> T:
    """Run fn on rank 0 only and return its result on every rank; if it raises, rank 0 re-raises
    and the other ranks raise StoppedOnMain, so no rank waits forever in the next collective."""
    if not active():
        return fn()
    box: list[object] = [None, None]  # [result, error text]
    error: BaseException | None = None
    if is_main():
        try:
            box[0] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised below after telling the others
            error, box[1] = err, f"{type(err).__name__}: {err}"
    dist.broadcast_object_list(box, src=0)
    if error is not None:
        raise error
    if box[1] is not None:
        raise StoppedOnMain(f"rank 0 stopped: {box[1]}")
    return box[0]  # type: ignore[return-value]


def sync_from_main(net: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (e.g. after rank 0 loaded best.pt)."""
    if active():
        for t in net.state_dict().values():
            flat = t.contiguous()  # collectives need dense tensors; channels_last weights are not
            dist.broadcast(flat, src=0)
            t.copy_(flat)
