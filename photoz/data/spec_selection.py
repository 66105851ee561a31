"""A survey's spectroscopic selection, through LSST DESC RAIL's SpecSelection degraders.

The degraders ship with `pz-rail-astro-tools` (the rail extra). Each applies its survey's
photometric cuts and then draws every galaxy with the survey's measured success rate (a grid in
magnitude and redshift or colour, read from the rate files RAIL installs), so what it keeps is
brighter, and for most surveys at lower redshift, than the photometric sample. photoz calls them
through RAIL's stage API and copies none of their numbers.

RAIL reads AB magnitudes `mag_<b>_lsst` and `redshift`. photoz hands it the asinh magnitudes of
the catalogue fluxes (photoz.data.features: equal to AB magnitudes for detected galaxies and
finite for non-detections), so a galaxy undetected in one band is faint there, not dropped.
"""

from __future__ import annotations

import contextlib
import io
import logging

import numpy as np

from photoz.errors import ConfigError, first_line

INSTALL_HINT = 'pip install -e ".[rail]"'
MODULE = "rail.creation.degraders.spectroscopic_selections"
RAIL_CLASSES = {  # data.labels.selection -> RAIL's degrader
    "zcosmos": "SpecSelection_zCOSMOS",
    "vvds": "SpecSelection_VVDSf02",
    "deep2": "SpecSelection_DEEP2_LSST",
    "hsc": "SpecSelection_HSC",
    "gama": "SpecSelection_GAMA",
    "boss": "SpecSelection_BOSS",
}


def rail_selector(selection: str) -> type:
    """RAIL's degrader class for `selection`; ConfigError naming the extra if RAIL's is missing."""
    from importlib import import_module

    try:
        module = import_module(MODULE)
    except ImportError as err:
        raise ConfigError(
            f"data.labels.selection={selection} needs LSST DESC RAIL's SpecSelection degraders "
            f"(pz-rail-astro-tools: {err.name or err}); install them with {INSTALL_HINT}"
        ) from None
    import structlog  # RAIL's stages log every step to stdout: keep warnings and errors only

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return getattr(module, RAIL_CLASSES[selection])


def rail_selected(selection: str, mags: dict[str, np.ndarray], z: np.ndarray, seed: int) -> np.ndarray:
    """Whether each galaxy (AB magnitudes per band, true redshift) passes the survey's cuts and
    its success-rate draw (seeded by `seed`)."""
    import pandas as pd

    cls = rail_selector(selection)
    frame = pd.DataFrame({f"mag_{b}_lsst": np.asarray(m, float) for b, m in mags.items()})
    frame["redshift"] = np.asarray(z, float)
    colnames = {**{b: f"mag_{b}_lsst" for b in mags}, "redshift": "redshift"}
    stage = cls.make_stage(name=f"photoz_labels_{selection}_{seed}", colnames=colnames, downsample=False,
                           drop_rows=False, seed=int(seed), output_mode="return")  # fmt: skip (no file written)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # BOSS prints its name
            flag = stage(frame).data["flag"]
    except KeyError as err:  # a band the survey's cuts need
        raise ConfigError(
            f"data.labels.selection={selection} needs band {first_line(err)}, which this data set lacks "
            f"(it has {', '.join(mags)}); choose another selection"
        ) from None
    return np.asarray(flag).astype(bool)
