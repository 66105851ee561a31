"""Build a simulated data set: truth, parallel rendering in chunks, streaming into the writer.

Every chunk of `data.chunk_size` galaxies draws its noise from its own seed (data.seed, chunk
index), so the bytes do not depend on `data.workers`. The output directory is
`data.root/<name>-<hash of the config>` (or `data.output`); a directory already there is reused
only if its stored config is this config, otherwise refused unless `data.overwrite=true`.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from photoz import interrupt
from photoz.data.format import NJY_ZP, SPLITS, Dataset, DatasetWriter, read_dataset
from photoz.data.simulate.conditions import check_conditions, draw_blends, draw_psf_fwhm
from photoz.data.simulate.lsst import LSST, PIXEL_SCALE, check_bands, psf_fwhm_geom, target_m5
from photoz.data.simulate.render import Renderer, shape_array
from photoz.data.simulate.truth import make_truth, neighbour_truth
from photoz.data.simulate.workers import quiet_worker
from photoz.data.splits import random_labels, valid_fractions
from photoz.errors import ConfigError, DataError

SIM_VERSION = 6  # of sed_model cosmos, realistic, cww: bump when their physics changes (part of the cache key)
VERSION_OF_MODEL = {"empirical": 8}  # sed_model with its own version (the default, empirical, is 8)
NOT_HASHED = ("workers", "overwrite", "root", "output", "labels")  # labels: a view of the set (photoz.data.labels)
_TAG_SPLIT, _TAG_NOISE, _TAG_PSF, _TAG_BLEND_PLACES = 2, 3, 5, 6  # photoz.data.simulate.truth owns 1 and 4


def check_config(cfg: DictConfig) -> list[str]:
    """Refuse out-of-range values with one ConfigError line; return the bands."""
    if cfg.name == "catalog" and (OmegaConf.is_missing(cfg, "catalog_path") or not cfg.catalog_path):
        raise ConfigError("data=catalog needs the table to render: add data.catalog_path=<FITS, CSV or parquet file>")
    bands = check_bands(list(cfg.bands))
    if cfg.stamp_size < 8:
        raise ConfigError(f"data.stamp_size={cfg.stamp_size} is too small; use at least 8 pixels (default 32)")
    if (cfg.n_galaxies is None and cfg.name != "catalog") or (cfg.n_galaxies is not None and cfg.n_galaxies <= 0):
        raise ConfigError(f"data.n_galaxies={cfg.n_galaxies}; it must be a positive number of galaxies")
    if cfg.name != "catalog" and not cfg.mag_min < cfg.mag_limit:
        raise ConfigError(f"data.mag_min={cfg.mag_min} must be brighter (smaller) than data.mag_limit={cfg.mag_limit}")
    for key, what in (("ebv_mean", "a mean dust E(B-V)"), ("line_ew_scale", "a factor on emission-line equivalent widths")):
        if not cfg[key] >= 0:
            raise ConfigError(f"data.{key}={cfg[key]} is negative; it is {what}, use a value >= 0 (0 switches it off)")
    split = dict(cfg.split)
    if set(split) != set(SPLITS) or not valid_fractions([split[s] for s in SPLITS]):
        raise ConfigError(f"data.split={split}: give non-negative train, val and test fractions that sum to 1")
    if cfg.workers < 1 or cfg.chunk_size < 1:
        raise ConfigError(f"data.workers={cfg.workers}, data.chunk_size={cfg.chunk_size}: both must be >= 1")
    check_conditions(float(cfg.psf_scatter), float(cfg.blend_fraction))
    if cfg.name != "catalog" and cfg.sed_model != "cosmos" and cfg.sed_population != "cosmodc2":
        raise ConfigError(f"data.sed_population={cfg.sed_population} applies to data.sed_model=cosmos only, not "
                          f"{cfg.sed_model}; add data.sed_model=cosmos (simulator version 4) or drop data.sed_population")
    if cfg.sed_model in ("cosmos", "empirical") and cfg.name != "catalog":
        from photoz.data.simulate.templates import rail_sed_dir

        rail_sed_dir()  # ConfigError naming the extra when RAIL's templates and cosmoDC2 sample are not installed
    return bands


def sim_version(cfg: DictConfig) -> int:
    """The simulator version of the data set `cfg` makes: 8 for sed_model=empirical, else SIM_VERSION."""
    return VERSION_OF_MODEL.get(str(cfg.sed_model), SIM_VERSION) if cfg.name != "catalog" else SIM_VERSION


def config_key(cfg: DictConfig) -> dict[str, Any]:
    """The config that defines the content (everything but where and how fast it is built)."""
    key = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in NOT_HASHED}
    key["sim_version"] = sim_version(cfg)
    if key["name"] == "catalog":
        path = Path(to_absolute_path(str(cfg.catalog_path)))
        key["catalog_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return key


def output_path(cfg: DictConfig) -> Path:
    """data.output if given, else data.root/<name>-<10-hex hash of config_key>."""
    if cfg.output:
        return Path(to_absolute_path(str(cfg.output)))
    digest = hashlib.sha256(json.dumps(config_key(cfg), sort_keys=True).encode()).hexdigest()[:10]
    return Path(to_absolute_path(str(cfg.root))) / f"{cfg.name}-{digest}"


def assign_split(cfg: DictConfig, n: int) -> np.ndarray:
    """Seeded random train/val/test labels with the configured fractions (photoz.data.splits)."""
    fractions = [cfg.split[s] for s in SPLITS]
    return random_labels(n, fractions, np.random.default_rng([cfg.seed, _TAG_SPLIT]))


_RENDERER: Renderer | None = None


def _init_worker(bands: list[str], stamp_size: int, depth: str, aperture: float) -> None:
    global _RENDERER
    _RENDERER = Renderer(bands, stamp_size, depth, aperture)


def _init_pool_worker(*init: object) -> None:
    quiet_worker()  # ended by its parent without a traceback, also when the parent is killed
    _init_worker(*init)


def _render_chunk(job: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy stamps and aperture photometry of one chunk, noise seeded by (seed, chunk index)."""
    assert _RENDERER is not None
    model = _RENDERER.noiseless(job["shapes"], job["bulge"], job["disk"], job["psf"], job["neighbours"])
    images, variance = _RENDERER.observe(model, np.random.default_rng([job["seed"], _TAG_NOISE, job["index"]]))
    flux, err = _RENDERER.photometry(images, variance)
    return images, flux, err


def _chunks(cfg: DictConfig, shapes: np.ndarray, bulge: np.ndarray, disk: np.ndarray, psf: np.ndarray | None,
            neighbours: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    """The render jobs, chunk by chunk (neighbour indices relative to the chunk)."""
    step = int(cfg.chunk_size)
    for k, s in enumerate(range(0, len(shapes), step)):
        own = (neighbours["index"] >= s) & (neighbours["index"] < s + step)
        part = {key: value[own] for key, value in neighbours.items()}
        part["index"] = part["index"] - s
        yield {"seed": cfg.seed, "index": k, "shapes": shapes[s : s + step], "bulge": bulge[s : s + step], "disk": disk[s : s + step],
               "psf": None if psf is None else psf[s : s + step], "neighbours": part}


def observing_conditions(cfg: DictConfig, bands: list[str], truth: Table, bulge: np.ndarray, disk: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(n, C) PSF FWHM_eff per galaxy and the neighbours of the blended stamps (photoz.data.simulate.
    conditions); adds psf_fwhm_<b> and, with blends, the true_blend_* columns to truth."""
    n = len(truth)
    psf = draw_psf_fwhm(np.random.default_rng([cfg.seed, _TAG_PSF]), n, bands, cfg.depth, float(cfg.psf_scatter))
    for j, band in enumerate(bands):
        truth[f"psf_fwhm_{band}"] = psf[:, j].astype(np.float32)
    index, offset = draw_blends(np.random.default_rng([cfg.seed, _TAG_BLEND_PLACES]), n, float(cfg.blend_fraction), int(cfg.stamp_size))
    if cfg.blend_fraction > 0:
        other, nb_bulge, nb_disk = neighbour_truth(cfg, bands, truth, bulge, disk, index)
        _blend_columns(truth, bands, index, offset, other)
    else:
        nb_bulge = nb_disk = np.zeros((0, len(bands)))
        other = truth[:0]
    neighbours = {"index": index, "shapes": shape_array(other), "bulge": nb_bulge, "disk": nb_disk, "offset": offset}
    return psf, neighbours


def _blend_columns(truth: Table, bands: list[str], index: np.ndarray, offset: np.ndarray, other: Table) -> None:
    """true_blend (0/1), and for the neighbour its offset (arcsec), redshift, magnitudes and size (NaN if none)."""
    n = len(truth)
    truth["true_blend"] = np.zeros(n, np.int8)
    truth["true_blend"][index] = 1
    columns = {"true_blend_dx": offset[:, 0], "true_blend_dy": offset[:, 1], "true_blend_redshift": other["redshift"],
               "true_blend_hlr": other["true_hlr"], **{f"true_blend_mag_{b}": other[f"true_mag_{b}"] for b in bands}}
    for name, values in columns.items():
        col = np.full(n, np.nan)
        col[index] = np.asarray(values, float)
        truth[name] = col


def _context() -> mp.context.BaseContext:
    """fork where the platform has it (fast start, works from scripts without a main guard)."""
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def simulate(cfg: DictConfig, path: Path) -> Dataset:
    """Render the data set that cfg describes into path (temp dir + rename)."""
    bands = check_config(cfg)
    if cfg.name != "catalog" and cfg.sed_model == "empirical":
        from photoz.data.simulate.matched import warn_beyond_training

        warn_beyond_training(float(cfg.mag_limit))
    truth, bulge, disk = make_truth(cfg, bands)
    psf, neighbours = observing_conditions(cfg, bands, truth, bulge, disk)
    n, size, step = len(truth), int(cfg.stamp_size), int(cfg.chunk_size)
    jobs = _chunks(cfg, shape_array(truth), bulge, disk, psf if cfg.psf_scatter > 0 else None, neighbours)
    init = (bands, size, cfg.depth, cfg.aperture_radius)
    flux, err = np.empty((n, len(bands))), np.empty((n, len(bands)))
    with DatasetWriter(path, n, bands, (size, size), overwrite=cfg.overwrite) as writer:
        pool = _context().Pool(cfg.workers, _init_pool_worker, init) if cfg.workers > 1 else None
        if pool is None:
            _init_worker(*init)
        results = pool.imap(_render_chunk, jobs) if pool is not None else map(_render_chunk, jobs)
        try:
            with tqdm(total=n, unit="gal", desc=f"simulating {path.name}") as bar:
                for k, (images, f, e) in enumerate(results):
                    interrupt.check()  # Ctrl-C / SIGTERM: between chunks, the temp folder is removed
                    rows = slice(k * step, k * step + len(images))
                    writer.images[rows], flux[rows], err[rows] = images, f, e
                    bar.update(len(images))
        finally:
            if pool is not None:
                pool.terminate()
        writer.finish(_catalog(cfg, truth, bands, flux, err), _meta(cfg, bands))
    return read_dataset(path, validate=False)


def _catalog(cfg: DictConfig, truth: Table, bands: list[str], flux: np.ndarray, err: np.ndarray) -> Table:
    split = truth["split"] if "split" in truth.colnames else assign_split(cfg, len(truth))  # a catalogue's own
    cat = Table({"id": truth["id"], "redshift": truth["redshift"], "split": split})
    for j, band in enumerate(bands):
        cat[f"flux_{band}"], cat[f"flux_err_{band}"] = flux[:, j], err[:, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, band in enumerate(bands):
            cat[f"mag_{band}"] = np.where(flux[:, j] > 0, NJY_ZP - 2.5 * np.log10(flux[:, j]), np.nan)
    for name in truth.colnames[2:]:
        if name != "split":
            cat[name] = truth[name]
    return cat


def _meta(cfg: DictConfig, bands: list[str]) -> dict[str, Any]:
    return {
        "pixel_scale": PIXEL_SCALE,
        "units": "nJy per pixel",
        "psf_fwhm": {b: round(psf_fwhm_geom(b), 4) for b in bands},  # Kolmogorov FWHM drawn
        "psf_fwhm_eff": {b: LSST[b].psf_fwhm for b in bands},
        "depth": cfg.depth,
        "m5": {b: target_m5(b, cfg.depth) for b in bands},
        "aperture_radius_arcsec": cfg.aperture_radius,
        "filters": "lsst",  # GalSim's LSST bandpasses (photoz.physics.sed)
        "generator": {"name": "photoz.simulate", "version": sim_version(cfg), "config": config_key(cfg)},
    }


def build_or_reuse(cfg: DictConfig) -> Dataset:
    """The data set cfg describes: reused if already built with this config, else simulated."""
    check_config(cfg)
    path = output_path(cfg)
    if path.exists() and not cfg.overwrite:
        dataset = read_dataset(path)
        if dataset.meta.get("generator", {}).get("config") != config_key(cfg):
            raise DataError(f"{path} holds a different data set; choose another data.output or set data.overwrite=true to replace it")
        return dataset
    return simulate(cfg, path)
