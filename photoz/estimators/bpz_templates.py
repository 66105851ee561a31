"""BPZ's template fluxes (AB files), each one whole before any process can read it.

BPZ_lite computes a missing template × filter flux table (an AB file) on first use and writes
it in place, in its data folder: for RAIL's LSST curves, RAIL's folder in the installed package,
shared by every process. Two processes that start on a fresh install at once (Optuna workers,
`labels_study` runs side by side, `pytest -n 2`) both find a file missing; one may then read the
file the other is still writing, and BPZ fits with a truncated flux table. Here every missing
file is made in a private folder inside AB/ and moved in with `os.replace`, which is atomic on
one file system: a reader sees the whole file or none, and BPZ_lite finds every file it needs.
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


def ab_name(sed: str, band_filter: str, madau_flag: str) -> str:
    """BPZ's name of the flux table of template `sed` through `band_filter`."""
    return f"{sed}.{band_filter}.{'withmadau' if madau_flag == 'yes' else 'nomadau'}.AB"


def ensure_ab_files(stage: Any) -> None:
    """Make the AB files a BPZ_lite estimator stage will read that its data folder lacks."""
    from desc_bpz import paths
    from desc_bpz.bpz_tools_py3 import ABflux
    from desc_bpz.useful_py3 import get_str

    data, conf = Path(stage.bpz_ref_data_path), stage.config
    seds = [s[:-4] for s in get_str(str(data / "SED" / conf.spectra_file))]
    missing = [(s, f) for s in seds for f in conf.filter_list if not (data / "AB" / ab_name(s, f, conf.madau_flag)).is_file()]
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
