"""Observing conditions of simulator version 4: a PSF FWHM per galaxy and band (recorded, varying,
rendered as GalSim's Kolmogorov) and blends (both galaxies in the stamp, the aperture flux raised,
the neighbour in true_blend_* columns); out-of-range settings refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import galsim
import numpy as np
import pytest

from photoz.data.simulate import build
from photoz.data.simulate.conditions import VISITS_Y10, check_conditions, draw_psf_fwhm
from photoz.data.simulate.lsst import LSST, PIXEL_SCALE, psf_fwhm_geom_of
from photoz.data.simulate.render import Renderer
from photoz.data.source import open_dataset
from photoz.errors import ConfigError
from simconf import sim_cfg

BANDS = list("ugrizy")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(BANDS, 16, "y10", 1.0)


def test_per_galaxy_psf_is_galsims_kolmogorov_at_that_fwhm(renderer: Renderer) -> None:
    fwhm_eff = np.array([[0.6, 0.9, 1.4, LSST["i"].psf_fwhm, 0.8, 1.1]])
    got = renderer.psf_kimages(fwhm_eff)[0]
    pixel = galsim.Pixel(PIXEL_SCALE)
    for j, f in enumerate(fwhm_eff[0]):
        want = renderer._kimage(galsim.Convolve(galsim.Kolmogorov(fwhm=float(psf_fwhm_geom_of(f))), pixel))
        np.testing.assert_allclose(got[j], want, atol=2e-6)
    np.testing.assert_allclose(got[3], renderer.psf_k[3], atol=2e-6)  # the band's median = the fixed PSF


def test_psf_fwhm_is_recorded_and_varies_by_galaxy_and_band(tmp_path) -> None:
    ds = open_dataset(sim_cfg(tmp_path, n_galaxies=40, depth="single_visit", sed_model="realistic"))
    cat = ds.catalog
    fwhm = np.stack([np.asarray(cat[f"psf_fwhm_{b}"], float) for b in BANDS], axis=1)
    assert fwhm.std(axis=0).min() > 0.1 * fwhm.mean()  # single visits: the site's seeing scatter
    assert not np.allclose(fwhm[:, 2], fwhm[:, 3])  # bands draw independently
    np.testing.assert_allclose(np.median(fwhm, axis=0), [LSST[b].psf_fwhm for b in BANDS], rtol=0.35)
    # the stamps saw those PSFs: sharper PSF -> more of a compact galaxy's i flux in the central pixel
    i = BANDS.index("i")
    sharp, blurred = np.argsort(fwhm[:, i])[:8], np.argsort(fwhm[:, i])[-8:]
    again = open_dataset(sim_cfg(tmp_path, n_galaxies=40, depth="single_visit", sed_model="realistic", psf_scatter=0.0))
    ratio = np.asarray(ds.images)[:, i, 8, 8] / np.asarray(again.images)[:, i, 8, 8]
    assert np.median(ratio[sharp]) > 1.0 > np.median(ratio[blurred])
    assert np.ptp(np.asarray(again.catalog["psf_fwhm_i"])) == 0  # psf_scatter=0: one PSF per band


def test_coadd_psf_scatter_shrinks_with_the_number_of_visits() -> None:
    rng = np.random.default_rng(0)
    ln = {d: np.log(draw_psf_fwhm(rng, 20000, BANDS, d, 0.45)).std(axis=0) for d in ("single_visit", "y1", "y10")}
    np.testing.assert_allclose(ln["single_visit"], 0.45, rtol=0.03)
    np.testing.assert_allclose(ln["y10"], [0.45 / np.sqrt(VISITS_Y10[b]) for b in BANDS], rtol=0.03)
    assert np.all(ln["y1"] > ln["y10"])


def test_blended_stamp_holds_both_galaxies_where_recorded(renderer: Renderer) -> None:
    shapes = np.array([[0.3, 0.8, 0.2, 0.15, 0.9], [0.25, 0.6, 1.0, 0.12, 0.8]])
    flux = np.full((2, 6), 400.0)
    offset = np.array([[0.8, -0.6]])  # (+4, -3) pixels
    alone = renderer.noiseless(shapes[:1], flux[:1] * 0.3, flux[:1] * 0.7)
    both = renderer.noiseless(shapes[:1], flux[:1] * 0.3, flux[:1] * 0.7,
                              neighbours={"index": np.array([0]), "shapes": shapes[1:], "bulge": flux[1:] * 0.3,
                                          "disk": flux[1:] * 0.7, "offset": offset})
    extra = (both - alone)[0, 3]
    assert extra.sum() > 0.8 * 400  # nearly all of the neighbour's flux is in the stamp
    assert np.unravel_index(np.argmax(extra), extra.shape) == (8 - 3, 8 + 4)  # row = y, column = x: where dx, dy say
    assert both[0, 3, 8, 8] >= alone[0, 3, 8, 8]  # the primary is still at the centre


def test_blends_raise_the_catalogue_flux_and_record_the_neighbour(tmp_path) -> None:
    over = {"n_galaxies": 24, "sed_model": "realistic"}
    alone = open_dataset(sim_cfg(tmp_path, **over)).catalog
    blended = open_dataset(sim_cfg(tmp_path, blend_fraction=1.0, **over)).catalog
    np.testing.assert_array_equal(alone["true_mag_i"], blended["true_mag_i"])  # same primaries
    assert "true_blend" not in alone.colnames and (blended["true_blend"] == 1).all()
    for name in ("true_blend_dx", "true_blend_dy", "true_blend_redshift", "true_blend_mag_i", "true_blend_hlr"):
        assert np.isfinite(np.asarray(blended[name], float)).all(), name
    assert np.abs(np.asarray(blended["true_blend_dx"])).max() <= 16 * PIXEL_SCALE / 2
    gain = np.asarray(blended["flux_i"]) - np.asarray(alone["flux_i"])
    assert (gain > 0).mean() >= 0.9 and np.median(gain) > 0  # the aperture also measures the neighbour
    np.testing.assert_array_equal(blended["redshift"], alone["redshift"])  # the label stays the primary's


@pytest.mark.parametrize(("key", "value", "message"), [
    ("psf_scatter", -0.1, "data.psf_scatter=-0.1 is out of range"),
    ("psf_scatter", 1.5, "data.psf_scatter=1.5 is out of range"),
    ("blend_fraction", 1.2, "data.blend_fraction=1.2 is not a fraction"),
    ("blend_fraction", -0.5, "data.blend_fraction=-0.5 is not a fraction"),
])
def test_out_of_range_conditions_are_refused(tmp_path, key: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        build.check_config(sim_cfg(tmp_path, **{key: value}))
    check_conditions(0.0, 0.0)
    check_conditions(1.0, 1.0)


HIDE_RAIL = (
    "import runpy, sys\n"
    "class HideRail:  # as if the rail extra were not installed\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'rail' or name.startswith('rail.'):\n"
    "            raise ModuleNotFoundError(name)\n"
    "sys.meta_path.insert(0, HideRail())\n"
    "sys.argv = ['photoz.simulate', *sys.argv[1:]]\n"
    "runpy.run_module('photoz.simulate', run_name='__main__', alter_sys=True)\n"
)


@pytest.mark.parametrize(("args", "fragment"), [
    (["data.blend_fraction=1.5"], "data.blend_fraction=1.5 is not a fraction"),
    (["data.sed_model=cosmos"], "pip install -e '.[rail]'"),
    (["data.sed_model=empirical"], "cosmos (and empirical) reads the COSMOS SED templates and cosmoDC2 sample"),
])
def test_entry_point_refuses_bad_conditions_and_missing_rail_in_one_line(tmp_path, args: list[str], fragment: str) -> None:
    """`python -m photoz.simulate` with a blend fraction out of range, and with RAIL hidden: exit 2, one line."""
    proc = subprocess.run([sys.executable, "-c", HIDE_RAIL, *args, "data.n_galaxies=8", f"data.root={tmp_path}",
                           f"hydra.run.dir={tmp_path}/run"], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not list(tmp_path.glob("lsst_sim-*"))
