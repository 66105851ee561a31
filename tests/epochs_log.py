"""The sweeper test app's epochs.log (tests/sweeper/app.py appends "<trial number> <epoch>" per
epoch), read by the sweeper and scale tests; importable from any test as `epochs_log`."""

from __future__ import annotations

from pathlib import Path


def read_epochs(path: Path) -> dict[int, list[int]]:
    """Epochs that ran, by trial number; {} while the file does not exist."""
    ran: dict[int, list[int]] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        number, epoch = map(int, line.split())
        ran.setdefault(number, []).append(epoch)
    return ran
