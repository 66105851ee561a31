"""Band fluxes of redshifted GalSim SEDs through GalSim's LSST bandpasses or a user's own curves.

The one place this physics lives: the simulator (photoz.data.simulate.fluxes) turns it into galaxy
colours and the template fit (photoz.estimators.template_fit) into its model fluxes. SEDs and
bandpasses are the files GalSim ships (SEDs/<name>.sed, f_λ per Å; bandpasses/LSST_<band>.dat, nm).
A band is named (an LSST band: GalSim's curve) or given as a Curve (photoz.physics.curves: a data
set's own filter curve), wherever a function below takes `band` or `bands`.
Unknown names are ConfigErrors worded for the template fit's config (model.templates, data bands):
the simulator checks its own band and template names before it gets here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import galsim
import numpy as np

from photoz.errors import ConfigError
from photoz.physics.curves import Curve

SHARE = Path(galsim.meta_data.share_dir)
N_LAMBDA = 400  # integration points per bandpass


def known_bands() -> list[str]:
    """Bands with a GalSim LSST bandpass file."""
    return sorted(p.stem.split("_", 1)[1] for p in (SHARE / "bandpasses").glob("LSST_*.dat"))


def known_seds() -> list[str]:
    """Names of the SED files GalSim ships (e.g. CWW_E_ext)."""
    return sorted(p.stem for p in (SHARE / "SEDs").glob("*.sed"))


Band = str | Curve  # an LSST band's name, or a filter curve


@cache
def band_table(band: Band) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength nm, throughput) of LSST band `band` on N_LAMBDA points; ConfigError if GalSim lacks it.
    A Curve: on N_LAMBDA points across it plus the curve's own points (sharp edges stay sharp)."""
    if isinstance(band, Curve):
        wave = np.union1d(np.linspace(band.wave[0], band.wave[-1], N_LAMBDA), band.wave)
        return wave, np.interp(wave, band.wave, band.thru)
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


def sed_scale(name: str) -> float:
    """Mean rest-frame f_λ of SED `name` over 4000–6000 Å (GalSim units): dividing by it normalises
    templates alike, so that a mixture of SEDs is the same mixture of their band fluxes."""
    window = np.linspace(400.0, 600.0, 201)  # nm
    return float(np.mean(load_sed(name)(window) / window))  # GalSim gives photons ∝ λ f_λ


def ab_norm(band: Band) -> float:
    """∫ T(λ)/λ dλ: the band integral of a flat-f_ν (AB) source's photons."""
    wave, thru = band_table(band)
    return float(np.trapezoid(thru / wave, wave))


def band_fluxes(sed: str, bands: Sequence[Band], z: np.ndarray, ebv: float = 0.0, igm: bool = False) -> np.ndarray:
    """(len(z), len(bands)) photon-weighted mean f_ν (relative units) of SED `sed` redshifted to each z:
    ∫ N(λ/(1+z)) T(λ) dλ / ∫ T(λ)/λ dλ, with N the rest-frame photon density (∝ λ f_λ) and T the
    band's throughput; the denominator is the same integral for a flat-f_ν (AB) source. `ebv`
    attenuates N by Calzetti dust in the rest frame, `igm` by Madau's IGM (photoz.physics.attenuation)."""
    return band_flux_grid(sed, bands, z, (ebv,), igm)[0]


def band_flux_grid(sed: str, bands: Sequence[Band], z: np.ndarray, ebvs: Sequence[float], igm: bool) -> np.ndarray:
    """(len(ebvs), len(z), len(bands)) band_fluxes for each dust E(B−V) in `ebvs`."""
    return band_flux_table([load_sed(sed)], bands, z, ebvs, igm)[0]


def band_flux_table(specs: Sequence[Callable[[np.ndarray], np.ndarray]], bands: Sequence[Band], z: np.ndarray,
                    ebvs: Sequence[float], igm: bool) -> np.ndarray:
    """(len(specs), len(ebvs), len(z), len(bands)) band_flux_grid of rest-frame photon densities
    `spec(wave_nm)` (∝ λ f_λ; a GalSim SED is one); the IGM and dust factors are computed once for all."""
    from photoz.physics.attenuation import calzetti_k, igm_transmission

    z = np.asarray(z, float)
    out = np.empty((len(specs), len(ebvs), len(z), len(bands)))
    for j, band in enumerate(bands):
        wave, thru = band_table(band)
        rest = wave[None, :] / (1.0 + z[:, None])
        weight = thru * igm_transmission(wave, z) if igm else np.broadcast_to(thru, rest.shape)
        photons = np.stack([spec(rest.ravel()).reshape(rest.shape) * weight for spec in specs])
        k = calzetti_k(rest) if any(ebvs) else 0.0
        step = np.diff(wave)
        trap = np.concatenate([step, [0.0]]) / 2 + np.concatenate([[0.0], step]) / 2  # trapezoid-rule weights
        for e, ebv in enumerate(ebvs):
            factor = 10.0 ** (-0.4 * k * ebv) * trap if ebv else trap
            out[:, e, :, j] = np.einsum("szl,zl->sz", photons, np.broadcast_to(factor, rest.shape)) / ab_norm(band)
    return out


def throughput(band: Band, wave_nm: np.ndarray) -> np.ndarray:
    """T(λ) / ∫ T(λ)/λ dλ of `band` at observed wavelengths (0 outside the band): how much a
    spectral line's photons at λ add to band_fluxes."""
    wave, thru = band_table(band)
    return np.interp(wave_nm, wave, thru, left=0.0, right=0.0) / ab_norm(band)
