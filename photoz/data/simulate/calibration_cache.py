"""The cosmoDC2 calibrations computed once and kept on disk, keyed by a sha256 of everything they
depend on, so that they are reused only for identical inputs and code: KINDS names them, "cosmodc2"
(photoz.data.simulate.calibration, versions 5–6) and "empirical" (photoz.data.simulate.empirical,
versions 7–8, a refit where the shipped mixture does not apply).

Where: $PHOTOZ_CACHE, else $XDG_CACHE_HOME/photoz (~/.cache/photoz): one <prefix>-<key>.npz
(cosmodc2-… ~3 MB, cosmodc2-xd-… 0.1 MB), written atomically; an unwritable folder only costs the
recomputation (~15 s, or ~3.5 min for the empirical mixture, which photoz also ships) next time.
Loading a file refreshes its modification time; writing a new one removes the cosmodc2-*.npz files
of that folder not used for STALE_DAYS (those of older code or inputs), so stale ones do not pile up.
Any of them may also be deleted by hand at any time: it is recomputed when needed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from photoz.data.simulate import calibration, deconvolution, empirical, realistic, templates
from photoz.data.simulate.calibration import Calibration, training_path
from photoz.data.simulate.empirical import EmpiricalCalibration
from photoz.data.simulate.templates import cosmos_library, rail_sed_dir
from photoz.physics import attenuation, sed

STALE_DAYS = 30


@dataclass(frozen=True)
class Kind:
    """One cached calibration: its file prefix, result type, function (path, n_rows) and whether it
    reads the SED templates; `modules`: the source files it depends on (hashed into the key)."""

    prefix: str
    result: type
    compute: Callable[[Path, int | None], Any]
    templates: bool
    modules: tuple[str, ...]


KINDS = {
    "cosmodc2": Kind("cosmodc2", Calibration, calibration.calibrate, True,
                     (calibration.__file__, templates.__file__, realistic.__file__, sed.__file__, attenuation.__file__)),
    "empirical": Kind("cosmodc2-xd", EmpiricalCalibration, empirical.calibrate, False,
                      (calibration.__file__, empirical.__file__, deconvolution.__file__)),
}


def cache_key(path: Path, kind: str = "cosmodc2") -> str:
    """sha256 of everything the calibration depends on: the training file, the template files and the
    GalSim version (bandpasses) where it uses them, and the source of the modules that compute it
    (constants included)."""
    import galsim

    spec = KINDS[kind]
    digest = hashlib.sha256(path.read_bytes())
    if spec.templates:
        sed_dir = rail_sed_dir()
        for name in cosmos_library().templates:
            digest.update((sed_dir / f"{name}.sed").read_bytes())
    for module in spec.modules:
        digest.update(Path(module).read_bytes())
    if spec.templates:
        digest.update(galsim.__version__.encode())
    return digest.hexdigest()


def _save(cal: Any, file: Path, key: str) -> None:
    """Write atomically (temp file renamed into place), so a killed run leaves no partial cache."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, key=key, **{f.name: getattr(cal, f.name) for f in fields(cal)})
    tmp.replace(file)
    prune(file.parent, keep=file)


def prune(directory: Path, keep: Path) -> None:
    """Remove the calibrations in `directory` (but `keep`) not loaded or written for STALE_DAYS."""
    oldest = time.time() - STALE_DAYS * 86400.0
    for old in directory.glob("cosmodc2-*.npz"):
        try:
            if old != keep and old.stat().st_mtime < oldest:
                old.unlink()
        except OSError:  # removed by another process, or not ours to remove
            pass


def _load(file: Path, key: str, result: type) -> Any:
    """The cached calibration (a `result`) if the file holds the one for `key` (else None: recomputed)."""
    try:
        with np.load(file) as data:
            if str(data["key"]) != key:
                return None
            cal = result(**{f.name: (str(data[f.name]) if f.name == "sha256" else data[f.name]) for f in fields(result)})
    except (OSError, KeyError, ValueError):
        return None
    try:
        os.utime(file)  # in use: not stale
    except OSError:
        pass
    return cal


def cache_dir() -> Path:
    """Where calibrations are kept: $PHOTOZ_CACHE, else $XDG_CACHE_HOME/photoz (~/.cache/photoz)."""
    if os.environ.get("PHOTOZ_CACHE"):
        return Path(os.environ["PHOTOZ_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "photoz"


def cached_calibration(path: Path, directory: Path, n_rows: int | None = None, kind: str = "cosmodc2") -> Any:
    """KINDS[kind].compute(path, n_rows), kept in this process and in `directory` as
    <prefix>-<key>.npz, keyed by cache_key: a changed input file, template, GalSim or code gives
    another key and is recomputed. An unwritable directory only costs the recomputation next time."""
    spec = KINDS[kind]
    key = cache_key(path, kind) + (f"-{n_rows}" if n_rows else "")
    if key in _MEMO:
        return _MEMO[key]
    file = directory / f"{spec.prefix}-{key[:20]}{key[64:]}.npz"
    cal = _load(file, key, spec.result) if file.is_file() else None
    if cal is None:
        cal = spec.compute(path, n_rows)
        try:
            _save(cal, file, key)
        except OSError:
            pass
    _MEMO[key] = cal
    return cal


_MEMO: dict[str, Any] = {}


def training_calibration() -> Calibration:
    """The calibration on RAIL's cosmoDC2 training file (cached: cache_dir())."""
    return cached_calibration(training_path(), cache_dir())


def empirical_calibration() -> EmpiricalCalibration:
    """The deconvolved mixture of RAIL's cosmoDC2 training file: the one photoz ships when it was
    fitted on the installed file (photoz.data.simulate.empirical.SHIPPED), else fitted and cached."""
    path = training_path()
    return empirical.shipped_calibration(path) or cached_calibration(path, cache_dir(), kind="empirical")
