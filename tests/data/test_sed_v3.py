"""Simulator version 3 physics (photoz.physics.attenuation, photoz.data.simulate.realistic): Calzetti dust
reddens by the law's amount, emission lines land in the right band, Madau IGM removes u/g light at
z ≈ 3 and nothing at z ≈ 0.5, and the realistic truth is deterministic."""

from __future__ import annotations

import extinction
import numpy as np
import pytest
from astropy.table import Table

from photoz.data.simulate import build
from photoz.data.simulate.realistic import LINES, continuum, sed_fluxes
from photoz.physics.sed import band_fluxes, band_table
from simconf import sim_cfg

BANDS = tuple("ugrizy")
SBC = np.array([[0.0, 1.0, 0.0, 0.0]])  # weights on E, Sbc, Scd, Im


def test_dust_reddens_each_band_by_the_calzetti_law() -> None:
    """Δm_b = k(λ_b / (1 + z)) E(B−V) at the band's mean wavelength, k from extinction.calzetti00."""
    z, ebv = 0.5, 0.3
    clean, dusty = (continuum(SBC, np.array([e]), np.array([z]), BANDS)[0] for e in (0.0, ebv))
    dm = -2.5 * np.log10(dusty / clean)
    for j, band in enumerate(BANDS):
        wave, thru = band_table(band)
        rest_aa = 10 * np.sum(wave * thru) / np.sum(thru) / (1 + z)
        expected = extinction.calzetti00(np.array([rest_aa]), 4.05 * ebv, 4.05)[0]
        assert dm[j] == pytest.approx(expected, rel=0.06), band
    assert np.all(np.diff(dm) < 0)  # bluer bands lose more: colours redden
    no_dust = band_fluxes("CWW_Sbc_ext", BANDS, np.array([z]))[0]
    np.testing.assert_allclose(clean / clean[3], no_dust / no_dust[3], rtol=1e-3)  # E(B−V)=0 is the bare template


@pytest.mark.parametrize(("z", "raised"), [(0.2, "gri"), (1.0, "iy")])
def test_emission_lines_raise_only_the_bands_they_fall_in(z: float, raised: str) -> None:
    """z=0.2: [OII]→447 nm (g), Hβ/[OIII]→583–601 nm (r), Hα/[NII]→786–790 nm (i);
    z=1.0: [OII]→745 nm (i), Hβ/[OIII]→972–1001 nm (y), Hα beyond y."""
    truth = Table({"redshift": [z]})
    params = {"bulge_w": SBC, "disk_w": np.array([[0.0, 0.0, 0.0, 1.0]]), "ebv": np.zeros(1)}
    _, without = sed_fluxes(truth, {**params, "lines": np.zeros(1)}, BANDS)
    _, with_lines = sed_fluxes(truth, {**params, "lines": np.ones(1)}, BANDS)
    gain = with_lines[0] / without[0] - 1
    for j, band in enumerate(BANDS):
        if band in raised:
            assert gain[j] > 0.01, (band, gain)
        else:
            assert gain[j] == 0.0, (band, gain)
    assert set(LINES) >= {"OII_3727", "Hbeta_4861", "OIII_4959", "OIII_5007", "Halpha_6563", "NII_6548", "NII_6584"}


def test_igm_dims_u_and_g_at_z_3_and_nothing_at_z_half() -> None:
    z = np.array([0.5, 3.0])
    ratio = band_fluxes("CWW_Im_ext", BANDS, z, igm=True) / band_fluxes("CWW_Im_ext", BANDS, z)
    np.testing.assert_array_equal(ratio[0], 1.0)  # Lyα at 182 nm: bluer than every LSST band
    assert ratio[1, 0] < 0.7 and ratio[1, 1] < 0.9  # u in the Lyβ region and below 912 Å, g in the Lyα forest
    np.testing.assert_array_equal(ratio[1, 2:], 1.0)  # r and redder: longward of Lyα × 4 = 486 nm


def test_realistic_truth_is_deterministic_and_differs_from_cww(tmp_path) -> None:
    cfg = sim_cfg(tmp_path, n_galaxies=200, sed_model="realistic")
    truth, bulge, disk = build.make_truth(cfg, list(BANDS))
    again = build.make_truth(cfg, list(BANDS))
    np.testing.assert_array_equal(bulge, again[1])
    np.testing.assert_array_equal(disk, again[2])
    assert (truth["true_ebv"] >= 0).all() and (truth["true_ew_oii"] >= 0).all()
    other = build.make_truth(sim_cfg(tmp_path, n_galaxies=200, sed_model="realistic", seed=1), list(BANDS))
    assert not np.array_equal(disk, other[2])
    cww = build.make_truth(sim_cfg(tmp_path, n_galaxies=200, sed_model="cww"), list(BANDS))
    np.testing.assert_array_equal(truth["redshift"], cww[0]["redshift"])  # same galaxies, other SEDs
    assert not np.allclose(disk, cww[2])
    assert build.output_path(cfg) != build.output_path(sim_cfg(tmp_path, n_galaxies=200, sed_model="cww"))
    assert build.config_key(cfg)["sim_version"] == build.SIM_VERSION == 6
