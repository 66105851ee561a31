"""Catalogue-driven rendering: the user's redshifts, magnitudes and shapes; bad catalogues refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table
from simconf import sim_cfg

from photoz.data.schema import CatalogData
from photoz.data.source import open_dataset
from photoz.errors import ConfigError, DataError

BANDS = list("ugrizy")


def mock(n: int = 12, **extra: np.ndarray) -> Table:
    rng = np.random.default_rng(5)
    table = Table({"id": np.arange(100, 100 + n), "redshift": rng.uniform(0.1, 1.5, n)})
    for j, b in enumerate(BANDS):
        table[f"mag_{b}_lsst"] = rng.uniform(21.0, 23.0, n) + 0.1 * j
    for name, values in extra.items():
        table[name] = values
    return table


def render(tmp_path: Path, table: Table, fmt: str = "fits", **over) -> object:
    path = tmp_path / f"mock.{fmt}"
    table.write(path, format="ascii.csv" if fmt == "csv" else fmt, overwrite=True)
    return open_dataset(sim_cfg(tmp_path / "out", CatalogData, catalog_path=str(path), **over))


@pytest.mark.parametrize("fmt", ["fits", "csv", "parquet"])
def test_catalogue_magnitudes_and_shapes_are_rendered(tmp_path: Path, fmt: str) -> None:
    table = mock(hlr=np.full(12, 0.3), q=np.full(12, 0.5), bt=np.zeros(12))
    table["mag_u_lsst"][0] = 99.0  # non-detection in u
    table["mag_g_lsst"][1] = np.nan
    ds = render(tmp_path, table, fmt)
    cat = ds.catalog
    assert list(cat["id"]) == list(table["id"]) and np.allclose(cat["redshift"], table["redshift"])
    assert np.allclose(cat["true_hlr"], 0.3) and np.allclose(cat["true_q"], 0.5) and np.allclose(cat["true_bt"], 0)
    nan = lambda col: np.isnan(np.ma.filled(np.ma.asarray(cat[col], float), np.nan))  # FITS NaN reads masked
    assert nan("true_mag_u")[0] and nan("true_mag_g")[1] and not nan("true_mag_r").any()
    # aperture flux tracks the catalogue flux in bright bands (PSF and aperture losses < 40 %)
    ratio = cat["flux_r"] / 10 ** (-0.4 * (table["mag_r_lsst"] - 31.4))
    assert np.all((ratio > 0.6) & (ratio < 1.05)), ratio
    # the non-detections are rendered as zero flux: only noise in the stamp
    assert abs(cat["flux_u"][0]) < 4 * cat["flux_err_u"][0]
    assert abs(cat["flux_g"][1]) < 4 * cat["flux_err_g"][1]


def test_missing_shape_columns_come_from_the_model(tmp_path: Path) -> None:
    ds = render(tmp_path, mock())
    hlr = np.asarray(ds.catalog["true_hlr"])
    assert np.all((hlr > 0.05) & (hlr < 2.0)) and np.ptp(hlr) > 0


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda t: t.remove_column("redshift"), "no redshift column 'redshift'"),
        (lambda t: t["redshift"].__setitem__(3, -0.2), "row 3 is -0.2"),
        (lambda t: t["redshift"].__setitem__(4, np.nan), "row 4 is nan"),
        (lambda t: [t[f"mag_{b}_lsst"].__setitem__(5, 99.0) for b in BANDS], "row 5 is a non-detection in every band"),
        (lambda t: t.remove_column("mag_z_lsst"), "no magnitude column 'mag_z_lsst'"),
        (lambda t: t.add_column(np.r_[np.full(11, 0.5), 1.5], name="q"), "q at row 11 is 1.5"),
    ],
)
def test_bad_catalogue_is_one_line_data_error(tmp_path: Path, change, words: str) -> None:
    table = mock()
    change(table)
    with pytest.raises(DataError, match=words) as err:
        render(tmp_path, table)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_changed_catalogue_is_a_different_data_set(tmp_path: Path) -> None:
    first = render(tmp_path, mock())
    table = mock()
    table["redshift"][0] = 0.9
    assert render(tmp_path, table).path != first.path


def _masked(table: Table, name: str, row: int) -> Table:
    """`name` with cell `row` masked: a blank CSV cell / a FITS null once written."""
    table[name] = MaskedColumn(table[name], mask=np.arange(len(table)) == row)
    return table


@pytest.mark.parametrize("fmt", ["csv", "fits"])
def test_a_blank_redshift_is_refused_like_nan_not_read_as_zero(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(DataError, match=r"mock\.\w+: redshift at row 2 is nan \(a blank or NaN cell\)") as err:
        render(tmp_path, _masked(mock(), "redshift", 2), fmt)
    assert "\n" not in str(err.value)


def test_a_blank_magnitude_is_a_non_detection(tmp_path: Path) -> None:
    ds = render(tmp_path, _masked(mock(), "mag_g_lsst", 4), "csv")
    assert "\n104,0." in (tmp_path / "mock.csv").read_text() and ",," in (tmp_path / "mock.csv").read_text()  # a blank cell
    true_g = np.ma.filled(np.ma.asarray(ds.catalog["true_mag_g"], float), np.nan)
    assert np.isnan(true_g[4]) and np.isfinite(np.delete(true_g, 4)).all()
    assert abs(ds.catalog["flux_g"][4]) < 4 * ds.catalog["flux_err_g"][4]  # zero flux: noise only


def test_catalogue_mistakes_name_the_users_file(tmp_path: Path) -> None:
    table = mock()
    table["id"][7] = table["id"][3]
    with pytest.raises(DataError, match=r"mock\.fits: id 103 appears at rows \[3, 7\]"):
        render(tmp_path, table)
    image = tmp_path / "image.fits"  # a FITS image, not a table
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(image)
    with pytest.raises(DataError, match="cannot be read as a table") as err:
        open_dataset(sim_cfg(tmp_path / "out", CatalogData, catalog_path=str(image)))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="data=catalog needs the table to render"):
        open_dataset(sim_cfg(tmp_path / "out", CatalogData))


def test_a_named_split_column_that_is_missing_is_one_line(tmp_path: Path) -> None:
    """data.split_column=mysplit on a table without it: refused, not a silent seeded split."""
    with pytest.raises(DataError, match=r"mock\.fits has no split column 'mysplit' \(data\.split_column\)") as err:
        render(tmp_path, mock(), split_column="mysplit")
    assert "\n" not in str(err.value)
    labels = np.array(["train"] * 8 + ["val"] * 2 + ["test"] * 2)
    ds = render(tmp_path, mock(mysplit=labels), split_column="mysplit")  # present: kept as it is
    assert list(ds.catalog["split"]) == list(labels)
    assert len(render(tmp_path, mock()).catalog) == 12  # the default `split`, absent: a seeded split
