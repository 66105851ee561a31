"""BPZ's template fluxes (AB files), each one whole before any process can read it.

BPZ_lite computes a missing template × filter flux table (an AB file) on first use and writes
it in place, in its data folder: for RAIL's LSST curves, RAIL's folder in the installed package,
shared by every process. Two processes that start on a fresh install at once (Optuna workers,
`labels_study` runs side by side, `pytest -n 2`) both find a file missing; one may then read the
file the other is still writing, and BPZ fails on a truncated flux table. Here every missing
file (or one that a killed write left short) is made in a private folder inside AB/ and moved in
with `os.replace`, which is atomic on one file system: a reader sees the whole file or none, and
BPZ_lite finds every file it needs.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from photoz.errors import ConfigError


def rail_bpz_data() -> Path:
    """BPZ's data folder inside the installed RAIL: SED/ (templates), FILTER/ (DC2LSST_<b>), AB/."""
    from rail.utils.path_utils import RAILDIR

    return Path(RAILDIR) / "rail/examples_data/estimation_data/data"


def ab_name(sed: str, band_filter: str, madau_flag: str) -> str:
    """BPZ_lite's name of the flux table of template `sed` through `band_filter`."""
    return f"{sed}.{band_filter}.{'withmadau' if madau_flag == 'yes' else 'nomadau'}.AB"


def is_whole(path: Path) -> bool:
    """Whether an AB file ends with the row of BPZ's last redshift (a cut-short file does not)."""
    from desc_bpz.bpz_tools_py3 import dz_ab, zmax_ab

    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 200))
            tail = f.read().decode("ascii")
        return tail.endswith("\n") and abs(float(tail.splitlines()[-1].split()[0]) - (zmax_ab - dz_ab)) < 1e-6
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return False


def ensure_ab_files(stage: Any) -> None:
    """Make the AB files a BPZ_lite estimator stage will read that its data folder lacks."""
    from desc_bpz import paths
    from desc_bpz.bpz_tools_py3 import ABflux
    from desc_bpz.useful_py3 import get_str

    data, conf = Path(stage.bpz_ref_data_path), stage.config
    if conf.madau_flag not in ("yes", "no"):  # BPZ_lite and its ABflux would name the file differently
        raise ConfigError(f"model.estimate.madau_flag={conf.madau_flag!r}: BPZ_lite takes yes or no")
    seds = [s[:-4] for s in get_str(str(data / "SED" / conf.spectra_file))]
    missing = [(s, f) for s in seds for f in conf.filter_list if not is_whole(data / "AB" / ab_name(s, f, conf.madau_flag))]
    if not missing:
        return
    try:
        (data / "AB").mkdir(exist_ok=True)
        private = Path(tempfile.mkdtemp(prefix=".photoz-", dir=data / "AB"))
    except OSError as err:
        raise ConfigError(f"BPZ's data folder {data}: cannot write its template fluxes there ({err.strerror}); "
                          "run rail_bpz once as the user who installed RAIL, or point +model.inform.bpz_ref_data_path "
                          "and +model.estimate.bpz_ref_data_path at a writable copy of it") from None
    try:
        paths.set_sed_dir(str(data / "SED"))
        paths.set_fil_dir(str(data / "FILTER"))
        paths.set_ab_dir(str(private))
        with contextlib.redirect_stdout(io.StringIO()):  # BPZ prints a few lines per file
            for sed, band_filter in missing:
                ABflux(sed, band_filter, conf.madau_flag)
        for sed, band_filter in missing:
            name = ab_name(sed, band_filter, conf.madau_flag)
            os.replace(private / name, data / "AB" / name)
    finally:
        paths.set_data_dir(str(data))
        shutil.rmtree(private, ignore_errors=True)
