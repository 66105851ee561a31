"""Filter curves a user gives (photoz.ingest `filter_curves=`): parsed and checked in one place.

A curve file is text: two columns per line, wavelength in nm (strictly increasing, within
WAVE_RANGE) and throughput (≥ 0, not all zero), at least 2 rows; `#` starts a comment, blank lines
are skipped. A curve is identified by the sha256 of its bytes, so the same file always means the same curve: a data set
records it (meta.json `filter_curves`), a template-fit model carries its text, and both are parsed
by `parse_curve`, with the same bounds, before any number of it is used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from photoz.errors import DataError

MAX_BYTES = 1_000_000  # a curve file larger than this is refused before it is parsed
MAX_ROWS = 10_000  # bounds the integration arrays (rows × redshifts × templates floats)
# Every wavelength of a curve lies here: GalSim's CWW SEDs, which template_fit integrates over each
# curve (all its rows), end at 2205 nm rest frame, and nothing is observed blueward of the Lyman limit.
# A curve in Å (an optical band at 3,000-11,000) falls outside, and is refused instead of being fitted
# as a 3-11 µm band (rail_bpz predicted bias +1.05 from such a set, template_fit raised GalSim's error).
WAVE_RANGE = (91.0, 2205.0)
FORMAT_HINT = "write two columns per line, wavelength in nm (strictly increasing) and throughput >= 0 (docs/import.md)"


@dataclass(frozen=True, eq=False)
class Curve:
    """One band's filter curve: wavelengths (nm), throughputs, and the file text they came from.
    Equal and hashed by the sha256 of that text, so caches of band fluxes key on it."""

    text: str
    wave: np.ndarray
    thru: np.ndarray
    sha256: str

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Curve) and other.sha256 == self.sha256


def sha256_text(text: str) -> str:
    """sha256 of the curve file's bytes (its text as UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows(text: str, where: str) -> np.ndarray:
    """(n, 2) numbers of the file's non-comment lines; DataError naming the first bad line."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            if len(fields) != 2:
                raise ValueError
            rows.append((float(fields[0]), float(fields[1])))
        except ValueError:
            raise DataError(f"{where}: line {number} is {line.strip()[:60]!r}, not two numbers; {FORMAT_HINT}") from None
        if len(rows) > MAX_ROWS:
            raise DataError(f"{where}: more than {MAX_ROWS} rows; resample the curve more coarsely")
    return np.asarray(rows, float).reshape(-1, 2)


def parse_curve(text: str, where: str) -> Curve:
    """The Curve that `text` holds; DataError (one line naming `where`) if it breaks a rule above."""
    if len(text) > MAX_BYTES:
        raise DataError(f"{where}: {len(text)} characters, more than {MAX_BYTES}; resample the curve more coarsely")
    rows = _rows(text, where)
    wave, thru = rows[:, 0], rows[:, 1]
    problem = None
    if len(rows) < 2:
        problem = f"{len(rows)} rows, need at least 2"
    elif not np.isfinite(rows).all():
        problem = f"data row {np.flatnonzero(~np.isfinite(rows).all(1))[0] + 1} holds a NaN or inf"
    elif not (np.diff(wave) > 0).all():
        problem = f"wavelength is not strictly increasing at data row {np.flatnonzero(np.diff(wave) <= 0)[0] + 2}"
    elif wave[0] < WAVE_RANGE[0] or wave[-1] > WAVE_RANGE[1]:
        problem = (f"wavelengths {wave[0]:g}-{wave[-1]:g} nm are not within {WAVE_RANGE[0]:g}-{WAVE_RANGE[1]:g} nm "
                   "(ultraviolet to near-infrared; photoz's SED templates end at 2205 nm): a curve in Å? divide by 10")
    elif (thru < 0).any():
        problem = f"throughput {thru[thru < 0][0]} at data row {np.flatnonzero(thru < 0)[0] + 1} is negative"
    elif not (thru > 0).any():
        problem = "throughput is zero everywhere"
    if problem:
        raise DataError(f"{where}: {problem}; {FORMAT_HINT}")
    wave.setflags(write=False)
    thru.setflags(write=False)
    return Curve(text, wave, thru, sha256_text(text))
