"""`data.sed_model=cosmos` (simulator version 4): galaxies of an evolving population with COSMOS SEDs.

Per galaxy, on top of the (i, z) draw of photoz.data.simulate.population (docs/data.md has every
source; the numbers live in photoz.data.simulate.evolution):

1. class: quiescent, star-forming or starburst, with probabilities from red/blue luminosity
   functions at the galaxy's absolute magnitude (change with z and magnitude) and the starburst
   fraction of the main sequence;
2. stellar mass from the rest-frame r luminosity and g − r of a representative template of its
   class, then star formation: a specific SFR from the main sequence (starbursts above it) picks
   the disk SED by interpolating between the two COSMOS/BC03 templates (photoz.data.simulate.
   templates) whose own sSFR brackets it (template sSFR: Kennicutt 1998 UV SFR over the
   Roediger & Courteau 2015 colour mass; Sa −11.4 … SB11 −8.1 … 5 Myr SSP −7.5) — a continuous
   sequence from Sa to the 5 Myr SSP;
   quiescent disks and all bulges mix two neighbouring templates of their class's range (bulges
   by type: ellipticals for quiescent, S0–Sb for star-forming galaxies, none for starbursts);
3. dust (Calzetti, on the BC03 templates) from the stellar mass, emission lines from the UV
   continuum (photoz.data.simulate.realistic's Kennicutt/Ilbert et al. 2009 machinery) on star-
   forming disks, Madau IGM on everything;
4. the stellar mass of the final SED, and from it the size (van der Wel et al. 2014).

Truth columns added: true_class (0 quiescent, 1 star-forming, 2 starburst), true_sed (disk position
on the template list, 0 = Ell1 … 32 = 5 Myr SSP), true_bulge_sed, true_logmstar, true_ssfr (log
per yr, NaN for quiescent), true_ebv, true_ew_oii (Å).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from astropy.table import Table

from photoz.physics.attenuation import calzetti_k
from photoz.data.simulate import evolution as ev
from photoz.data.simulate.realistic import LINE_SCATTER_DEX, UV_NM, line_photons, realistic_fluxes, rest_ew, sed_fluxes
from photoz.data.simulate import calibrated
from photoz.data.simulate.calibration import Calibration, group_of, repair_factors
from photoz.data.simulate.calibration_cache import training_calibration
from photoz.data.simulate.templates import Z_GRID, Library, cosmos_library, photons_at, rest_band_flux, tables

# positions on the COSMOS list (RAIL's order: Ell1..7, S0, Sa..Sdm, SB0..11, then the SSPs)
QUIESCENT_RANGE = (0.0, 7.0)  # Ell1 .. S0
ELLIPTICAL_RANGE = (0.0, 6.0)  # Ell1 .. Ell7: bulges of quiescent galaxies
SF_BULGE_RANGE = (7.0, 11.0)  # S0 .. Sb: bulges of star-forming galaxies
SF_FIRST = 8  # Sa: the star-forming sequence runs from here to the last template
QUIESCENT_BELOW = 7.5  # v5: a galaxy whose SED is an Ell1–S0 mixture is quiescent, else star-forming
REPRESENTATIVE = {ev.QUIESCENT: "Ell4_A_0", ev.STAR_FORMING: "Sc_A_0", ev.STARBURST: "Sc_A_0"}
# i-band B/T: quiescent as v3's early types; star-forming uniform in 0-0.3, so that 67 % have B/T <= 0.2
# (Weinzirl et al. 2009: 69 % of bright spirals); starbursts bulgeless
BT_RANGE = {ev.QUIESCENT: (0.6, 1.0), ev.STAR_FORMING: (0.0, 0.3), ev.STARBURST: (0.0, 0.0)}
# SFR (M_sun/yr) per L_nu(UV) (erg/s/Hz): Kennicutt 1998 (Salpeter IMF) × 0.67 for the Kroupa IMF of the
# main sequence (Madau & Dickinson 2014)
KENNICUTT_UV = 1.4e-28 * 0.67
B_BAND = "ACS_wfc_F435W.dat"  # HST ACS F435W, GalSim's nearest to the B band of the luminosity functions
L_NU_SUN_R = 4 * np.pi * (10 * 3.0857e18) ** 2 * 3631e-23 * 10 ** (-0.4 * ev.M_SUN_R)  # erg/s/Hz at 10 pc


@cache
def template_colours(lib: Library) -> dict[str, np.ndarray]:
    """Per template at z = 0 (T,): rest-frame g, r, B AB band fluxes and log sSFR (per yr)."""
    g, r = (np.array([tab[0, 0, k] for tab in tables(lib, ("g", "r"))]) for k in (0, 1))
    b = np.array([rest_band_flux(lib, t, B_BAND) for t in range(len(lib.templates))])
    uv = photons_at(lib, UV_NM) * UV_NM  # f_nu at 2300 Å in the band-flux units (photons × λ)
    log_ml = ev.ML_R[0] + ev.ML_R[1] * (-2.5 * np.log10(g / r))
    ssfr = np.log10(KENNICUTT_UV * L_NU_SUN_R * np.maximum(uv, 1e-30) / r) - log_ml
    return {"g": g, "r": r, "B": b, "ssfr": ssfr}


def _weights(position: np.ndarray, n_templates: int) -> np.ndarray:
    """(n, T) weights mixing templates floor(position) and floor(position) + 1 linearly."""
    pos = np.clip(position, 0.0, n_templates - 1.0)
    lo = np.minimum(pos.astype(int), n_templates - 2)
    w = np.zeros((len(pos), n_templates))
    rows = np.arange(len(pos))
    w[rows, lo] = 1.0 - (pos - lo)
    w[rows, lo + 1] += pos - lo
    return w


def sf_weights(lib: Library, log_ssfr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, T) weights of star-forming disks of sSFR log_ssfr: linear between the two templates of the
    star-forming sequence (Sa onward) whose own sSFR brackets it (clipped at both ends); and (n,)
    their mean position on the template list."""
    ssfr = template_colours(lib)["ssfr"]
    index = SF_FIRST + np.argsort(ssfr[SF_FIRST:])
    rank = np.interp(log_ssfr, ssfr[index], np.arange(len(index), dtype=float))
    lo = np.minimum(rank.astype(int), len(index) - 2)
    frac = rank - lo
    w = np.zeros((len(rank), len(lib.templates)))
    rows = np.arange(len(rank))
    w[rows, index[lo]] = 1.0 - frac
    w[rows, index[lo + 1]] += frac
    return w, (1.0 - frac) * index[lo] + frac * index[lo + 1]


def _observed_i(lib: Library, t: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Observed i-band flux of templates t (n,) at redshifts z (n,), dust-free, linear in z."""
    grid = np.stack([tab[0, :, 0] for tab in tables(lib, ("i",))])  # (T, Z)
    zz = np.clip(z, Z_GRID[0], Z_GRID[-1] - 1e-6) / (Z_GRID[1] - Z_GRID[0])
    lo = zz.astype(int)
    return grid[t, lo] * (1.0 - (zz - lo)) + grid[t, lo + 1] * (zz - lo)


def draw_classes(rng: np.random.Generator, i_mag: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class per galaxy and the (n, 3) probabilities it was drawn from (photoz.data.simulate.evolution)."""
    lib = cosmos_library()
    colours = template_colours(lib)
    m_b = {}
    for cls in (ev.QUIESCENT, ev.STAR_FORMING):
        t = lib.templates.index(REPRESENTATIVE[cls])
        m_b[cls] = ev.absolute_magnitude(i_mag, z, _observed_i(lib, np.full(len(z), t), z), colours["B"][t])
    probs = ev.class_probabilities(m_b[ev.QUIESCENT], m_b[ev.STAR_FORMING], z)
    return ev.draw_class(rng, probs), probs


def _log_mass(lib: Library, weights: np.ndarray, i_mag: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log M* of galaxies of observed i magnitude whose (n, T) dust-free template mix is `weights`."""
    colours = template_colours(lib)
    g, r = weights @ colours["g"], weights @ colours["r"]
    i_obs = sum(weights[:, t] * _observed_i(lib, np.full(len(z), t), z) for t in np.flatnonzero(weights.any(0)))
    return ev.log_stellar_mass(ev.absolute_magnitude(i_mag, z, i_obs, r), -2.5 * np.log10(g / r))


def draw_sed_params(rng: np.random.Generator, truth: Table, line_ew_scale: float) -> dict[str, np.ndarray]:
    """Per galaxy: class, template weights of bulge and disk (n, T), B/T, E(B−V), line strengths, sSFR."""
    lib = cosmos_library()
    n_t = len(lib.templates)
    z, i_mag = np.asarray(truth["redshift"], float), np.asarray(truth["true_mag_i"], float)
    cls, probs = draw_classes(rng, i_mag, z)
    quiescent, starburst = cls == ev.QUIESCENT, cls == ev.STARBURST
    rep = np.array([lib.templates.index(REPRESENTATIVE[c]) for c in cls])
    log_m0 = _log_mass(lib, np.eye(n_t)[rep], i_mag, z)  # first estimate, from the class's representative SED
    ssfr = np.where(quiescent, np.nan, ev.draw_ssfr(rng, log_m0, z, starburst))
    q_pos = rng.uniform(*QUIESCENT_RANGE, len(z))
    sf_w, sf_pos = sf_weights(lib, np.nan_to_num(ssfr))
    disk_w = np.where(quiescent[:, None], _weights(q_pos, n_t), sf_w)
    disk_pos = np.where(quiescent, q_pos, sf_pos)
    bulge_pos = np.where(quiescent, rng.uniform(*ELLIPTICAL_RANGE, len(z)), rng.uniform(*SF_BULGE_RANGE, len(z)))
    lo, hi = np.array([BT_RANGE[c] for c in cls]).T
    bt = rng.uniform(lo, hi)
    ebv = np.where(quiescent, 0.0, ev.draw_ebv(rng, log_m0, float(calzetti_k(np.array(656.3)))))
    lines = np.where(quiescent, 0.0, line_ew_scale * 10 ** rng.normal(0.0, LINE_SCATTER_DEX, len(z)))
    return {"class": cls, "p_class": probs, "ssfr": ssfr, "disk_pos": disk_pos, "bulge_pos": bulge_pos, "bt": bt,
            "bulge_w": _weights(bulge_pos, n_t), "disk_w": disk_w, "ebv": ebv, "lines": lines}


def draw_calibrated_params(rng: np.random.Generator, truth: Table, line_ew_scale: float, bands: list[str],
                           cal: Calibration | None = None) -> dict[str, np.ndarray]:
    """Simulator v5: per galaxy, as draw_sed_params returns them (class: quiescent for an Ell1–S0
    mixture, else star-forming; template weights of bulge and disk, the same SED; B/T; E(B−V);
    line strengths; sSFR of the mixture), θ drawn by photoz.data.simulate.calibrated, plus the
    calibration's template repair per band relative to i ("repair", (n, C) for `bands`).
    `cal`: the calibration (default: RAIL's training file, photoz.data.simulate.calibration_cache)."""
    lib = cosmos_library()
    cal = cal or training_calibration()
    z, i_mag = np.asarray(truth["redshift"], float), np.asarray(truth["true_mag_i"], float)
    grid, _ = calibrated.draw_theta(rng, cal, z, i_mag)
    pos, ebv, lines = calibrated.jitter(rng, cal, grid)
    cls = np.where(pos < QUIESCENT_BELOW, ev.QUIESCENT, ev.STAR_FORMING)
    lo, hi = np.array([BT_RANGE[c] for c in cls]).T
    w = _weights(pos, len(lib.templates))
    ssfr = np.log10(w @ 10 ** template_colours(lib)["ssfr"])
    factors = repair_factors(cal.repair, z, (*bands, "i"))[np.arange(len(z)), group_of(pos)]
    return {"repair": factors[:, :-1] / factors[:, -1:], "class": cls, "ssfr": np.where(cls == ev.QUIESCENT, np.nan, ssfr),
            "disk_pos": pos, "bulge_pos": pos, "bt": rng.uniform(lo, hi), "bulge_w": w, "disk_w": w, "ebv": ebv,
            "lines": line_ew_scale * lines}


def draw_calibrated_redshift(rng: np.random.Generator, i_mag: np.ndarray) -> np.ndarray:
    """Simulator v6: redshifts given i from cosmoDC2's training sample (photoz.data.simulate.calibrated)."""
    return calibrated.draw_redshift(rng, training_calibration(), i_mag)


def cosmos_fluxes(truth: Table, rng: np.random.Generator, bands: list[str], line_ew_scale: float,
                  population: str = "physics") -> tuple[np.ndarray, np.ndarray]:
    """Bulge and disk fluxes (n, C) in nJy of the COSMOS-template model, its SED parameters drawn
    from the cosmoDC2-calibrated distribution (population "cosmodc2", v5: bulge and disk share
    the SED, with the calibration's template repair) or the published physics (population
    "physics", v4); sets truth's true_bt, class, SED, mass, size and line columns (the shapes keep
    their axis ratios and angles)."""
    lib = cosmos_library()
    if population == "cosmodc2":  # one SED for the whole galaxy: the disk's (dust and lines included)
        params = draw_calibrated_params(rng, truth, line_ew_scale, bands)
        truth["true_bt"] = np.zeros(len(truth))
        total = realistic_fluxes(truth, params, bands, lib)[1] * params["repair"]
        bulge, disk = params["bt"][:, None] * total, (1.0 - params["bt"])[:, None] * total
        mass_params = {**params, "bt": np.zeros(len(total))}  # the mass of that single SED
    else:
        params = mass_params = draw_sed_params(rng, truth, line_ew_scale)
        truth["true_bt"] = params["bt"]
        bulge, disk = realistic_fluxes(truth, params, bands, lib)
    truth["true_bt"] = params["bt"]
    log_m = _final_mass(truth, mass_params, lib)
    z = np.asarray(truth["redshift"], float)
    early = params["class"] == ev.QUIESCENT
    r_eff = ev.draw_size_kpc(rng, log_m, z, early) / ev.kpc_per_arcsec(z)  # arcsec, major axis
    galaxy_hlr = np.clip(r_eff * np.sqrt(np.asarray(truth["true_q"], float)), 0.03, 3.0)  # √(ab)
    truth["true_bulge_hlr"] = galaxy_hlr * (0.5 + 0.5 * params["bt"])  # the larger component carries R_eff
    truth["true_hlr"] = 2.0 * truth["true_bulge_hlr"]
    truth["true_class"] = params["class"].astype(np.int16)
    truth["true_sed"], truth["true_bulge_sed"] = params["disk_pos"], params["bulge_pos"]
    truth["true_logmstar"], truth["true_ssfr"], truth["true_ebv"] = log_m, params["ssfr"], params["ebv"]
    oii = line_photons(params["disk_w"], params["ebv"], params["lines"], lib)["OII_3727"]
    truth["true_ew_oii"] = rest_ew(params["disk_w"], params["ebv"], oii, 372.7, lib)
    return bulge, disk


def _final_mass(truth: Table, params: dict[str, np.ndarray], lib: Library) -> np.ndarray:
    """log M* of the final SED (bulge + disk with dust and lines): rest-frame r and g − r of the sum
    of both components scaled to their share of the observed i flux."""
    z = np.asarray(truth["redshift"], float)
    at_z = sed_fluxes(truth, params, ("i",), lib)
    at_0 = sed_fluxes(Table({"redshift": np.zeros(len(z))}), params, ("g", "r"), lib)
    bt = params["bt"][:, None]
    rest = bt * at_0[0] / at_z[0] + (1.0 - bt) * at_0[1] / at_z[1]  # (n, 2) per unit observed i flux
    m_r = np.asarray(truth["true_mag_i"], float) - ev.distance_modulus(z) + 2.5 * np.log10(1.0 + z) - 2.5 * np.log10(rest[:, 1])
    return ev.log_stellar_mass(m_r, -2.5 * np.log10(rest[:, 0] / rest[:, 1]))
