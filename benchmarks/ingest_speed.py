"""Import speed and memory of the three importers on synthetic inputs (not a test).

    python benchmarks/ingest_speed.py --n 20000 --size 32 --cutouts 2000

Writes a FITS cube (N×6×S×S), an NHWC .npy (Pasquet's layout) and --cutouts per-galaxy FITS files
into a temp dir, imports each in a fresh process (photoz.data.ingest.ingest, the CLI's code minus
Hydra's ~1 s start-up) and prints galaxies/s, MB/s and peak memory, which should stay flat in N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from tqdm import tqdm

BANDS = list("ugrizy")


def make_inputs(root: Path, n: int, size: int, n_cut: int) -> None:
    """Cube, npz and cutouts written in chunks so the benchmark itself stays small in memory."""
    rng = np.random.default_rng(0)
    Table({"id": np.arange(n), "redshift": rng.uniform(0, 3, n)}).write(root / "cat.fits")
    Table({"id": np.arange(n_cut), "redshift": rng.uniform(0, 3, n_cut)}).write(root / "cut.fits")
    header = fits.Header({"SIMPLE": True, "BITPIX": -32, "NAXIS": 4, "NAXIS1": size, "NAXIS2": size,
                          "NAXIS3": len(BANDS), "NAXIS4": n})
    header.tofile(root / "cube.fits")
    npy = np.lib.format.open_memmap(root / "images.npy", "w+", np.float32, (n, size, size, len(BANDS)))
    with open(root / "cube.fits", "ab") as cube:
        for start in tqdm(range(0, n, 1000), desc="inputs"):
            chunk = rng.normal(0, 1, (min(1000, n - start), len(BANDS), size, size)).astype(np.float32)
            cube.write(chunk.astype(">f4").tobytes())
            npy[start : start + len(chunk)] = chunk.transpose(0, 2, 3, 1)
        cube.write(b"\0" * (-cube.tell() % 2880))
    npy.flush()
    (root / "cut").mkdir()
    for i in range(n_cut):
        planes = npy[i].transpose(2, 0, 1)
        hdus = [fits.ImageHDU(p, header=fits.Header([("FILTER", b)])) for p, b in zip(planes, BANDS)]
        fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(root / "cut" / f"{i}.fits")


def child(args: list[str]) -> None:
    """Run one import in this (fresh) process; print its seconds and peak anonymous / file-backed
    resident memory. File-backed pages are the memmapped input and output: the kernel drops them
    under pressure, so the anonymous peak is what must stay flat in N."""
    from omegaconf import OmegaConf

    from photoz.data.ingest import ingest

    peak = {"RssAnon": 0, "RssFile": 0}

    def probe() -> None:
        while True:
            for line in Path("/proc/self/status").read_text().splitlines():
                key, value = line.split(":", 1)
                if key in peak:
                    peak[key] = max(peak[key], int(value.split()[0]) // 1024)
            time.sleep(0.02)

    threading.Thread(target=probe, daemon=True).start()
    t0 = time.perf_counter()
    ingest(OmegaConf.from_dotlist(args))
    seconds = time.perf_counter() - t0
    time.sleep(0.05)
    print(json.dumps({"seconds": seconds, **peak}))


def timed_import(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--cutouts", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        make_inputs(root, a.n, a.size, a.cutouts)
        mb = a.n * len(BANDS) * a.size**2 * 4 / 1e6
        common = ["bands=[u,g,r,i,z,y]", f"fits_cutouts.workers={a.workers}"]
        runs = {
            "fits_cube": (a.n, ["format=fits_cube", f"images={root}/cube.fits", f"catalog={root}/cat.fits"]),
            "numpy": (a.n, ["format=numpy", f"images={root}/images.npy", f"catalog={root}/cat.fits"]),
            "fits_cutouts": (
                a.cutouts, ["format=fits_cutouts", f"images={root}/cut/{{id}}.fits", f"catalog={root}/cut.fits"]
            ),
        }
        print(f"{a.n} galaxies of 6x{a.size}x{a.size} ({mb:.0f} MB), {a.cutouts} cutout files, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, workers={a.workers}")
        for name, (n, args) in runs.items():
            if n == 0:
                continue
            r = timed_import([*args, *common, f"output={root / name}"])
            print(f"{name:13s} {n:7d} galaxies {r['seconds']:6.1f} s {n / r['seconds']:7.0f} galaxies/s "
                  f"{n / a.n * mb / r['seconds']:5.0f} MB/s  peak memory: anonymous {r['RssAnon']:4d} MB, "
                  f"memmapped files {r['RssFile']:4d} MB")


if __name__ == "__main__":
    main()
