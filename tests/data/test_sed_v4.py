"""Simulator version 4 (data.sed_model=cosmos): COSMOS templates through the bandpasses agree with a
hand computation, class fractions follow the configured evolution, the truth is deterministic."""

from __future__ import annotations

import galsim
import numpy as np
import pytest

from photoz.data.simulate import build, cosmos
from photoz.data.simulate import evolution as ev
from photoz.data.simulate.templates import Z_GRID, cosmos_library, rail_sed_dir, tables
from simconf import sim_cfg

pytest.importorskip("rail", reason="the COSMOS SED model reads its templates from RAIL (the rail extra)")
BANDS = tuple("ugrizy")


def hand_colour(sed_file: str, z: float, blue: str, red: str) -> float:
    """blue − red AB colour of a RAIL SED file at redshift z, integrated by hand on a 0.05 nm grid
    (the bandpass files, linearly interpolated as GalSim does): m = −2.5 log10(∫ f_λ(λ/(1+z)) λ T dλ
    / ∫ T/λ dλ) + const."""
    wave_aa, flam = np.loadtxt(rail_sed_dir() / sed_file, unpack=True)
    flux = []
    for band in (blue, red):
        file_nm, file_thru = np.loadtxt(galsim.meta_data.share_dir + f"/bandpasses/LSST_{band}.dat", unpack=True)[:2]
        wave_nm = np.arange(file_nm[0], file_nm[-1], 0.05)
        thru = np.interp(wave_nm, file_nm, file_thru)
        rest = np.interp(wave_nm * 10 / (1 + z), wave_aa, flam)
        flux.append(np.trapezoid(rest * wave_nm * thru, wave_nm) / np.trapezoid(thru / wave_nm, wave_nm))
    return -2.5 * np.log10(flux[0] / flux[1])


@pytest.mark.parametrize(("name", "z"), [("Sc_A_0", 0.5), ("Ell3_A_0", 0.8), ("SB6_A_0", 1.2)])
def test_cosmos_template_colours_match_a_hand_computation(name: str, z: float) -> None:
    lib = cosmos_library()
    grid = tables(lib, BANDS)[lib.templates.index(name)][0]  # (Z, C) without dust
    k = int(round(z / (Z_GRID[1] - Z_GRID[0])))
    for blue, red in (("g", "r"), ("r", "i"), ("i", "z")):
        got = -2.5 * np.log10(grid[k, BANDS.index(blue)] / grid[k, BANDS.index(red)])
        assert got == pytest.approx(hand_colour(f"{name}.sed", z, blue, red), abs=0.001), (name, z, blue, red)


def test_library_is_the_31_cosmos_templates_plus_two_young_ssps() -> None:
    lib = cosmos_library()
    assert len(lib.templates) == 33 and lib.templates[0] == "Ell1_A_0" and lib.templates[-1] == "ssp_5Myr_z008"
    assert [n for n, d in zip(lib.templates, lib.dusty) if d][0] == "SB0_A_0"  # dust on the BC03 models only


def test_class_fractions_follow_the_configured_evolution() -> None:
    """Drawn classes match the probabilities of the Herbel et al. luminosity functions at every (i, z),
    and those probabilities evolve: fewer quiescent galaxies at high z and at faint i."""
    rng = np.random.default_rng(0)
    n = 4000
    cells = [(20.5, 0.4), (24.5, 0.4), (22.5, 0.9), (24.5, 0.9), (24.5, 2.2)]
    p_q = []
    for i_mag, z in cells:
        cls, probs = cosmos.draw_classes(rng, np.full(n, i_mag), np.full(n, z))
        expected = probs[0]
        np.testing.assert_allclose(probs, np.broadcast_to(expected, probs.shape))
        for c in range(3):
            frac = (cls == c).mean()
            assert abs(frac - expected[c]) < 4 * np.sqrt(expected[c] * (1 - expected[c]) / n) + 1e-3, (i_mag, z, c, frac, expected)
        assert expected[2] == pytest.approx(ev.STARBURST_FRACTION * (1 - expected[0]))
        p_q.append(expected[0])
    assert p_q[0] > p_q[1] and p_q[2] > p_q[3] > p_q[4]  # brighter -> more quiescent; higher z -> fewer
    assert p_q[4] < 0.05 < p_q[0]


def test_main_sequence_is_speagle_above_the_break_and_flat_below() -> None:
    z = np.array([1.0, 1.0, 1.0])
    ssfr = ev.main_sequence_ssfr(np.array([9.0, 10.5, 11.0]), z)
    t = ev.age_gyr(np.array(1.0))
    assert ssfr[2] == pytest.approx((0.84 - 0.026 * t) * 11.0 - (6.51 - 0.11 * t) - 11.0)
    assert ssfr[0] == ssfr[1] > ssfr[2]


@pytest.mark.parametrize("population", ["physics", "cosmodc2"])
def test_cosmos_truth_is_deterministic_and_physical(tmp_path, population: str) -> None:
    """Both populations of the COSMOS model (v4: physics, v6: calibrated on cosmoDC2, the default until v8)."""
    cfg = sim_cfg(tmp_path, n_galaxies=300, sed_model="cosmos", sed_population=population)
    truth, bulge, disk = build.make_truth(cfg, list(BANDS))
    again = build.make_truth(cfg, list(BANDS))
    np.testing.assert_array_equal(bulge, again[1])
    np.testing.assert_array_equal(disk, again[2])
    np.testing.assert_array_equal(truth["true_hlr"], again[0]["true_hlr"])
    other = build.make_truth(sim_cfg(tmp_path, n_galaxies=300, sed_model="cosmos", sed_population=population, seed=1), list(BANDS))
    assert not np.array_equal(disk, other[2])
    realistic = build.make_truth(sim_cfg(tmp_path, n_galaxies=300, sed_model="realistic"), list(BANDS))
    np.testing.assert_array_equal(truth["true_mag_i"], realistic[0]["true_mag_i"])  # same i, other SEDs
    same_z = np.array_equal(truth["redshift"], realistic[0]["redshift"])
    assert same_z == (population == "physics")  # v6 (cosmodc2) draws z from cosmoDC2's n(z | i)
    cls = np.asarray(truth["true_class"])
    assert set(np.unique(cls)) <= {0, 1, 2} and (cls == 1).any()
    assert np.all(np.asarray(truth["true_bt"])[cls == 2] == 0)
    assert np.all(np.asarray(truth["true_ebv"])[cls == 0] == 0)
    if population == "physics":
        assert np.all(np.asarray(truth["true_ew_oii"])[cls == 0] == 0)
    assert np.isnan(np.asarray(truth["true_ssfr"])[cls == 0]).all() and np.isfinite(np.asarray(truth["true_ssfr"])[cls > 0]).all()
    assert 7 < np.median(truth["true_logmstar"]) < 11 and (np.asarray(truth["true_hlr"]) > 0).all()
    np.testing.assert_allclose(-2.5 * np.log10((bulge + disk)[:, 3]) + 31.4, truth["true_mag_i"], atol=1e-9)
    flip = {"physics": "cosmodc2", "cosmodc2": "physics"}[population]
    assert build.output_path(cfg) != build.output_path(sim_cfg(tmp_path, n_galaxies=300, sed_population=flip))
    assert build.config_key(cfg)["sim_version"] == build.SIM_VERSION
