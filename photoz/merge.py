"""`python -m photoz.merge <output.fits>`: join the shard tables that `photoz.predict shard=i/n`
wrote (<stem>.shard-<i>-of-<n>.fits) into one table `output.fits`, in row order.

The shards' rows are copied in batches straight from their memmapped FITS tables through the
same streaming writer predict uses, so memory stays at one batch whatever the total size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.io import fits

from photoz.errors import ConfigError, exit_on_user_error
from photoz.predict import FitsTableStream
from photoz.predictions.shards import find_shards

BATCH_ROWS = 1 << 20


def merge(output: Path, batch_rows: int = BATCH_ROWS) -> int:
    """Write the complete set of shards of `output` as `output`; returns the number of rows."""
    paths = find_shards(output)
    with fits.open(paths[0]) as first:
        hdr = first["PHOTOZ"].header
        dtype = first["PHOTOZ"].data.dtype
        header = {k: hdr[k] for k in ("MODEL", "MODELURI", "DATASET", "PDF_ZMAX", "PDF_NBIN") if k in hdr}  # not SHARD
    tables = [fits.open(p, memmap=True) for p in paths]
    try:
        for path, table in zip(paths, tables):
            if table["PHOTOZ"].data.dtype != dtype or table["PHOTOZ"].header.get("MODELURI") != header.get("MODELURI"):
                raise ConfigError(f"{path}: columns or model differ from {paths[0]}; rerun every shard with one model")
        stream = FitsTableStream(output, sum(len(t["PHOTOZ"].data) for t in tables), np.dtype(dtype), header)
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
    args = parser.parse_args()
    n_rows = exit_on_user_error(merge)(args.output)
    print(f"photoz: merged {len(find_shards(args.output))} shards, {n_rows} galaxies, into {args.output}")


if __name__ == "__main__":
    main()
