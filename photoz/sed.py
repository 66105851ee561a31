"""Band fluxes of redshifted GalSim SEDs through GalSim's LSST bandpasses.

The one place this physics lives: the simulator (photoz.data.simulate.sed) turns it into galaxy
colours and the template fit (photoz.estimators.template_fit) into its model fluxes. SEDs and
bandpasses are the files GalSim ships (SEDs/<name>.sed, f_λ per Å; bandpasses/LSST_<band>.dat, nm).
Unknown names are ConfigErrors worded for the template fit's config (model.templates, data bands):
the simulator checks its own band and template names before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import galsim
import numpy as np

from photoz.errors import ConfigError

SHARE = Path(galsim.meta_data.share_dir)
N_LAMBDA = 400  # integration points per bandpass


def known_bands() -> list[str]:
    """Bands with a GalSim LSST bandpass file."""
    return sorted(p.stem.split("_", 1)[1] for p in (SHARE / "bandpasses").glob("LSST_*.dat"))


def known_seds() -> list[str]:
    """Names of the SED files GalSim ships (e.g. CWW_E_ext)."""
    return sorted(p.stem for p in (SHARE / "SEDs").glob("*.sed"))


@cache
def band_table(band: str) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength nm, throughput) of LSST band `band` on N_LAMBDA points; ConfigError if GalSim lacks it."""
    if not (SHARE / "bandpasses" / f"LSST_{band}.dat").is_file():
        raise ConfigError(
            f"template_fit has no bandpass for band {band!r}: GalSim ships LSST {', '.join(known_bands())} only; "
            "for other surveys use a catalogue baseline (model=random_forest or knn)"
        )
    bp = galsim.Bandpass(f"LSST_{band}.dat", wave_type="nm")
    wave = np.linspace(bp.blue_limit, bp.red_limit, N_LAMBDA)
    return wave, bp(wave)


@cache
def load_sed(name: str) -> galsim.SED:
    """GalSim SED `name` (a file SEDs/<name>.sed, f_λ per Å); ConfigError naming the choices if absent."""
    if not (SHARE / "SEDs" / f"{name}.sed").is_file():
        raise ConfigError(f"model.templates: no SED {name!r} in {SHARE / 'SEDs'}; choose from {', '.join(known_seds())}")
    return galsim.SED(f"{name}.sed", wave_type="Ang", flux_type="flambda")


def band_fluxes(sed: str, bands: Sequence[str], z: np.ndarray) -> np.ndarray:
    """(len(z), len(bands)) photon-weighted mean f_ν (relative units) of SED `sed` redshifted to each z:
    ∫ N(λ/(1+z)) T(λ) dλ / ∫ T(λ)/λ dλ, with N the rest-frame photon density (∝ λ f_λ) and T the
    band's throughput; the denominator is the same integral for a flat-f_ν (AB) source."""
    spec = load_sed(sed)
    z = np.asarray(z, float)
    out = np.empty((len(z), len(bands)))
    for j, band in enumerate(bands):
        wave, thru = band_table(band)
        rest = wave[None, :] / (1.0 + z[:, None])
        photons = spec(rest.ravel()).reshape(rest.shape)
        ab = np.trapezoid(thru / wave, wave)  # AB photons ∝ 1/λ per unit wavelength
        out[:, j] = np.trapezoid(photons * thru, wave, axis=1) / ab
    return out
