"""A data set's own filter curves: `<data set>/filters/<band>.dat`, one per band, each recorded in
meta.json (`filter_curves`: band -> sha256 of the file) and counted in the content checksum.

photoz.ingest reads them from the folder `filter_curves=` names (`read_curve_folder`), the writer
copies them in (`write_curves`), and every reader gets them back checked against meta.json
(`dataset_curves`). The file format and its checks are photoz.physics.curves'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photoz.data.target import FILTERS_DIR
from photoz.errors import DataError
from photoz.physics.curves import MAX_BYTES, FORMAT_HINT, Curve, parse_curve


def read_curve_file(path: Path) -> Curve:
    """The checked Curve in the file at `path`; DataError (one line naming it) if it is not one."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"{path}: larger than {MAX_BYTES} bytes; resample the curve more coarsely")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file; {FORMAT_HINT}") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); {FORMAT_HINT}") from None
    return parse_curve(text, str(path))


def read_curve_folder(folder: str | Path, bands: list[str]) -> dict[str, Curve]:
    """photoz.ingest `filter_curves=`: the checked curve `<band>.dat` of every band, in band order."""
    folder = Path(folder)
    files = ", ".join(f"{b}.dat" for b in bands)
    if not folder.is_dir():
        raise DataError(f"filter_curves={folder}: no such folder; give a folder holding one file per band ({files})")
    for band in bands:
        if not (folder / f"{band}.dat").is_file():
            raise DataError(f"{folder / f'{band}.dat'}: no such file; filter_curves= needs one curve per band ({files})")
    return {band: read_curve_file(folder / f"{band}.dat") for band in bands}


def write_curves(dataset: Path, curves: dict[str, Curve]) -> dict[str, str]:
    """Write each band's curve, byte for byte, into `dataset`/filters; meta.json's `filter_curves`."""
    (dataset / FILTERS_DIR).mkdir()
    for band, curve in curves.items():
        (dataset / FILTERS_DIR / f"{band}.dat").write_bytes(curve.text.encode("utf-8"))
    return {band: curve.sha256 for band, curve in curves.items()}


def dataset_curves(path: Path, meta: dict[str, Any]) -> dict[str, Curve] | None:
    """The data set's own curves by band, each checked against the sha256 meta.json records;
    None if it has none (its filters are then only named: meta.json `filters`)."""
    recorded = meta.get("filter_curves")
    if recorded is None:
        return None
    if not isinstance(recorded, dict) or sorted(recorded) != sorted(meta["bands"]):
        raise DataError(f"{path / 'meta.json'}: 'filter_curves' must map every band to its curve's sha256; re-import the data set")
    curves = {}
    for band in meta["bands"]:
        file = path / FILTERS_DIR / f"{band}.dat"
        if not file.is_file():
            raise DataError(f"{file} is missing; the data set is incomplete, re-import it")
        curves[band] = read_curve_file(file)
        if curves[band].sha256 != recorded[band]:
            raise DataError(f"{file} is not the curve {path / 'meta.json'} records (sha256); the file was changed, re-import the data set")
    return curves
