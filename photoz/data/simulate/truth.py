"""The simulation truth: galaxies (population + SED model, or a user's catalogue) and, for blends,
their neighbours, each as a truth table with (n, C) bulge and disk fluxes in nJy."""

from __future__ import annotations

import numpy as np
from astropy.table import Table
from omegaconf import DictConfig

from photoz.data.format import NJY_ZP
from photoz.data.simulate.fluxes import bulge_disk_fluxes
from photoz.data.simulate.population import RedshiftDraw, draw_population, science_book_redshift

TAG_POPULATION, TAG_BLEND = 1, 4  # rng stream tags (build.py owns 2 split, 3 noise, 5 PSF)


def make_truth(cfg: DictConfig, bands: list[str], tag: int = TAG_POPULATION, n: int | None = None) -> tuple[Table, np.ndarray, np.ndarray]:
    """Truth table with ids and (n, C) bulge and disk fluxes, from the model or the catalogue;
    `tag` and `n` draw another set of the same population (the neighbours of blends)."""
    rng = np.random.default_rng([cfg.seed, tag])
    if cfg.name == "catalog":
        from photoz.data.simulate.catalog import catalog_truth

        return catalog_truth(cfg, bands, rng)
    truth = draw_population(rng, int(cfg.n_galaxies if n is None else n), cfg.mag_min, cfg.mag_limit, _redshift_law(cfg))
    if cfg.sed_model == "cosmos":
        from photoz.data.simulate.cosmos import cosmos_fluxes

        bulge, disk = cosmos_fluxes(truth, rng, bands, float(cfg.line_ew_scale), str(cfg.sed_population))
    elif cfg.sed_model == "realistic":
        bulge, disk = _realistic(cfg, truth, bands, rng)
    elif cfg.sed_model == "empirical":
        bulge, disk = _empirical(cfg, truth, bands, rng)
    else:
        bulge, disk = bulge_disk_fluxes(truth, bands)
    truth.add_column(np.arange(1, len(truth) + 1, dtype=np.int64), name="id", index=0)
    truth.remove_column("true_mag_i")
    for j, band in enumerate(bands):
        truth[f"true_mag_{band}"] = NJY_ZP - 2.5 * np.log10(bulge[:, j] + disk[:, j])
    return truth, bulge, disk


def _redshift_law(cfg: DictConfig) -> RedshiftDraw:
    """n(z | i): cosmoDC2's, calibrated on its training sample (sed_population=cosmodc2, simulator
    version 6; sed_model=empirical, version 8), else the LSST Science Book's."""
    if cfg.sed_model == "cosmos" and cfg.sed_population == "cosmodc2":
        from photoz.data.simulate.cosmos import draw_calibrated_redshift

        return draw_calibrated_redshift
    if cfg.sed_model == "empirical":
        from photoz.data.simulate.calibrated import draw_redshift
        from photoz.data.simulate.calibration_cache import empirical_calibration

        return lambda rng, i_mag: draw_redshift(rng, empirical_calibration(), i_mag)
    return science_book_redshift


def _realistic(cfg: DictConfig, truth: Table, bands: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bulge/disk fluxes of the realistic SED model; adds true_ebv and true_ew_oii (Å) to truth."""
    from photoz.data.simulate.realistic import draw_sed_params, line_photons, realistic_fluxes, rest_ew

    params = draw_sed_params(rng, truth, float(cfg.ebv_mean), float(cfg.line_ew_scale))
    truth["true_ebv"] = params["ebv"]
    oii = line_photons(params["disk_w"], params["ebv"], params["lines"])["OII_3727"]
    truth["true_ew_oii"] = rest_ew(params["disk_w"], params["ebv"], oii, 372.7)
    return realistic_fluxes(truth, params, bands)


def _empirical(cfg: DictConfig, truth: Table, bands: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bulge/disk fluxes of the empirical model, version 8 (photoz.data.simulate.matched): version 7's
    fluxes on rank-matched version 6 galaxies, whose columns it sets."""
    from photoz.data.simulate.calibration_cache import empirical_calibration
    from photoz.data.simulate.matched import matched_fluxes

    return matched_fluxes(truth, rng, bands, float(cfg.line_ew_scale), empirical_calibration())


def neighbour_truth(cfg: DictConfig, bands: list[str], truth: Table, bulge: np.ndarray, disk: np.ndarray,
                    index: np.ndarray) -> tuple[Table, np.ndarray, np.ndarray]:
    """Neighbours of the stamps `index`, from the same population: fresh draws of the model
    (data=lsst_sim), or other rows of the user's catalogue (data=catalog; never the stamp's own
    row unless the catalogue has one row)."""
    if cfg.name != "catalog":
        other, nb_bulge, nb_disk = make_truth(cfg, bands, TAG_BLEND, max(len(index), 1))
        return other[: len(index)], nb_bulge[: len(index)], nb_disk[: len(index)]
    n = len(truth)
    rows = (index + np.random.default_rng([cfg.seed, TAG_BLEND]).integers(1, max(n, 2), len(index))) % n
    return truth[rows], bulge[rows], disk[rows]
