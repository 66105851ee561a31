"""`data.sed_model=realistic` (simulator version 3): galaxy SEDs richer than any template set.

Each galaxy's bulge and disk have their own SED (docs/data.md has the sources):

- continuous diversity: a Dirichlet mixture of all four CWW templates (E, Sbc, Scd, Im), for the
  disk centred on its type `true_sed` (0 = Sbc … 2 = Im) but with weight on every template, for
  the bulge mostly E; templates are normalised alike (photoz.physics.sed.sed_scale) before mixing;
- internal dust: Calzetti et al. 2000 on the disk, E(B−V) exponential with mean
  `data.ebv_mean` × (0.4 + 0.4 true_sed) (more for later types), capped at EBV_MAX; bulges none;
- nebular lines on the disk: [OII] 3727 from the dust-free UV at 2300 Å through Kennicutt (1998)'s
  SFR calibrations (L[OII] = 1.4e-28/1.4e-41 L_ν(UV), i.e. 17.6 Å × f_λ(2300 Å)), the other lines
  in Ilbert et al. (2009)'s fixed ratios to [OII] (Hβ 0.61, [OIII] 0.36, Hα 1.77, the last two
  being Kennicutt's Hα/[OII] and case-B Hβ/Hα), [OIII] 5007/4959 and [NII] 6584/6548 in their
  atomic 2.98 and 2.94 ratios, [NII] 6584/Hα = 0.3 (star-forming galaxies); strengths grow as
  (1 + z)^1.8 to z = 2 (Fumagalli et al. 2012, Hα EW), 0.2 dex scatter, × `data.line_ew_scale`;
  lines see the nebular E(B−V)_gas = E(B−V)_star / 0.44 (Calzetti 2000);
- IGM: Madau 1995 on everything (photoz.physics.attenuation).

Band fluxes come from tables per template and E(B−V) on a redshift grid (photoz.data.simulate.templates),
interpolated per galaxy, plus each line's photons through the band it lands in. The line machinery
(line_photons, rest_ew, sed_fluxes) takes the template library as an argument: the COSMOS model
(photoz.data.simulate.cosmos, v4) uses it with its own templates.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from photoz.physics.attenuation import calzetti_k
from photoz.data.simulate.fluxes import REF_BAND, scale_to_i
from photoz.data.simulate.templates import CWW, Library, photons_at
from photoz.data.simulate.templates import continuum as library_continuum
from photoz.physics.sed import throughput

TEMPLATES = CWW.templates
TYPE_POSITION = np.array([-1.0, 0.0, 1.0, 2.0])  # on the true_sed axis (0 = Sbc … 2 = Im)
EBV_MAX = 0.8
UV_NM = 230.0
OII_PER_UV_NM = 1.76  # 17.6 Å: Kennicutt 1998, L[OII] = 1e13 Hz × L_ν(UV) at 2300 Å
STAR_OVER_GAS = 0.44  # Calzetti 2000: E(B−V)_star = 0.44 E(B−V)_gas
LINE_EVOLUTION, LINE_EVOLUTION_ZMAX, LINE_SCATTER_DEX = 1.8, 2.0, 0.2
# rest wavelength (nm, air) and flux relative to [OII] 3727
LINES = {
    "OII_3727": (372.7, 1.0),
    "Hbeta_4861": (486.1, 0.61),
    "OIII_4959": (495.9, 0.36 / 3.98),
    "OIII_5007": (500.7, 0.36 * 2.98 / 3.98),
    "NII_6548": (654.8, 1.77 * 0.3 / 2.94),
    "Halpha_6563": (656.3, 1.77),
    "NII_6584": (658.4, 1.77 * 0.3),
}


def dirichlet(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """(n, K) Dirichlet draws, one per row of alpha."""
    g = rng.gamma(alpha)
    return g / g.sum(axis=1, keepdims=True)


def draw_sed_params(rng: np.random.Generator, truth: Table, ebv_mean: float, line_ew_scale: float) -> dict[str, np.ndarray]:
    """Per galaxy: bulge and disk template weights (n, 4), disk E(B−V), line-strength factor."""
    n = len(truth)
    sed = np.asarray(truth["true_sed"], float)
    disk_alpha = 0.2 + 3.0 * np.exp(-0.5 * ((TYPE_POSITION[None, :] - sed[:, None]) / 0.6) ** 2)
    bulge_alpha = np.broadcast_to([5.0, 1.0, 0.3, 0.1], (n, 4))
    ebv = np.minimum(rng.exponential(1.0, n) * ebv_mean * (0.4 + 0.4 * sed), EBV_MAX)
    z_evo = np.minimum(np.asarray(truth["redshift"], float), LINE_EVOLUTION_ZMAX)
    lines = line_ew_scale * (1.0 + z_evo) ** LINE_EVOLUTION * 10 ** rng.normal(0.0, LINE_SCATTER_DEX, n)
    return {"bulge_w": dirichlet(rng, bulge_alpha), "disk_w": dirichlet(rng, disk_alpha), "ebv": ebv, "lines": lines}


def continuum(weights: np.ndarray, ebv: np.ndarray, z: np.ndarray, bands: tuple[str, ...]) -> np.ndarray:
    """(n, C) band fluxes of CWW mixtures `weights` (n, 4) with dust `ebv` at redshifts z."""
    return library_continuum(CWW, weights, ebv, z, bands)


def line_photons(weights: np.ndarray, ebv: np.ndarray, strength: np.ndarray, lib: Library = CWW) -> dict[str, np.ndarray]:
    """Per line: (n,) rest-frame photons (same units as the templates' photon density × nm)."""
    uv = weights @ photons_at(lib, UV_NM)  # the templates' UV continuum (before the galaxy's dust) sets the SFR
    out = {}
    for name, (wave, ratio) in LINES.items():
        gas = 10.0 ** (-0.4 * float(calzetti_k(np.array(wave))) * ebv / STAR_OVER_GAS)
        out[name] = ratio * OII_PER_UV_NM * (wave / UV_NM) * uv * gas * strength
    return out


def rest_ew(weights: np.ndarray, ebv: np.ndarray, photons: np.ndarray, wave_nm: float, lib: Library = CWW) -> np.ndarray:
    """(n,) rest-frame equivalent width (Å) of a line against the attenuated continuum."""
    cont = (weights @ photons_at(lib, wave_nm)) * 10.0 ** (-0.4 * float(calzetti_k(np.array(wave_nm))) * ebv)
    return 10.0 * photons / cont


def realistic_fluxes(truth: Table, params: dict[str, np.ndarray], bands: list[str], lib: Library = CWW) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) bulge and disk fluxes in nJy (photoz.data.simulate.fluxes.scale_to_i of their colours)."""
    bulge, disk = sed_fluxes(truth, params, (*bands, REF_BAND), lib)
    return scale_to_i(truth, bulge[:, :-1] / bulge[:, -1:], disk[:, :-1] / disk[:, -1:])


def sed_fluxes(truth: Table, params: dict[str, np.ndarray], bands: tuple[str, ...], lib: Library = CWW) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) bulge and disk band fluxes (relative units, templates normalised alike); the disk
    carries the dust and the emission lines."""
    z = np.asarray(truth["redshift"], float)
    bulge = library_continuum(lib, params["bulge_w"], np.zeros(len(z)), z, bands)
    disk = library_continuum(lib, params["disk_w"], params["ebv"], z, bands)
    for name, photons in line_photons(params["disk_w"], params["ebv"], params["lines"], lib).items():
        observed = LINES[name][0] * (1.0 + z)
        disk += np.stack([throughput(b, observed) for b in bands], axis=1) * ((1.0 + z) * photons)[:, None]
    return bulge, disk
