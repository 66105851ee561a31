"""Label budgets and spectroscopic selection: which training galaxies keep their redshift.

Real surveys have spectroscopic redshifts for a small, bright, biased subset of the galaxies
they image. `data.labels` (photoz.data.schema.LabelsConfig) says which galaxies of the train
split keep their redshift: `n` of those that `selection` accepts (random: any; magnitude: brighter
than `mag_limit` in `band`; zcosmos, vvds, deep2, hsc, gama, boss: a survey's cuts and success
rate, photoz.data.spec_selection), drawn with `seed`. Val is selected the same way, keeping the
same share of its rows as train keeps (a survey validates on what it has); test stays the whole
photometric population, so the metrics say what the survey would get.

`apply_labels` turns an opened data set into the view every estimator is given: the galaxies
left out get the split `unlabelled`, and their `redshift` and simulation truth (`true_*`)
become NaN in the view's own copy of the catalogue. Images and photometry stay. The view holds
no redshift of an unlabelled galaxy, so no estimator can read one. What was selected is part of
the view's identity: `meta["labels"]` (the config, the counts and a hash of the labelled ids).
The defaults (n null, random) return the data set as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
from astropy.table import Column

from photoz.data.features import asinh_magnitudes, softening
from photoz.data.format import UNLABELLED, Dataset
from photoz.errors import ConfigError

_TAG = 7  # this module's seed stream (photoz.data.simulate.build uses 2-6)
HIDDEN_PREFIX = "true_"  # simulation truth: hidden with the redshift


def is_default(labels: Any) -> bool:
    """Every train galaxy labelled: the data set is used as it is."""
    return labels is None or (labels.n is None and str(labels.selection) == "random")


def check_labels(labels: Any) -> None:
    """What can be refused before a data set is opened (or simulated): n <= 0, a RAIL selection
    without RAIL's degraders."""
    if labels is None:
        return
    if labels.n is not None and labels.n <= 0:
        raise ConfigError(f"data.labels.n={labels.n}: give a positive number of labelled train galaxies, or null for all")
    if str(labels.selection) not in ("random", "magnitude"):
        from photoz.data.spec_selection import rail_selector

        rail_selector(str(labels.selection))


def _magnitudes(data: Dataset, rows: np.ndarray, soft: np.ndarray) -> dict[str, np.ndarray]:
    flux, _ = data.fluxes(rows)
    mags = asinh_magnitudes(flux, soft)
    return {b: mags[:, j] for j, b in enumerate(data.bands)}


def accepted(data: Dataset, rows: np.ndarray, labels: Any) -> np.ndarray:
    """Whether each of `rows` passes the selection (before the budget n is drawn)."""
    selection = str(labels.selection)
    if selection == "random":
        return np.ones(len(rows), bool)
    soft = softening(data.fluxes(data.split_index("train"))[1])
    if selection == "magnitude":
        if labels.band not in data.bands:
            raise ConfigError(f"data.labels.band={labels.band} is not a band of {data.path} ({', '.join(data.bands)})")
        return _magnitudes(data, rows, soft)[labels.band] < labels.mag_limit
    from photoz.data.spec_selection import rail_selected

    z = np.asarray(data.catalog["redshift"], float)[rows]  # the survey's success depends on it
    return rail_selected(selection, _magnitudes(data, rows, soft), z, labels.seed)


def _draw(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(candidates, size=n, replace=False)) if n < len(candidates) else candidates


def labelled_rows(data: Dataset, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(labelled train rows, labelled val rows), sorted; ConfigError for a budget the train split
    or the selection cannot meet, or a selection that leaves no val galaxy."""
    train, val = data.split_index("train"), data.split_index("val")
    if labels.n is not None and labels.n > len(train):
        raise ConfigError(f"data.labels.n={labels.n} is more than the {len(train)} train galaxies of {data.path}; "
                          f"use at most {len(train)} (or null for all)")  # fmt: skip
    ok = accepted(data, np.concatenate([train, val]), labels)
    pool_train, pool_val = train[ok[: len(train)]], val[ok[len(train) :]]
    selection = str(labels.selection)
    if labels.n is not None and labels.n > len(pool_train):
        raise ConfigError(f"data.labels.selection={selection} accepts {len(pool_train)} of the {len(train)} train "
                          f"galaxies of {data.path}; use data.labels.n <= {len(pool_train)} (or null for all it accepts)")  # fmt: skip
    n = len(pool_train) if labels.n is None else labels.n
    rng = np.random.default_rng([labels.seed, _TAG])
    chosen_train = _draw(pool_train, n, rng)
    n_val = min(len(pool_val), int(round(n * len(val) / max(len(train), 1))))
    if n_val == 0:
        raise ConfigError(f"data.labels (selection={selection}, n={labels.n}) leaves no val galaxy in {data.path} "
                          f"({len(pool_val)} of {len(val)} accepted); label more galaxies or choose another selection")  # fmt: skip
    return chosen_train, _draw(pool_val, n_val, rng)


def _hide(column: Column, rows: np.ndarray) -> Column:
    """`column` with `rows` blanked: NaN (an integer column becomes float), or '' for text."""
    values = np.array(column)
    if values.dtype.kind in "US":
        values[rows] = ""
    else:
        values = values.astype(float)
        values[rows] = np.nan
    return Column(values, name=column.name)


def apply_labels(data: Dataset, labels: Any) -> Dataset:
    """The view of `data` that `labels` describes (the module docstring says what it hides)."""
    if is_default(labels):
        return data
    check_labels(labels)
    train, val = labelled_rows(data, labels)
    catalog = data.catalog.copy(copy_data=True)
    split = np.asarray(catalog["split"]).astype(str).astype(object)
    keep = np.zeros(len(catalog), bool)
    keep[np.concatenate([train, val])] = True
    hidden = np.flatnonzero(~keep & np.isin(split, ["train", "val"]))
    split[hidden] = UNLABELLED
    catalog["split"] = Column(split.astype(str), name="split")
    for name in catalog.colnames:
        if name == "redshift" or name.startswith(HIDDEN_PREFIX):
            catalog[name] = _hide(catalog[name], hidden)
    meta = {**data.meta, "labels": _identity(data, labels, train, val, len(hidden))}
    return dataclasses.replace(data, catalog=catalog, meta=meta)


def _identity(data: Dataset, labels: Any, train: np.ndarray, val: np.ndarray, n_hidden: int) -> dict[str, Any]:
    """What the view's labels are: the config, the counts and a hash of the labelled ids."""
    ids = np.asarray(data.catalog["id"], np.int64)
    digest = hashlib.sha256(np.sort(ids[train]).tobytes() + b"|" + np.sort(ids[val]).tobytes()).hexdigest()
    selection = str(labels.selection)
    out = {"selection": selection, "n": labels.n, "seed": labels.seed, "n_train": len(train), "n_val": len(val),
           "n_unlabelled": n_hidden, "sha256": digest}  # fmt: skip
    if selection == "magnitude":
        out.update(band=labels.band, mag_limit=labels.mag_limit)
    return out

