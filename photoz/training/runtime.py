"""Where and how fast to run: device, CPU threads, bf16 autocast and memory layout.

bf16 autocast with channels_last trains a small CNN several times faster than fp32 on CUDA and on
CPUs with AMX; elsewhere (AVX2, and AVX512-BF16 without AMX) bf16 measured slower than fp32, so
`precision=auto` keeps fp32 there. channels_last is used on CPU and CUDA alike: oneDNN's convolutions prefer it
even in fp32 (AVX2, 1 thread: sequential 300 -> 397, googlenet 219 -> 404 images/s).
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch

from photoz.config import TrainerConfig
from photoz.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    bf16: bool  # autocast to bfloat16
    channels_last: bool

    def autocast(self) -> AbstractContextManager:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def forward(self, net: torch.nn.Module, x: torch.Tensor, catalog: torch.Tensor | None = None) -> torch.Tensor:
        """net(x), or net(x, catalog), in this runtime's memory layout and precision."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            return net(x) if catalog is None else net(x, catalog)

    def describe(self) -> str:
        return f"{self.device} {'bf16' if self.bf16 else 'fp32'}{' channels_last' if self.channels_last else ''}"


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. under Slurm or taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def hardware_bf16(device: torch.device) -> bool:
    """True where bf16 is faster than fp32: CUDA with bf16, or a CPU with AMX. AVX512-BF16 alone
    does not count: on such a Xeon bf16 matmuls measured 8 GFLOP/s against fp32's 28 and the
    sequential CNN trained at 0.87x Lightning's fp32 (docs/performance.md)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    return False


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"trainer.device={name} is not a device; use auto, cpu, cuda, cuda:<n> or mps")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device={name} but this torch build sees no CUDA GPU; use trainer.device=cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"trainer.device={name} but MPS is not available here; use trainer.device=cpu")
    return device


def choose_runtime(trainer: TrainerConfig) -> Runtime:
    """Resolve trainer.device / precision / num_threads into a Runtime and set torch's threads."""
    torch.set_num_threads(trainer.num_threads or available_cores())
    device = _device(trainer.device)
    native = hardware_bf16(device)
    if trainer.precision == "bf16" and not native:
        log.warning("trainer.precision=bf16 on %s without native bf16: expect it to be slower than fp32", device)
    bf16 = trainer.precision == "bf16" or (trainer.precision == "auto" and native)
    return Runtime(device=device, bf16=bf16, channels_last=device.type in ("cpu", "cuda"))
