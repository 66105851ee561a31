"""Inference at scale: galaxies/s per process of `python -m photoz.predict` with 1 and 2 processes
(shard=i/n, one torch thread each), its peak anonymous memory at N/4 and N rows, and the
core-hours 2x10^10 galaxies (LSST's) would take for every CNN family, fp32 and int8 (not a test).

    python benchmarks/predict_scale.py                       # N = 40000 stamps of 6x32x32
    python benchmarks/predict_scale.py --n 100000 --models googlenet --precisions fp32

Core-hours are arithmetic on the rate of one process pinned to one core (its network, reading and
summarising threads all on it: galaxies per core-second of the prediction loop; start-up and the
survey's own I/O excluded), not a run at that scale. The memory and two-process lines are not pinned.

Trains the model for one epoch on 512 synthetic stamps into a temp MLflow store (the weights do
not change the speed), writes N synthetic stamps (Gaussian blobs plus noise) as a data set, then
runs the real command. The rate is what photoz.predict prints (its prediction loop, start-up
excluded). File-backed pages (the memmapped input) are reported apart: the kernel drops them
under pressure, so the anonymous peak is what must stay flat in N.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from photoz.data.format import DatasetWriter

BANDS = list("ugrizy")


def make_data(path: Path, n: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    z = rng.uniform(0.05, 2.0, n)
    split = np.select([np.arange(n) < 0.6 * n, np.arange(n) < 0.8 * n], ["train", "val"], "test").astype("U5")
    flux = np.empty((n, len(BANDS)))
    with DatasetWriter(path, n, BANDS, (size, size)) as w:
        for s in range(0, n, 2000):
            e = min(s + 2000, n)
            profile = np.exp(-(xx**2 + yy**2)[None] / (2 * (1 + 2 / (1 + z[s:e, None, None])) ** 2))
            amp = 100 * np.exp(np.outer(z[s:e] - 0.7, np.linspace(-1, 1, 6)))
            w.images[s:e] = amp[:, :, None, None] * profile[:, None] + rng.normal(0, 1, (e - s, 6, size, size))
            flux[s:e] = w.images[s:e].sum(axis=(2, 3))
        catalog = Table({"id": np.arange(1, n + 1), "redshift": z, "split": split})
        for i, band in enumerate(BANDS):
            catalog[f"flux_{band}"], catalog[f"flux_err_{band}"] = flux[:, i], np.full(n, float(size))
        w.finish(catalog, {"bands": BANDS, "pixel_scale": 0.2, "generator": {"name": "benchmarks.predict_scale"}})


def peak_anon_mb(pid: int, stop: threading.Event, out: dict[str, int]) -> None:
    """Poll /proc/<pid>/status for the peak RssAnon and RssFile (MB) until `stop`."""
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile"):
                    out[key] = max(out.get(key, 0), int(value.split()[0]) // 1024)
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.02)


def run_predict(args: list[str], core: int | None = None) -> list[tuple[float, dict[str, int]]]:
    """Run the given photoz.predict commands at once (each pinned to CPU `core` if given: its
    reading and summarising threads then share that core with the network); (galaxies/s, peak
    memory) of each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pin = None if core is None else (lambda: os.sched_setaffinity(0, {core}))
    procs, probes = [], []
    for extra in args:
        cmd = [sys.executable, "-m", "photoz.predict", *extra]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=pin))
        probes.append(({}, threading.Event()))
        threading.Thread(target=peak_anon_mb, args=(procs[-1].pid, probes[-1][1], probes[-1][0]), daemon=True).start()
    results = []
    for proc, (peak, stop) in zip(procs, probes):
        out, err = proc.communicate()
        stop.set()
        if proc.returncode != 0:
            raise SystemExit(err[-3000:])
        results.append((float(re.search(r"\(([\d.]+) galaxies/s", out)[1]), peak))
    return results


LSST_GALAXIES = 2e10


def train(root: Path, model: str, uri: str) -> str:
    """A one-epoch run of `model` on the 512-stamp train set in the store at `uri`; its run id."""
    subprocess.run([
        sys.executable, "-m", "photoz.train", f"model={model}", "data=directory", f"data.path={root / 'train'}",
        "trainer.max_epochs=1", "trainer.progress=false", f"tracking.uri={uri}", f"tracking.experiment=bench-{model}",
        f"tracking.artifact_root={root / 'artifacts'}", f"hydra.run.dir={root / 'train_run' / model}",
    ], check=True, capture_output=True)  # fmt: skip
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(f"bench-{model}").experiment_id])
    return run.info.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=["sequential", "googlenet", "resnet", "efficientnet"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    parser.add_argument("--batch-size", type=int, default=4096)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        make_data(root / "train", 512, a.size, 0)
        make_data(root / "big", a.n, a.size, 1)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        print(f"{a.n} galaxies of 6x{a.size}x{a.size}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
              "one torch thread per process")
        for number, model in enumerate(a.models):
            common = [f"run={train(root, model, uri)}", f"input={root / 'big'}", f"tracking.uri={uri}",
                      f"batch_size={a.batch_size}", "hydra.output_subdir=null", f"hydra.run.dir={root / 'p'}"]  # fmt: skip
            for precision in a.precisions:
                core = sorted(os.sched_getaffinity(0))[-1]  # one core: the rate is per core
                rate = run_predict([[*common, f"output={root / 'one.fits'}", f"precision={precision}"]], core)[0][0]
                print(f"{model:12s} {precision}: {rate:6.0f} galaxies per core-second -> "
                      f"{LSST_GALAXIES / rate / 3600:8,.0f} core-hours for 2e10 galaxies")
            if number == 0:  # memory flat in N, and two processes: for the first model in fp32
                memory(a.n, root, common)
        print(f"load after: {os.getloadavg()[0]:.1f}")


def memory(n: int, root: Path, common: list[str]) -> None:
    """Rates and peak memory of one process on N/4 and N rows, and of two on N/2 each."""
    quarter = run_predict([[*common, f"output={root / 'q.fits'}", "shard=0/4"]])
    one = run_predict([[*common, f"output={root / 'one.fits'}"]])
    two = run_predict([[*common, f"output={root / 'two.fits'}", f"shard={i}/2"] for i in range(2)])
    for label, rows, res in (("1 process, N/4 rows", n // 4, quarter), ("1 process, N rows", n, one),
                             ("2 processes, N/2 rows each", n // 2, two)):  # fmt: skip
        rates = " + ".join(f"{r:.0f}" for r, _ in res)
        mem = ", ".join(f"anon {p.get('RssAnon', 0)} MB / file {p.get('RssFile', 0)} MB" for _, p in res)
        print(f"  {label:28s} {rows:7d} rows/process  galaxies/s {rates} = {sum(r for r, _ in res):.0f}  peak {mem}")


if __name__ == "__main__":
    main()
