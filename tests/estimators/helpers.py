"""Test helpers for the baselines: configs, template-made photometry, a tmp MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from astropy.table import Table

from photoz.config import as_schema
from photoz.data import Dataset, DatasetWriter
from photoz.estimators.schema import GridSchema, KNNSchema, RandomForestSchema, TemplateFitSchema
from photoz.estimators.template_fit import template_fluxes
from photoz.physics.curves import Curve, parse_curve
from photoz.physics.sed import SHARE

SCHEMAS = {"template_fit": TemplateFitSchema, "random_forest": RandomForestSchema, "knn": KNNSchema}


def model_cfg(name: str, **overrides) -> GridSchema:
    """The model config of `name`: its schema's defaults with `overrides` (no Hydra run needed)."""
    return as_schema(SCHEMAS[name], overrides)


def shifted_lsst_curves(bands: str, shift_nm: float) -> dict[str, Curve]:
    """GalSim's LSST curves of `bands` moved by `shift_nm`, as the text of a user's curve files."""
    rows = {b: np.loadtxt(SHARE / "bandpasses" / f"LSST_{b}.dat") for b in bands}
    text = {b: "# nm throughput\n" + "".join(f"{w + shift_nm:.4f} {t:.6g}\n" for w, t in rows[b]) for b in bands}
    return {b: parse_curve(text[b], b) for b in bands}


def template_dataset(path: Path, n: int = 60, rel_err: float = 0.01, noise: bool = False, seed: int = 1,
                     bands: str = "ugrizy", bulge: float = 0.0, curves: dict[str, Curve] | None = None) -> Dataset:
    """Photometry made from CWW templates (and 50/50 mixtures of neighbours) at random z; with
    `bulge` > 0, that share of the i-band flux comes from the elliptical (E) template instead.
    With `curves`, seen through these filter curves (GalSim's LSST ones otherwise), which the data
    set records as its own (as photoz.ingest filter_curves= does)."""
    rng = np.random.default_rng(seed)
    names = ["CWW_E_ext", "CWW_Sbc_ext", "CWW_Scd_ext", "CWW_Im_ext"]
    z = rng.uniform(0.1, 2.5, n)
    passbands = [curves[b] for b in bands] if curves else list(bands)
    tpl = [template_fluxes(s, passbands, z, igm=True)[0] for s in names]  # (n, C) each, as model.igm=true fits
    kind = rng.integers(0, 2 * len(names) - 1, n)  # even: a CWW template; odd: a mixture
    flux = np.empty((n, len(bands)))
    for i in range(n):
        fa, fb = tpl[kind[i] // 2][i], tpl[min(kind[i] // 2 + kind[i] % 2, len(names) - 1)][i]
        flux[i] = (fa + fb) / 2 if kind[i] % 2 else fa
    flux /= flux[:, 3:4]
    if bulge:
        e_flux = tpl[0]
        flux = (1 - bulge) * flux + bulge * e_flux / e_flux[:, 3:4]
    flux *= 1000.0  # i-band flux 1000 nJy (about 23.9 mag)
    err = rel_err * np.abs(flux)
    if noise:
        flux = flux + rng.normal(0, err)
    split = np.array(["train", "val", "test"])[np.arange(n) % 3]
    cat = Table({"id": np.arange(n, dtype=np.int64), "redshift": z, "split": split})
    for j, b in enumerate(bands):
        cat[f"flux_{b}"], cat[f"flux_err_{b}"] = flux[:, j], err[:, j]
    return declared(path, cat, list(bands), curves)


def declared(path: Path, catalog: Table, bands: list[str], curves: dict[str, Curve] | None) -> Dataset:
    """A data set of `catalog`'s photometry (blank 4×4 stamps) recording `curves` as its filter curves."""
    with DatasetWriter(path, len(catalog), bands, (4, 4)) as writer:
        writer.images[:] = 0.0
        return writer.finish(catalog, {}, curves)


def use_tmp_mlflow(tmp_path: Path) -> str:
    """Point MLflow at a fresh SQLite store in tmp_path with artifacts beside it; returns the uri."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("tests", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp)
    return uri


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> str:
    """A temporary MLflow store shared by a test module (creating one takes seconds)."""
    return use_tmp_mlflow(tmp_path_factory.mktemp("mlflow"))
