"""Small disks for the full-disk and read-only tests, importable from any test as `disks`.

A real tmpfs of a few hundred kB mounted on a test folder (needs root, or passwordless sudo): the
kernel then answers every write past its size with ENOSPC, exactly as a full disk does. Where
nothing can be mounted, the test is skipped with that reason (never faked).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(args: list[str]) -> bool:
    for prefix in ([], ["sudo", "-n"]):
        try:
            if subprocess.run([*prefix, "mount", *args], capture_output=True, timeout=30).returncode == 0:
                return True
        except (OSError, subprocess.SubprocessError):
            continue
    return False


def _umount(path: Path) -> None:
    for prefix in ([], ["sudo", "-n"]):
        if subprocess.run([*prefix, "umount", "-l", str(path)], capture_output=True, timeout=30).returncode == 0:
            return


@contextmanager
def small_disk(path: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """`path` (created) as a tmpfs of `size` ("300k"), writable by anyone, or read-only."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=1777" + (",ro" if read_only else "")
    if not _mount(["-t", "tmpfs", "-o", options, "tmpfs", str(path)]):
        pytest.skip("cannot mount a tmpfs here (needs root or passwordless sudo): the full-disk case is not tested")
    try:
        yield path
    finally:
        _umount(path)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk of `folder` up to `leave` free bytes with one file; returns it."""
    ballast = folder / "ballast"
    with open(ballast, "wb") as f:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize - leave
                if free <= 0:
                    break
                f.write(b"\0" * min(free, 1 << 16))
                f.flush()
        except OSError:
            pass
    return ballast
