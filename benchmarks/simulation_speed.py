"""Galaxies simulated per second (32×32×6 stamps by default) and peak memory, on this machine.

    python benchmarks/simulation_speed.py                     # 10,000 galaxies, 2 workers
    python benchmarks/simulation_speed.py --n 50000 --workers 2
    python benchmarks/simulation_speed.py --n 2000 --profile  # one process, per-stage ms/galaxy
    python benchmarks/simulation_speed.py --n 5000 --workers 1 --sed-model cosmos  # simulator v6 (the default is v8)

Prints wall-clock throughput of the whole build (truth, rendering, writing, validation) and the
machine's load average, since other processes on the same cores slow it down.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from photoz.data.schema import LsstSimData
from photoz.data.simulate import build
from photoz.data.simulate.render import shape_array

TARGET = 500.0  # galaxies/s for 32×32×6 on 2 cores (issue 2)


def stages(cfg) -> None:
    """Per-stage cost in one process: noiseless rendering (with the per-galaxy PSF), noise, photometry."""
    bands = list(cfg.bands)
    truth, bulge, disk = build.make_truth(cfg, bands)
    psf, _ = build.observing_conditions(cfg, bands, truth, bulge, disk)
    shapes = shape_array(truth)
    build._init_worker(bands, cfg.stamp_size, cfg.depth, cfg.aperture_radius)
    r, rng, t = build._RENDERER, np.random.default_rng(0), {"noiseless": 0.0, "noise": 0.0, "photometry": 0.0}
    for s in range(0, len(truth), 256):
        t0 = time.process_time()
        model = r.noiseless(shapes[s : s + 256], bulge[s : s + 256], disk[s : s + 256], psf[s : s + 256] if cfg.psf_scatter > 0 else None)
        t1 = time.process_time()
        images, var = r.observe(model, rng)
        t2 = time.process_time()
        r.photometry(images, var)
        t3 = time.process_time()
        t["noiseless"], t["noise"], t["photometry"] = t["noiseless"] + t1 - t0, t["noise"] + t2 - t1, t["photometry"] + t3 - t2
    print("CPU ms per galaxy: " + ", ".join(f"{k} {1e3 * v / len(truth):.3f}" for k, v in t.items()))


class AnonPeak(threading.Thread):
    """Peak anonymous (non-file-backed) resident memory of this process, sampled every 0.1 s:
    the memmapped images.npy pages also count in RSS but are page cache the kernel can drop."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb, self.running = 0, True

    def run(self) -> None:
        while self.running:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            time.sleep(0.1)


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the worker pool)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--stamp-size", type=int, default=32)
    ap.add_argument("--sed-model", default="empirical", help="data.sed_model (empirical, the default, or e.g. cosmos)")
    ap.add_argument("--profile", action="store_true", help="per-stage CPU time in one process instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = OmegaConf.merge(
            OmegaConf.structured(LsstSimData),
            {"root": tmp, "n_galaxies": args.n, "workers": args.workers, "stamp_size": args.stamp_size, "sed_model": args.sed_model},
        )
        if args.profile:
            return stages(cfg)
        load = os.getloadavg()[0]
        cpu0, anon = _cpu_seconds(), AnonPeak()
        anon.start()
        start = time.perf_counter()
        ds = build.simulate(cfg, build.output_path(cfg))
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu0
        anon.running = False
        size_gb = sum(f.stat().st_size for f in Path(ds.path).iterdir()) / 1e9
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    rate = args.n / wall
    print(
        f"{args.n} galaxies, {args.stamp_size}x{args.stamp_size}x6, {args.workers} workers on {os.cpu_count()} cores: "
        f"{wall:.1f} s, {rate:.0f} galaxies/s (target {TARGET:.0f}: {'met' if rate >= TARGET else 'NOT met'}); "
        f"{size_gb:.2f} GB on disk; main process peak RSS {peak_mb:.0f} MB, of it anonymous {anon.peak_kb / 1e3:.0f} MB; load average at start {load:.1f}"
    )
    print(
        f"CPU time (main + workers) {1e3 * cpu / args.n:.2f} ms per galaxy: on {args.workers} otherwise idle cores "
        f"that is at most {args.workers * args.n / cpu:.0f} galaxies/s"
    )


if __name__ == "__main__":
    main()
