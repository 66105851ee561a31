"""Where photoz.predict and photoz.merge may write: a prediction file replaces only a file photoz
wrote (or any file with overwrite=true), never a directory, and only where it can be written.

A file photoz wrote is a FITS file whose PHOTOZ table names the model it came from (header
MODELURI), or a qp HDF5 file holding photoz's ancillary columns (z_phot, z_err, z_q16, z_q50, z_q84).
"""

from __future__ import annotations

import os
from pathlib import Path

from photoz.errors import ConfigError

QP_SUFFIXES = (".hdf5", ".h5", ".hdf", ".hd5", ".hf5")
QP_COLUMNS = {"z_phot", "z_err", "z_q16", "z_q50", "z_q84"}


def written_by_photoz(path: Path) -> bool:
    """Whether `path` is a prediction file photoz wrote (unreadable or foreign: False)."""
    try:
        if path.suffix.lower() in QP_SUFFIXES:
            import h5py

            with h5py.File(path, "r") as file:
                return "ancil" in file and QP_COLUMNS <= set(file["ancil"].keys())
        from astropy.io import fits

        with fits.open(path) as hdul:
            return "PHOTOZ" in hdul and "MODELURI" in hdul["PHOTOZ"].header
    except Exception:  # not FITS, not HDF5, truncated: not ours  # noqa: BLE001
        return False


def check_output(path: Path, overwrite: bool, flag: str = "overwrite=true") -> None:
    """ConfigError unless a prediction file may be written at `path`: not a directory, in a folder
    that exists or can be made and written, replacing only a file photoz wrote unless `flag`."""
    if path.is_dir():
        raise ConfigError(f"output={path} is a directory; name a file in it, e.g. output={path / 'zphot.fits'}")
    if path.exists() and not overwrite and not written_by_photoz(path):
        raise ConfigError(
            f"output={path} exists and is not a prediction file photoz wrote; refusing to replace it: "
            f"choose another output= or set {flag} to replace it"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the first folder that is there
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        reason = "a read-only file system" if _read_only(folder) else "not writable"
        raise ConfigError(f"output={path}: {folder} is {reason}; choose an output= in a folder you can write")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
