"""Importers end to end (FITS cube, per-galaxy FITS, numpy as in Pasquet's release) through the real
Hydra CLI, and every bad input answered with one error line and a non-zero exit."""

from __future__ import annotations

import importlib.util
import io
import runpy
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from photoz.data import read_dataset
from photoz.data.ingest import ingest
from photoz.data.ingest.catalog import random_split
from photoz.data.ingest.photometry import Aperture
from photoz.data.ingest.schema import SplitConfig
from photoz.errors import ConfigError, DataError

BANDS = ["g", "r", "i"]
N, SIZE = 24, 16
CLI_FILE = importlib.util.find_spec("photoz.ingest").origin


def make_cube(seed: int = 0) -> np.ndarray:
    """(N, 3, 16, 16) float32: a centred Gaussian blob per band plus unit noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    blob = np.exp(-(xx**2 + yy**2) / 8.0)
    amp = rng.uniform(20, 80, (N, len(BANDS), 1, 1))
    return (amp * blob + rng.normal(0, 1, (N, len(BANDS), SIZE, SIZE))).astype(np.float32)


def make_catalog() -> Table:
    return Table({"id": np.arange(1000, 1000 + N), "redshift": np.linspace(0.01, 1.2, N)})


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own tmp_path, so relative paths (and Hydra's outputs/) land there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """`python -m photoz.ingest ARGS` in this process (same code path, no interpreter start-up);
    returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", [CLI_FILE, *args])
        try:
            runpy.run_module("photoz.ingest", run_name="__main__", alter_sys=False)
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        return (code, *capsys.readouterr())

    return _run


def lib(*args: str) -> None:
    """The same import as the CLI, without Hydra: `key=value` dotlist straight to ingest()."""
    ingest(OmegaConf.from_dotlist(list(args)))


def write_cube_inputs(tmp_path: Path, cube: np.ndarray, catalog: Table, cat_name: str = "cat.fits") -> None:
    fits.PrimaryHDU(cube).writeto(tmp_path / "cube.fits")
    catalog.write(tmp_path / cat_name)


CUBE_ARGS = ("format=fits_cube", "images=cube.fits", "catalog=cat.fits", "bands=[g,r,i]", "output=out")


@pytest.mark.parametrize("cat_name", ["cat.csv", "cat.fits", "cat.parquet"])
def test_fits_cube_end_to_end(tmp_path: Path, run, cat_name: str) -> None:
    cube, cat = make_cube(), make_catalog()
    write_cube_inputs(tmp_path, cube, cat, cat_name)
    args = (*CUBE_ARGS, f"catalog={cat_name}", "pixel_to_njy=2.5", "pixel_scale=0.2", "psf_fwhm=[0.8,0.7,0.7]")
    if cat_name == "cat.fits":  # once through the CLI, the others straight to the library
        code, out, err = run(*args)
        assert code == 0, err
        assert "wrote out: 24 galaxies, bands gri, stamps (16, 16) (train 17, val 4, test 3)" in out
    else:
        lib(*args)
    ds = read_dataset(tmp_path / "out")
    assert isinstance(ds.images, np.memmap)
    assert ds.images.tobytes() == (cube * np.float32(2.5)).tobytes()
    assert np.array_equal(ds.catalog["id"], cat["id"]) and np.allclose(ds.catalog["redshift"], cat["redshift"])
    assert [len(ds.split_index(s)) for s in ("train", "val", "test")] == [17, 4, 3]
    assert ds.meta["generator"]["name"] == "photoz.ingest" and ds.meta["generator"]["config"]["pixel_to_njy"] == 2.5
    assert ds.meta["sources"] == {"images": "cube.fits", "catalog": cat_name}
    assert ds.meta["psf_fwhm"] == {"g": 0.8, "r": 0.7, "i": 0.7} and ds.meta["pixel_scale"] == 0.2
    assert "flux_err_i" in ds.meta["measured_photometry"]["columns"]
    flux, err_ = ds.fluxes()
    assert np.allclose(flux, Aperture((SIZE, SIZE), 5.0).measure(cube * np.float32(2.5))[0])
    assert (err_ > 0).all()


def test_fits_cube_extension_with_catalog_fluxes_and_split(tmp_path: Path) -> None:
    cube, cat = make_cube(), make_catalog()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube, name="CUBE")]).writeto(tmp_path / "cube.fits")
    for b in BANDS:
        cat[f"F_{b}"], cat[f"E_{b}"] = np.arange(N) * 1.0, np.full(N, 0.5)  # µJy
    cat["set"] = np.resize(["TRAIN", "val", "test "], N)
    cat["ebv"] = np.full(N, 0.03)
    cat.write(tmp_path / "cat.ecsv")
    lib(*CUBE_ARGS, "catalog=cat.ecsv", "fits_cube.hdu=CUBE", "columns.split=set", "columns.flux=F_{band}",
        "columns.flux_err=E_{band}", "columns.flux_to_njy=1000")
    ds = read_dataset(tmp_path / "out")
    assert ds.images.tobytes() == cube.tobytes()
    assert list(ds.catalog["split"][:3]) == ["train", "val", "test"]
    flux, flux_err = ds.fluxes()
    assert np.array_equal(flux[:, 2], np.arange(N) * 1000.0) and np.all(flux_err == 500.0)
    assert ds.meta["measured_photometry"] is None and np.all(ds.catalog["ebv"] == 0.03)
    assert "F_g" not in ds.catalog.colnames and "set" not in ds.catalog.colnames


def write_cutouts(tmp_path: Path, cube: np.ndarray, order: list[int], keyword: bool = True) -> None:
    (tmp_path / "cut").mkdir()
    for i, ident in enumerate(make_catalog()["id"]):
        hdus = [fits.ImageHDU(cube[i, c], header=fits.Header([("FILTER", BANDS[c].upper())] if keyword else []))
                for c in order]
        fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(tmp_path / "cut" / f"gal_{ident}.fits")


@pytest.mark.parametrize("order, keyword", [([2, 0, 1], "FILTER"), ([0, 1, 2], "null")])
def test_fits_cutouts_end_to_end(tmp_path: Path, run, order: list[int], keyword: str) -> None:
    cube = make_cube()
    make_catalog().write(tmp_path / "cat.fits")
    write_cutouts(tmp_path, cube, order, keyword=keyword != "null")
    if keyword == "FILTER":
        code, _, err = run(
            "format=fits_cutouts", "images='cut/gal_{id}.fits'", "catalog=cat.fits", "bands=[g,r,i]", "output=out"
        )
        assert code == 0, err
    else:
        lib("format=fits_cutouts", "images=cut/gal_{id}.fits", "catalog=cat.fits", "bands=[g,r,i]",
            "fits_cutouts.band_keyword=null", "fits_cutouts.workers=1", "output=out")
    ds = read_dataset(tmp_path / "out")
    assert ds.images.tobytes() == cube.tobytes()
    assert ds.catalog["source_file"][3] == "cut/gal_1003.fits"


def test_fits_cutout_without_a_band_is_named(tmp_path: Path) -> None:
    make_catalog().write(tmp_path / "cat.fits")
    write_cutouts(tmp_path, make_cube(), [0, 1, 2])
    with pytest.raises(DataError) as err:
        lib("format=fits_cutouts", "images=cut/gal_{id}.fits", "catalog=cat.fits", "bands=[g,r,z]", "output=out")
    assert str(err.value) == ("cut/gal_1000.fits: no HDU has FILTER = 'z' (found ['g', 'i', 'r']); "
                              "fix bands=, fits_cutouts.band_keyword=, or set fits_cutouts.band_keyword=null to take bands in HDU order")


def test_missing_cutout_is_named_from_a_worker(tmp_path: Path) -> None:
    make_catalog().write(tmp_path / "cat.fits")
    write_cutouts(tmp_path, make_cube(), [0, 1, 2])
    (tmp_path / "cut" / "gal_1010.fits").unlink()
    with pytest.raises(DataError, match=r"^cut/gal_1010.fits: cutout of catalog row 10 not found"):
        lib("format=fits_cutouts", "images=cut/gal_{id}.fits", "catalog=cat.fits", "bands=[g,r,i]", "fits_cutouts.workers=2",
            "output=out")
    assert not (tmp_path / "out").exists()


def test_numpy_npz_as_in_pasquet_release(tmp_path: Path, run) -> None:
    cube = make_cube()
    labels = np.zeros(N, dtype=[("objID", "i8"), ("z", "f4"), ("ebv", "f4")])
    labels["objID"], labels["z"], labels["ebv"] = np.arange(N) * 7 + 1, np.linspace(0, 0.4, N), 0.02
    np.savez(tmp_path / "sdss.npz", cube=cube.transpose(0, 2, 3, 1), labels=labels)
    code, _, err = run("format=numpy", "images=sdss.npz", "bands=[g,r,i]", "columns.redshift=z", "columns.id=objID",
                       "pixel_to_njy=3631", "output=out")
    assert code == 0, err
    ds = read_dataset(tmp_path / "out")
    assert ds.images.tobytes() == (cube * np.float32(3631)).tobytes()
    assert np.array_equal(ds.catalog["id"], labels["objID"]) and np.allclose(ds.catalog["ebv"], 0.02)


def test_numpy_npy_labels_without_ids(tmp_path: Path) -> None:
    cube = make_cube()
    np.save(tmp_path / "images.npy", cube.transpose(0, 2, 3, 1))
    np.save(tmp_path / "z.npy", np.linspace(0, 1, N))
    lib("format=numpy", "images=images.npy", "catalog=z.npy", "bands=[g,r,i]", "output=out", "seed=3")
    ds = read_dataset(tmp_path / "out")
    assert ds.images.tobytes() == cube.tobytes() and np.array_equal(ds.catalog["id"], np.arange(N))
    assert ds.photometric_system is None  # imported without filters=: unknown, never assumed LSST
    lib("format=numpy", "images=images.npy", "catalog=z.npy", "bands=[g,r,i]", "output=sdss", "filters=sdss")
    assert read_dataset(tmp_path / "sdss").meta["filters"] == "sdss"


def test_fill_nan_replaces_non_finite_pixels(tmp_path: Path) -> None:
    cube = make_cube()
    cube[4, 1, 2, 2] = np.nan
    write_cube_inputs(tmp_path, cube, make_catalog())
    lib(*CUBE_ARGS, "fill_nan=0")
    assert read_dataset(tmp_path / "out").images[4, 1, 2, 2] == 0.0


def test_aperture_errors_match_the_scatter_of_measured_fluxes() -> None:
    rng = np.random.default_rng(1)
    stamps = rng.normal(0, 2.0, (2000, 1, 32, 32))
    stamps[:, :, 15:17, 15:17] += 125.0  # 500 in the centre
    flux, err = Aperture((32, 32), radius=4.0).measure(stamps)
    assert abs(flux.mean() - 500) < 3 * err.mean() / np.sqrt(len(flux))
    assert np.std(flux) == pytest.approx(np.median(err), rel=0.08)


@pytest.mark.parametrize("n", [1, 5, 24, 101])
def test_random_split_is_exact_and_seeded(n: int) -> None:
    fractions = SplitConfig(train=0.5, val=0.5, test=0.0)
    labels = random_split(n, fractions, seed=4)
    assert [(labels == s).sum() for s in ("train", "val", "test")] == [n - n // 2, n // 2, 0]
    assert np.array_equal(labels, random_split(n, fractions, seed=4))
    if n > 5:
        assert not np.array_equal(labels, random_split(n, fractions, seed=5))


def _short(tmp_path, cube, cat):
    return cube, cat[:-2], "cube.fits holds 24 images but cat.fits has 22 rows"


def _nan(tmp_path, cube, cat):
    cube[9, 2, 0, 0] = np.nan
    return cube, cat, "cube.fits: image 9 (id 1009) has 1 non-finite pixels in band i"


def _dup(tmp_path, cube, cat):
    cat["id"][7] = cat["id"][3]
    return cube, cat, "cat.fits: id 1003 appears at rows [3, 7]"


def _negative(tmp_path, cube, cat):
    cat["redshift"][5] = -0.2
    return cube, cat, "cat.fits: redshift at row 5 is -0.2"


def _nan_z(tmp_path, cube, cat):
    cat["redshift"][6] = np.nan
    return cube, cat, "cat.fits: redshift at row 6 is nan"


def _no_z(tmp_path, cube, cat):
    cat.rename_column("redshift", "zspec")
    return cube, cat, "cat.fits has no column 'redshift' (it has id, zspec); set columns.redshift="


def _exists(tmp_path, cube, cat):
    (tmp_path / "out").mkdir()
    return cube, cat, "out already exists; choose another output= or set overwrite=true"


def _bands(tmp_path, cube, cat):
    return cube[:, :2], cat, "cube.fits has 2 bands per stamp but bands= lists 3"


SPOILS = [_short, _nan, _dup, _negative, _nan_z, _no_z, _exists, _bands]


@pytest.mark.parametrize("spoil", SPOILS)
def test_bad_cube_input_names_file_and_row(tmp_path: Path, spoil) -> None:
    cube, cat, message = spoil(tmp_path, make_cube(), make_catalog())
    write_cube_inputs(tmp_path, cube, cat)
    with pytest.raises(DataError) as err:
        lib(*CUBE_ARGS)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() or spoil is _exists
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize("spoil", [_nan, _no_z])
def test_bad_input_through_cli_is_one_line_and_exit_2(tmp_path: Path, run, spoil) -> None:
    cube, cat, message = spoil(tmp_path, make_cube(), make_catalog())
    write_cube_inputs(tmp_path, cube, cat)
    code, _, err = run(*CUBE_ARGS)
    assert code == 2 and err.startswith("photoz: error: ") and err.count("\n") == 1, err
    assert message in err


def test_truncated_npy_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "images.npy", make_cube().transpose(0, 2, 3, 1))
    data = (tmp_path / "images.npy").read_bytes()
    (tmp_path / "images.npy").write_bytes(data[: len(data) - 1000])
    make_catalog().write(tmp_path / "cat.fits")
    with pytest.raises(DataError, match="^images.npy is truncated or not a numpy file"):
        lib("format=numpy", "images=images.npy", "catalog=cat.fits", "bands=[g,r,i]", "output=out")
    assert not (tmp_path / "out").exists()


def test_truncated_npz_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "sdss.npz", cube=make_cube().transpose(0, 2, 3, 1), labels=np.linspace(0, 1, N))
    data = (tmp_path / "sdss.npz").read_bytes()
    (tmp_path / "sdss.npz").write_bytes(data[:5000] + data[-2000:])
    with pytest.raises(DataError, match="^sdss.npz is truncated or not a numpy file"):
        lib("format=numpy", "images=sdss.npz", "bands=[g,r,i]", "output=out")
    assert not (tmp_path / "out").exists()


def test_npz_member_shorter_than_its_header_is_refused(tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (N, SIZE, SIZE, 3)})
    with zipfile.ZipFile(tmp_path / "sdss.npz", "w") as zf:
        zf.writestr("cube.npy", header.getvalue() + make_cube()[:20].tobytes())
        labels = io.BytesIO()
        np.save(labels, np.linspace(0, 1, N))
        zf.writestr("labels.npy", labels.getvalue())
    with pytest.raises(DataError, match=r"^sdss.npz\[cube\] ends at image 20 of 24"):
        lib("format=numpy", "images=sdss.npz", "bands=[g,r,i]", "output=out")
    assert list(tmp_path.iterdir()) == [tmp_path / "sdss.npz"]


@pytest.mark.parametrize(
    "extra, error, message",
    [
        (["split.train=0.8"], ConfigError, "split fractions [0.8, 0.15, 0.15] must be >= 0 and sum to 1"),
        (["bands=[]"], ConfigError, "bands= is required"),
        (["photometry.radius=9"], ConfigError, "radius=9.0 with a noise ring 6.0 <= r < 8.0 does not fit a 16x16"),
        (["fits_cube.hdu=SCI"], DataError, "cube.fits has no HDU 'SCI'"),
        (["images=none.fits"], DataError, "none.fits: no such FITS file"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, extra: list[str], error: type, message: str) -> None:
    write_cube_inputs(tmp_path, make_cube(), make_catalog())
    with pytest.raises(error) as err:
        lib(*CUBE_ARGS, *extra)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("extra, choices", [("format=hdf5", "fits_cube, fits_cutouts, numpy"), ("fits_cube.layout=CHWN", "NCHW, NHWC")])
def test_a_bad_choice_is_refused_by_the_schema(tmp_path: Path, extra: str, choices: str) -> None:
    with pytest.raises(ValidationError, match=f"expected one of \\[{choices}\\]"):
        lib(*CUBE_ARGS, extra)
    assert list(tmp_path.iterdir()) == []


def test_cli_process_prints_one_line_without_traceback(tmp_path: Path) -> None:
    cat = make_catalog()
    cat["redshift"][2] = -1.0
    write_cube_inputs(tmp_path, make_cube(), cat)
    command = [sys.executable, "-m", "photoz.ingest", *CUBE_ARGS]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == "photoz: error: cat.fits: redshift at row 2 is -1.0; redshifts must be finite and >= 0\n"
    assert "Traceback" not in proc.stdout + proc.stderr


def _blank_z(tmp_path: Path, name: str) -> None:
    from astropy.table import MaskedColumn

    cat = make_catalog()
    cat["redshift"] = MaskedColumn(cat["redshift"], mask=np.arange(N) == 6)
    write_cube_inputs(tmp_path, make_cube(), cat, name)


@pytest.mark.parametrize("name", ["cat.csv", "cat.fits"])
def test_a_blank_redshift_is_refused_like_nan(tmp_path: Path, name: str) -> None:
    _blank_z(tmp_path, name)
    with pytest.raises(DataError, match=rf"{name}: redshift at row 6 is nan \(a blank or NaN cell\)"):
        lib(*CUBE_ARGS[:2], f"catalog={name}", *CUBE_ARGS[3:])
    assert not (tmp_path / "out").exists()


def test_overwrite_never_deletes_a_users_folder(tmp_path: Path, run) -> None:
    write_cube_inputs(tmp_path, make_cube(), make_catalog())
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    (tmp_path / "out" / "meta.json").write_text("{}")
    code, _, err = run(*CUBE_ARGS, "overwrite=true")
    assert code == 2 and err.count("\n") == 1 and "out is not a photoz data set (sub/, thesis.tex, no images.npy" in err
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"
    (tmp_path / "out" / "thesis.tex").unlink()
    (tmp_path / "out" / "sub").rmdir()
    (tmp_path / "out" / "meta.json").unlink()
    assert run(*CUBE_ARGS, "overwrite=true")[0] == 0  # an empty folder may be replaced
    assert run(*CUBE_ARGS, "overwrite=true")[0] == 0  # and so may the set photoz wrote there
    assert len(read_dataset(tmp_path / "out")) == N


def test_a_truncated_cube_and_a_non_table_catalogue_are_one_line(tmp_path: Path, run) -> None:
    write_cube_inputs(tmp_path, make_cube(), make_catalog())
    whole = (tmp_path / "cube.fits").read_bytes()
    (tmp_path / "cube.fits").write_bytes(whole[: len(whole) // 2])
    code, _, err = run(*CUBE_ARGS)
    assert code == 2 and err.count("\n") == 1 and "cube.fits is truncated" in err, err
    (tmp_path / "cube.fits").write_bytes(whole)
    code, _, err = run(*CUBE_ARGS[:2], "catalog=cube.fits", *CUBE_ARGS[3:])
    assert code == 2 and err.count("\n") == 1 and "cube.fits cannot be read as a table" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("column, value", [("flux_g", np.inf), ("flux_r", np.nan), ("flux_err_i", -1.0)])
def test_a_non_finite_flux_or_a_negative_error_is_one_line(column: str, value: float) -> None:
    """They were imported, then training died in a 76-line scikit-learn traceback."""
    from photoz.data.ingest.catalog import build_catalog
    from photoz.data.ingest.schema import ColumnsConfig

    bands = ["g", "r", "i"]
    table = Table({"redshift": np.linspace(0.1, 1, 8), **{f"flux_{b}": np.full(8, 100.0) for b in bands},
                   **{f"flux_err_{b}": np.full(8, 5.0) for b in bands}})
    table["flux_g"][2] = -30.0  # a non-detection: its measured flux, negative, is fine
    build_catalog(table, "cat.fits", bands, ColumnsConfig(), SplitConfig(), 0)
    table[column][5] = value
    with pytest.raises(DataError, match=rf"cat.fits: column '{column}' is {value} in row 5 \(id 5\).*non-detection"):
        build_catalog(table, "cat.fits", bands, ColumnsConfig(), SplitConfig(), 0)


def _curve_files(folder: Path, bands: list[str] = BANDS) -> dict[str, str]:
    """Top-hat curves, one <band>.dat per band as a user would write them (comments, blank lines)."""
    folder.mkdir()
    texts = {}
    for j, band in enumerate(bands):
        lo = 400.0 + 150.0 * j
        texts[band] = f"# {band}: a top hat\n# nm  throughput\n{lo} 0\n{lo + 0.1} 0.9\n\n{lo + 120} 0.9\n{lo + 120.1} 0\n"
        (folder / f"{band}.dat").write_text(texts[band])
    return texts


def test_filter_curves_are_copied_recorded_and_counted_in_the_checksum(tmp_path: Path, run) -> None:
    import hashlib

    write_cube_inputs(tmp_path, make_cube(), make_catalog())
    texts = _curve_files(tmp_path / "curves")
    code, _, err = run(*CUBE_ARGS, "filter_curves=curves", "filters=mine")
    assert code == 0, err
    ds = read_dataset(tmp_path / "out")
    assert ds.meta["filter_curves"] == {b: hashlib.sha256(t.encode()).hexdigest() for b, t in texts.items()}
    assert all((tmp_path / "out" / "filters" / f"{b}.dat").read_text() == t for b, t in texts.items())
    lib(*CUBE_ARGS[:4], "output=plain")
    assert read_dataset(tmp_path / "plain").meta["checksum"] != ds.meta["checksum"]  # the curves are its identity
    assert run(*CUBE_ARGS, "filter_curves=curves", "overwrite=true")[0] == 0  # a set with curves may be replaced
    (tmp_path / "out" / "filters" / "r.dat").write_text(texts["r"].replace("0.9", "0.8"))
    with pytest.raises(DataError, match=r"out/filters/r\.dat is not the curve .*meta\.json records \(sha256\)"):
        read_dataset(tmp_path / "out")
    meta = tmp_path / "out" / "meta.json"
    meta.write_text(meta.read_text().replace(ds.meta["filter_curves"]["r"], hashlib.sha256(b"x").hexdigest()))
    (tmp_path / "out" / "filters" / "r.dat").write_text("400 1\n500 1\n")
    meta.write_text(meta.read_text().replace(hashlib.sha256(b"x").hexdigest(), hashlib.sha256(b"400 1\n500 1\n").hexdigest()))
    with pytest.raises(DataError, match="content checksum does not match"):  # file and its sha256 both swapped
        read_dataset(tmp_path / "out")


@pytest.mark.parametrize("name, text, message", [
    ("g.dat", "400 0.1\n390 0.5\n500 0.2\n", "g.dat: wavelength is not strictly increasing at data row 2"),
    ("g.dat", "400 0.1\n450 -0.5\n500 0.2\n", "g.dat: throughput -0.5 at data row 2 is negative"),
    ("g.dat", "400 0.1\n450 nan\n500 0.2\n", "g.dat: data row 2 holds a NaN or inf"),
    ("g.dat", "400 0.1\n", "g.dat: 1 rows, need at least 2"),
    ("g.dat", "400 0\n500 0\n", "g.dat: throughput is zero everywhere"),
    ("g.dat", "".join(f"{400 + i * 0.01:.2f} 1\n" for i in range(10_001)), "g.dat: more than 10000 rows; resample"),
    ("g.dat", "# nm T\n400 0.1 3\n", "g.dat: line 2 is '400 0.1 3', not two numbers"),
    ("g.dat", "400,0.1\n500,0.2\n", "g.dat: line 1 is '400,0.1', not two numbers"),
    ("g.dat", "3863 0\n4000 0.5\n5670 0\n", "g.dat: wavelengths 3863-5670 nm are not within 91-2205 nm"),  # Å
    ("g.dat", "0 0\n400 0.5\n500 0\n", "g.dat: wavelengths 0-500 nm are not within 91-2205 nm"),
    ("g.dat", b"\xff\xfe\x00".decode("latin-1"), "g.dat: not a text file"),
    ("r.dat", "400 0.1\n500 0.2\n", "g.dat: no such file; filter_curves= needs one curve per band (g.dat, r.dat, i.dat)"),
])  # fmt: skip
def test_bad_filter_curves_are_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    from photoz.data.filters import read_curve_folder

    _curve_files(tmp_path / "curves")
    (tmp_path / "curves" / "g.dat").unlink()
    path = tmp_path / "curves" / name
    path.write_bytes(text.encode("latin-1")) if "text file" in message else path.write_text(text)
    with pytest.raises(DataError) as err:
        read_curve_folder(tmp_path / "curves", BANDS)
    assert message in str(err.value) and "\n" not in str(err.value)
    if "no such file" not in message and "resample" not in message:
        assert "two columns per line, wavelength in nm (strictly increasing) and throughput >= 0" in str(err.value)


def test_bad_filter_curves_through_the_cli_exit_2_before_anything_is_written(tmp_path: Path, run) -> None:
    write_cube_inputs(tmp_path, make_cube(), make_catalog())
    _curve_files(tmp_path / "curves")
    (tmp_path / "curves" / "i.dat").write_text("700 0.5\n650 0.5\n")
    code, _, err = run(*CUBE_ARGS, "filter_curves=curves")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("photoz: error: curves/i.dat: wavelength is not strictly increasing at data row 2;")
    code, _, err = run(*CUBE_ARGS, "filter_curves=nowhere")
    assert code == 2 and err == "photoz: error: filter_curves=nowhere: no such folder; give a folder holding one file per band (g.dat, r.dat, i.dat)\n"
    assert not (tmp_path / "out").exists()
