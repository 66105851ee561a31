"""Fixtures of the data tests: the cosmoDC2 training file that the calibrated simulator versions
(5–7) read, copied alone into a folder, so that a test can show nothing else is read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def training_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The training file alone in a folder (no validation file next to it); needs the rail extra."""
    from photoz.data.simulate import calibration

    folder = tmp_path_factory.mktemp("train_only")
    shutil.copy(calibration.training_path(), folder / calibration.TRAINING_FILE)
    return folder / calibration.TRAINING_FILE
