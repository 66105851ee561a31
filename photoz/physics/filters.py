"""Photometric systems: which filter curves a data set's bands were observed through.

A data set records its system in meta.json (photoz.data.filters): a survey named in SURVEYS, whose
curves come from a file an installed package ships (nothing is downloaded), or a user's own curves
copied into the record at import. `passbands(record, bands, who)` turns a record into the curves
of the given bands, or refuses in one line (ConfigError) a system whose curves photoz does not have.

    lsst   GalSim's LSST_<b>.dat (total throughput at airmass 1.2)        ugrizy, always installed
    hsc    RAIL's hsc_<b>.res (pz-rail-base, the [rail] extra)             grizy
    des    RAIL's DECam_<b>.res (DECam's published curves, [rail] extra)   grizy
    sdss   no installed package ships SDSS curves: give them at import     ugriz
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from photoz.errors import ConfigError

N_POINTS = 400  # points a curve is resampled to (the integration grid of photoz.physics.sed)
MAX_CURVE_POINTS = 100_000  # a user's curve file holding more is refused


@dataclass(frozen=True)
class Survey:
    """A named system: its bands, and the package folder + file pattern of its curves (none: not
    shipped), the first column's unit in nm."""

    bands: tuple[str, ...]
    package: str | None = None  # an importable package whose folder holds the files
    pattern: str = ""  # path inside the package's folder, {band} replaced
    nm_per_unit: float = 0.1  # Angstrom


RAIL_FILTERS = "estimation_data/data/FILTER"  # in rail.examples_data (pz-rail-base)
SURVEYS: dict[str, Survey] = {
    "lsst": Survey(tuple("ugrizy"), "galsim", "share/bandpasses/LSST_{band}.dat", 1.0),
    "hsc": Survey(tuple("grizy"), "rail.examples_data", RAIL_FILTERS + "/hsc_{band}.res"),
    "des": Survey(tuple("grizy"), "rail.examples_data", RAIL_FILTERS + "/DECam_{band}.res"),
    "sdss": Survey(tuple("ugriz")),
}


@dataclass(frozen=True)
class Passband:
    """One band's curve on N_POINTS wavelengths (nm); hashable, so computations on it are cached."""

    name: str  # e.g. lsst_g, or <survey>_<band> for a user's curve
    wave: tuple[float, ...]
    throughput: tuple[float, ...]

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.wave), np.asarray(self.throughput)


def resample(name: str, wave_nm: np.ndarray, thru: np.ndarray) -> Passband:
    """The curve where its throughput is non-zero, on N_POINTS points; ConfigError if it is not a
    filter curve (unsorted, negative, all zero, or outside 100 nm – 30 µm: a wrong unit)."""
    wave_nm, thru = np.asarray(wave_nm, float), np.asarray(thru, float)
    ok = wave_nm.ndim == 1 and wave_nm.shape == thru.shape and len(wave_nm) >= 2 and np.isfinite(wave_nm).all()
    ok = ok and np.isfinite(thru).all() and (np.diff(wave_nm) > 0).all() and (thru >= 0).all() and thru.max() > 0
    if not ok:
        raise ConfigError(f"filter curve {name}: needs increasing wavelengths and finite throughputs >= 0, not all 0")
    inside = np.flatnonzero(thru > 0)
    lo, hi = wave_nm[max(inside[0] - 1, 0)], wave_nm[min(inside[-1] + 1, len(wave_nm) - 1)]
    if not 100.0 <= lo and hi <= 30_000.0:
        raise ConfigError(f"filter curve {name} spans {lo:.4g}–{hi:.4g} nm; is its wavelength unit right (nm or Angstrom)?")
    wave = np.linspace(lo, hi, N_POINTS)
    return Passband(name, tuple(wave.tolist()), tuple(np.interp(wave, wave_nm, thru).tolist()))


def _package_folder(package: str) -> Path | None:
    try:
        spec = find_spec(package)
    except ImportError:  # its parent package is not installed
        return None
    return Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None


@cache
def survey_passband(survey: str, band: str) -> Passband:
    """The curve of `band` of the named survey, from the installed package that ships it."""
    s = SURVEYS[survey]
    folder = _package_folder(s.package) if s.package else None
    path = folder / s.pattern.format(band=band) if folder else None
    if path is None or not path.is_file():
        raise ConfigError(f"no installed package ships {survey} filter curves (needs {s.package or 'none ships them'})")
    data = np.loadtxt(path, comments="#", usecols=(0, 1))
    return resample(f"{survey}_{band}", data[:, 0] * s.nm_per_unit, data[:, 1])


def curve_record(wave_nm: np.ndarray, thru: np.ndarray) -> dict[str, list[float]]:
    """A user's curve as stored in a data set's meta.json (checked, at its own sampling)."""
    resample("curve", wave_nm, thru)
    return {"wave_nm": np.asarray(wave_nm, float).tolist(), "throughput": np.asarray(thru, float).tolist()}


def passbands(record: dict[str, Any] | None, bands: list[str], who: str) -> tuple[Passband, ...]:
    """The curves of `bands` in the system `record` names (photoz.data.filters); ConfigError
    naming `who` (the estimator) and what to do if photoz has none for them."""
    if not record or not record.get("survey"):
        raise ConfigError(f"{who} needs the data set's filter curves, but it records no photometric system")
    survey, curves = str(record["survey"]), record.get("curves")
    if curves:
        missing = [b for b in bands if b not in curves]
        if missing:
            raise ConfigError(f"{who}: the data set's {survey} filter curves lack band(s) {', '.join(missing)}")
        return tuple(resample(f"{survey}_{b}", np.asarray(curves[b]["wave_nm"]), np.asarray(curves[b]["throughput"])) for b in bands)
    if survey not in SURVEYS:
        raise ConfigError(f"{who}: photoz has no filter curves for survey {survey!r} (it knows {', '.join(SURVEYS)})")
    unknown = [b for b in bands if b not in SURVEYS[survey].bands]
    if unknown:
        raise ConfigError(f"{who}: survey {survey} has no band(s) {', '.join(unknown)} (it has {', '.join(SURVEYS[survey].bands)})")
    try:
        return tuple(survey_passband(survey, b) for b in bands)
    except ConfigError as err:
        raise ConfigError(f"{who} cannot fit this {survey} data set: {err}") from None
