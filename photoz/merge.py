"""`python -m photoz.merge <output.fits>`: join the shard tables that `photoz.predict shard=i/n`
wrote (<stem>.shard-<i>-of-<n>.fits) into one table `output.fits`, in row order.

Every shard must be one part of one prediction: the same model (header MODELURI), the same data
set (DATASUM, its content checksum, and NGAL, its size), the same columns, and the rows its name
says (SHARD i/n, first row ROW0 right after the shard before it); anything else is refused in one
line naming the shard, before anything is written. The output replaces only a file photoz wrote
(or any file with --overwrite).

The shards' rows are copied in batches straight from their memmapped FITS tables through the
same streaming writer predict uses, so memory stays at one batch whatever the total size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.io import fits

from photoz.errors import ConfigError, exit_on_user_error, first_line
from photoz.predict import FitsTableStream
from photoz.predictions.output import check_output
from photoz.predictions.shards import find_shards

BATCH_ROWS = 1 << 20
SAME = {"MODELURI": "model", "DATASUM": "data set (content checksum)", "NGAL": "data set size"}
KEPT = ("MODEL", "MODELURI", "DATASET", "DATASUM", "NGAL", "PDF_ZMAX", "PDF_NBIN")  # not SHARD, ROW0


def _open(path: Path) -> fits.HDUList:
    """The shard's FITS file, memmapped; ConfigError naming it if it is not a photoz table."""
    try:
        hdul = fits.open(path, memmap=True)
        table = hdul["PHOTOZ"]
        table.data  # noqa: B018 (reads the table's layout: a truncated file fails here)
    except Exception as err:  # astropy raises OSError, KeyError, ValueError, ... for a bad file
        raise ConfigError(f"{path} is not a photoz prediction table ({first_line(err)}); rerun that shard") from None
    return hdul


def _check(paths: list[Path], tables: list[fits.HDUList]) -> None:
    """ConfigError at the first shard that is not the next part of the first shard's prediction."""
    first = tables[0]["PHOTOZ"]
    row0 = 0
    for index, (path, table) in enumerate(zip(paths, tables)):
        hdr, data = table["PHOTOZ"].header, table["PHOTOZ"].data
        for key, what in SAME.items():
            if hdr.get(key) != first.header.get(key):
                raise ConfigError(
                    f"{path}: another {what} ({key} {hdr.get(key)!r}, data {hdr.get('DATASET')!r}) than {paths[0]} "
                    f"({first.header.get(key)!r}, data {first.header.get('DATASET')!r}); rerun every shard with one model and one data set"
                )
        if data.dtype != first.data.dtype:
            raise ConfigError(f"{path}: other columns than {paths[0]}; rerun every shard with the same pdf= setting")
        expected = f"{index}/{len(paths)}"
        if hdr.get("SHARD") != expected or hdr.get("ROW0") != row0:
            raise ConfigError(
                f"{path}: holds shard {hdr.get('SHARD')} from row {hdr.get('ROW0')}, not shard {expected} from row "
                f"{row0} as its name says; rerun it with shard={expected}"
            )
        row0 += len(data)
    if first.header.get("NGAL") is not None and row0 != first.header["NGAL"]:
        raise ConfigError(f"{paths[0]}: the shards hold {row0} rows, the data set {first.header['NGAL']}; rerun every shard")


def merge(output: Path, batch_rows: int = BATCH_ROWS, overwrite: bool = False) -> int:
    """Write the complete set of shards of `output` as `output`; returns the number of rows."""
    paths = find_shards(output)
    check_output(output, overwrite, flag="--overwrite")
    tables: list[fits.HDUList] = []
    try:
        for path in paths:
            tables.append(_open(path))
        _check(paths, tables)
        first = tables[0]["PHOTOZ"]
        header = {key: first.header[key] for key in KEPT if key in first.header}
        dtype = np.dtype(first.data.dtype)
        stream = FitsTableStream(output, sum(len(t["PHOTOZ"].data) for t in tables), dtype, header)
        try:
            for table in tables:
                data = table["PHOTOZ"].data
                for start in range(0, len(data), batch_rows):
                    stream.write(np.asarray(data[start : start + batch_rows]))
            stream.close()
        except BaseException:
            stream.abort()
            raise
        return stream.n_rows
    finally:
        for table in tables:
            table.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="the output= given to the shards (e.g. zphot.fits)")
    parser.add_argument("--overwrite", action="store_true", help="replace output even if photoz did not write it")
    args = parser.parse_args()
    n_rows = exit_on_user_error(merge)(args.output, overwrite=args.overwrite)
    print(f"photoz: merged {len(find_shards(args.output))} shards, {n_rows} galaxies, into {args.output}")


if __name__ == "__main__":
    main()
