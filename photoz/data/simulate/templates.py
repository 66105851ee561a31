"""The SED template libraries the simulator mixes, and their band fluxes with dust and IGM.

- `CWW` (data.sed_model=realistic, v3): the four Coleman–Wu–Weedman SEDs GalSim ships (E, Sbc, Scd,
  Im); every template takes the disk's Calzetti dust.
- `COSMOS` (data.sed_model=cosmos, v4): the 31 templates of Ilbert et al. 2009 (ApJ 690, 1236) that
  LSST DESC's RAIL ships in `examples_data/estimation_data/data/SED/COSMOS_seds.list` — Polletta
  et al. 2007 ellipticals Ell1–7, S0 and spirals Sa–Sdm (empirical, dust already in them) and the
  BC03 starbursts SB0–SB11 — plus RAIL's two young BC03 single stellar populations (5 and 25 Myr,
  Z = 0.008) for the bluest star-formers. Calzetti dust applies to the BC03 ones (dust-free models),
  as Ilbert et al. add it to their late templates. Read from the installed RAIL package at run
  time; a ConfigError names the extra to install when RAIL is absent.

Every template is normalised to mean rest-frame f_λ = 1 over 4000–6000 Å, so that a mixture of
SEDs is the same mixture of band fluxes. Band fluxes are tabulated once per process per template
and E(B−V) (step EBV_STEP) on a redshift grid and interpolated bilinearly per galaxy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from photoz.errors import ConfigError
from photoz.physics.sed import band_flux_table, load_sed

EBV_STEP, EBV_MAX = 0.05, 0.8
EBV_GRID = np.arange(0.0, EBV_MAX + 1e-9, EBV_STEP)
Z_GRID = np.linspace(0.0, 4.0, 401)  # step 0.01
NORM_NM = (400.0, 600.0)  # rest-frame window of the common normalisation
RAIL_SED_DIR = "examples_data/estimation_data/data/SED"
COSMOS_LIST = "COSMOS_seds.list"
YOUNG_SSPS = ("ssp_25Myr_z008", "ssp_5Myr_z008")  # bluest last


@dataclass(frozen=True)
class Library:
    """Named SEDs in a fixed order; `dusty[t]`: template t takes the galaxy's Calzetti dust."""

    name: str
    templates: tuple[str, ...]
    dusty: tuple[bool, ...]


CWW = Library("cww", ("E", "Sbc", "Scd", "Im"), (True, True, True, True))


def rail_sed_dir() -> Path:
    """RAIL's SED directory inside the installed package; ConfigError if RAIL or the files are absent."""
    try:
        spec = importlib.util.find_spec("rail")
    except (ImportError, ValueError):  # a broken or blocked installation counts as absent
        spec = None
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / RAIL_SED_DIR
        if (path / COSMOS_LIST).is_file():
            return path
    raise ConfigError(
        f"data.sed_model=cosmos (and empirical) reads the COSMOS SED templates and cosmoDC2 sample that LSST DESC's RAIL "
        f"ships ({RAIL_SED_DIR}/{COSMOS_LIST} in pz-rail-base), which is not installed: pip install -e '.[rail]' (or choose data.sed_model=realistic)"
    )


@cache
def cosmos_library() -> Library:
    """The COSMOS list (red to blue, as RAIL's file orders it) followed by the young SSPs."""
    names = [Path(line.split()[0]).stem for line in (rail_sed_dir() / COSMOS_LIST).read_text().splitlines() if line.strip()]
    names += list(YOUNG_SSPS)
    return Library("cosmos", tuple(names), tuple(n.startswith(("SB", "ssp")) for n in names))


def library(name: str) -> Library:
    """CWW or COSMOS by name."""
    return CWW if name == "cww" else cosmos_library()


@cache
def _spectrum(lib: Library, t: int) -> Callable[[np.ndarray], np.ndarray]:
    """Rest-frame photon density (∝ λ f_λ) of template t at wavelengths in nm, before normalising."""
    if lib.name == "cww":
        return load_sed(f"CWW_{lib.templates[t]}_ext")
    path = rail_sed_dir() / f"{lib.templates[t]}.sed"
    try:
        table = np.loadtxt(path)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read the SED template ({err}); reinstall pz-rail-base") from None
    wave = table[:, 0] / 10.0  # Å -> nm; f_λ per Å
    photons = table[:, 1] * wave
    return lambda w: np.interp(w, wave, photons, left=0.0, right=0.0)


@cache
def _scale(lib: Library, t: int) -> float:
    """Mean rest-frame f_λ over NORM_NM (photoz.physics.sed.sed_scale's normalisation)."""
    window = np.linspace(*NORM_NM, 201)
    return float(np.mean(_spectrum(lib, t)(window) / window))


def rest_band_flux(lib: Library, t: int, bandpass_file: str) -> float:
    """Rest-frame AB band flux (photoz.physics.sed's units) of normalised template t in a bandpass
    GalSim ships (e.g. ACS_wfc_F435W.dat, a B band)."""
    import galsim

    bp = galsim.Bandpass(bandpass_file, wave_type="nm")
    wave = np.linspace(bp.blue_limit, bp.red_limit, 400)
    thru = bp(wave)
    return float(np.trapezoid(_spectrum(lib, t)(wave) * thru, wave) / np.trapezoid(thru / wave, wave)) / _scale(lib, t)


def photons_at(lib: Library, wave_nm: float) -> np.ndarray:
    """(T,) normalised rest-frame photon density of each template at `wave_nm`."""
    return np.array([float(_spectrum(lib, t)(np.array(wave_nm))) / _scale(lib, t) for t in range(len(lib.templates))])


@cache
def tables(lib: Library, bands: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Per template: (E, len(Z_GRID), C) band fluxes of the normalised template with Madau IGM, for
    E(B−V) on EBV_GRID (E = len(EBV_GRID)) if the template takes dust, else without (E = 1)."""
    out: list[np.ndarray] = [np.empty(0)] * len(lib.templates)
    for dusty, ebvs in ((True, tuple(EBV_GRID)), (False, (0.0,))):
        chosen = [t for t in range(len(lib.templates)) if lib.dusty[t] == dusty]
        if chosen:
            grid = band_flux_table([_spectrum(lib, t) for t in chosen], bands, Z_GRID, ebvs, igm=True)
            for t, g in zip(chosen, grid):
                out[t] = g / _scale(lib, t)
    return tuple(out)


def continuum(lib: Library, weights: np.ndarray, ebv: np.ndarray, z: np.ndarray, bands: tuple[str, ...]) -> np.ndarray:
    """(n, C) band fluxes of template mixtures `weights` (n, T) at redshifts z, the dusty templates
    attenuated by E(B−V) `ebv` (bilinear in E(B−V) and z on the tables)."""
    e = np.clip(np.asarray(ebv, float) / EBV_STEP, 0, len(EBV_GRID) - 1.000001)
    zz = np.clip(np.asarray(z, float), Z_GRID[0], Z_GRID[-1]) / (Z_GRID[1] - Z_GRID[0])
    zz = np.minimum(zz, len(Z_GRID) - 1.000001)
    e0, z0 = e.astype(int), zz.astype(int)
    fe, fz = (e - e0)[:, None], (zz - z0)[:, None]
    out = np.zeros((len(zz), len(bands)))
    for t, g in enumerate(tables(lib, bands)):
        used = weights[:, t] > 0
        if not used.any():
            continue
        w, a, b = weights[used, t : t + 1], z0[used], fz[used]
        if lib.dusty[t]:
            i, f = e0[used], fe[used]
            mix = (g[i, a] * (1 - b) + g[i, a + 1] * b) * (1 - f) + (g[i + 1, a] * (1 - b) + g[i + 1, a + 1] * b) * f
        else:
            mix = g[0, a] * (1 - b) + g[0, a + 1] * b
        out[used] += w * mix
    return out
