"""The README's Results study with seeds, intervals, ensembles and a calibrated variant.

    python benchmarks/seeds_study.py                       # the full study on the default set (CPU-hours)
    python benchmarks/seeds_study.py -- data.n_galaxies=2000 data.stamp_size=16 trainer.max_epochs=1   # minutes
    python benchmarks/seeds_study.py --report-only         # tabulate what the store holds
    python benchmarks/seeds_study.py --cnns sequential --catalogue random_forest,knn --seeds 3

Into its own MLflow store (<workdir>/mlflow.db, experiment seeds_study) it trains, skipping any
(model, seed) that already finished there, so an interrupted study continues with the same command:
- every CNN of --cnns with --seeds seeds (sequential: --sequential-seeds), images alone and, with
  --photometry (default on), images + catalogue photometry (`model.catalog_features=[photometry]`);
- every catalogue estimator of --catalogue once (rail_* only where RAIL is installed);
- `python -m photoz.ensemble` of the sequential seeds; mixed ensembles of the best CNN run (by val
  σ_MAD) with each catalogue estimator, with FlexZBoost + random forest, and of the sequential
  seeds with FlexZBoost; the calibrated variants (`model.calibration=pit`) of the sequential
  ensemble and of sequential seed 0.
Then it writes <workdir>/results.md: `python -m photoz.compare runs=seeds` (every CNN row mean ±
std over its seeds beside its best run, every row with 95 % bootstrap intervals over the test
galaxies and its paired difference from the best row), each ensemble against its best member
(paired intervals of Δσ_MAD, ΔPIT KS, Δη; the best mixed ensemble chosen by val σ_MAD), the z*
bias in standard errors, and PIT KS / bias before and after calibration; with the CPU, load
average and wall time of every step. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "seeds_study"
CNNS, CATALOGUE = "sequential,googlenet,resnet,efficientnet", "template_fit,random_forest,knn,rail_flexzboost"
PHOTOMETRY = "model.catalog_features=[photometry]"
LOG: list[str] = []


def say(line: str) -> None:
    print(line, flush=True)
    LOG.append(line)


def call(module: str, *args: str, work: Path) -> None:
    """`python -m <module> <args>` from the repository root; stops the study if it fails."""
    cmd = [sys.executable, "-m", module, *args]
    start, load = time.perf_counter(), os.getloadavg()[0]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    say(f"- `{' '.join(['python -m', module, *(a for a in args if not a.startswith(('hydra.', 'tracking.')))])}`: "
        f"{time.perf_counter() - start:.0f} s wall (load {load:.1f} at start)")  # fmt: skip


class Study:
    """The study's store and the runs it holds."""

    def __init__(self, work: Path, overrides: list[str]) -> None:
        from mlflow.tracking import MlflowClient

        self.work, self.overrides = work, overrides
        self.uri = f"sqlite:///{work / 'mlflow.db'}"
        self.client = MlflowClient(self.uri)
        self.store = [f"tracking.uri={self.uri}", f"tracking.artifact_root={work / 'artifacts'}"]

    def runs(self) -> list:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        return [] if exp is None else self.client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'", max_results=5000)

    def rows(self) -> dict[str, list]:
        """row label -> its finished runs (photoz.estimators.logged.row_label)."""
        from photoz.estimators.logged import row_label

        out: dict[str, list] = {}
        for r in self.runs():
            out.setdefault(row_label(r.data.tags, r.data.params), []).append(r)
        return out

    def train(self, model: str, seeds: int, extra: list[str]) -> None:
        """The seeds of `model` (+ extra overrides) not yet in the store, in one Hydra multirun."""
        label = model + ("+catalog" if PHOTOMETRY in extra else "")
        done = {int(r.data.params.get("seed", -1)) for r in self.rows().get(label, [])}
        todo = [s for s in range(seeds) if s not in done]
        if todo:
            call("photoz.train", "-m", f"model={model}", f"seed={','.join(map(str, todo))}", "trainer.progress=false",
                 f"tracking.experiment={EXPERIMENT}", f"hydra.sweep.dir={self.work / 'runs' / label}", *extra,
                 *self.store, *self.overrides, work=self.work)  # fmt: skip

    def ensemble(self, runs: list, calibrated: bool = False, create: bool = True):
        """The ensemble run of `runs` (made with photoz.ensemble unless the store has it; None if
        it has not and `create` is false)."""
        ids = [r.info.run_id for r in runs]
        want = (",".join(ids), "pit" if calibrated else "none")
        made = lambda: [r for r in self.runs() if (r.data.tags.get("ensemble_runs"), r.data.params.get("model.calibration")) == want]  # noqa: E731
        if not made() and create:
            extra = ["model.calibration=pit"] if calibrated else []
            call("photoz.ensemble", f"runs=[{','.join(ids)}]", *extra, f"hydra.run.dir={self.work / 'runs' / 'ens'}",
                 *self.store, work=self.work)  # fmt: skip
        return next(iter(made()), None)


def val(run) -> float:
    return run.data.metrics.get("best_val_sigma_mad", float("inf"))


def make_ensembles(study: Study, catalogue: list[str], create: bool) -> list[tuple[str, object, list]]:
    """(what, ensemble run, members) of every ensemble the study reports (with `create`, made where
    the store lacks them)."""
    from photoz.registry import cnn_names

    rows = study.rows()
    seq = sorted(rows.get("sequential", []), key=lambda r: int(r.data.params["seed"]))
    cnn_runs = [r for label, rs in rows.items() if label.split("+")[0] in cnn_names() for r in rs]
    cat = {m: min(rows[m], key=val) for m in catalogue if m in rows}
    wanted = []
    if len(seq) >= 2:
        wanted += [("sequential seeds", seq, False), ("sequential seeds, calibrated", seq, True)]
    if seq:
        wanted.append(("sequential seed 0, calibrated", seq[:1], True))
    out = [(what, study.ensemble(m, cal, create), m) for what, m, cal in wanted]
    mixed = [[min(cnn_runs, key=val), r] for r in cat.values()] if cnn_runs else []
    if mixed and {"rail_flexzboost", "random_forest"} <= set(cat):
        mixed.append([mixed[0][0], cat["rail_flexzboost"], cat["random_forest"]])
    if "rail_flexzboost" in cat and len(seq) >= 2:
        mixed.append([*seq, cat["rail_flexzboost"]])
    made = [(e, m) for e, m in ((study.ensemble(m, create=create), m) for m in mixed) if e is not None]
    out = [o for o in out if o[1] is not None]
    if made:
        best = min(made, key=lambda e: val(e[0]))
        out.append(("best mixed (by val σ_MAD)", *best))
        out += [("mixed", e, m) for e, m in made if e is not best[0]]
    return out


def test_sample(study: Study, run, tmp: Path):
    from astropy.table import Table

    from photoz.comparison.intervals import GalaxySample

    path = study.client.download_artifacts(run.info.run_id, "predictions/test_predictions.fits", str(tmp))
    return GalaxySample.from_table(Table.read(path))


def ensemble_rows(study: Study, ensembles: list) -> list[str]:
    """Each ensemble against its best member (lowest val σ_MAD): paired 95 % intervals of the
    difference ensemble − member on the same test galaxies (negative: the ensemble is better)."""
    from photoz.comparison.intervals import row_intervals
    from photoz.estimators.logged import row_label

    lines = ["| ensemble | members | best member | Δσ_MAD [95 %] | ΔPIT KS [95 %] | Δη [95 %] | better on (interval excludes 0) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for what, ens, members in ensembles:
            best = min(members, key=val)
            stats = row_intervals({"m": test_sample(study, best, Path(tmp) / "m"),
                                   "e": test_sample(study, ens, Path(tmp) / "e")}, "m")["e"]  # fmt: skip
            cell = lambda k: (lambda d: f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]")(stats.differences[k])  # noqa: E731
            better = [k for k in ("sigma_mad", "pit_ks", "eta") if stats.differences[k].high < 0]
            lines.append(f"| {what}: {row_label(ens.data.tags, ens.data.params)} | {len(members)} | "
                         f"{row_label(best.data.tags, best.data.params)} seed {best.data.params.get('seed')} | "
                         f"{cell('sigma_mad')} | {cell('pit_ks')} | {cell('eta')} | {', '.join(better) or 'none'} |")  # fmt: skip
    return lines


def bias_rows(study: Study) -> list[str]:
    """z* bias ± its standard error and |bias|/SE of every run (the bar: < 2 with SE ≤ 0.001)."""
    lines = ["| row | seed | z* bias ± SE | abs(bias)/SE | PIT KS | before calibration: PIT KS, bias |", "|---|---|---|---|---|---|"]
    for label, runs in sorted(study.rows().items()):
        for r in sorted(runs, key=lambda r: r.data.params.get("seed", "")):
            m = r.data.metrics
            b, se = m.get("test_bias_of_zstar", float("nan")), m.get("test_bias_err_of_zstar", float("nan"))
            before = (f"{m['test_pit_ks_uncalibrated']:.3f}, {m['test_bias_uncalibrated']:+.4f}"
                      if "test_pit_ks_uncalibrated" in m else "")  # fmt: skip
            seed = "" if "ensemble_members" in r.data.tags else r.data.params.get("seed", "")  # an ensemble's is its members'
            lines.append(f"| {label} | {seed} | {b:+.4f} ± {se:.4f} | {abs(b) / se:.1f} | "
                         f"{m.get('test_pit_ks', float('nan')):.3f} | {before} |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cnns", default=CNNS)
    parser.add_argument("--catalogue", default=CATALOGUE)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of every CNN but sequential")
    parser.add_argument("--sequential-seeds", type=int, default=5)
    parser.add_argument("--photometry", action=argparse.BooleanOptionalAction, default=True, help="+ photometry CNN rows")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "seeds_study"))
    parser.add_argument("--report-only", action="store_true", help="train and ensemble nothing")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every photoz.train run (after --)")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    study, start = Study(work, args.overrides), time.perf_counter()
    say(f"{_cpu()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start; overrides {args.overrides}")
    catalogue = [m for m in args.catalogue.split(",") if not m.startswith("rail_") or _has_rail()]
    if not args.report_only:
        for model in args.cnns.split(","):
            seeds = args.sequential_seeds if model == "sequential" else args.seeds
            for extra in ([[], [PHOTOMETRY]] if args.photometry else [[]]):
                study.train(model, seeds, extra)
        for model in catalogue:
            study.train(model, 1, [])
    ensembles = make_ensembles(study, catalogue, create=not args.report_only)
    call("photoz.compare", "runs=seeds", f"tracking.experiment={EXPERIMENT}", f"output={work / 'compare'}", "log_run=false",
         f"hydra.run.dir={work / 'runs' / 'compare'}", *study.store, work=work)  # fmt: skip
    text = [*LOG, "", "## photoz.compare runs=seeds (test split)", "", (work / "compare" / "comparison.md").read_text(),
            "## Ensembles against their best member (paired, test split)", "", *ensemble_rows(study, ensembles), "",
            "## z* bias in standard errors, PIT KS, and before calibration (test split)", "", *bias_rows(study), "",
            f"total {time.perf_counter() - start:.0f} s wall; load average {os.getloadavg()[0]:.1f} at the end"]  # fmt: skip
    (work / "results.md").write_text("\n".join(text) + "\n")
    print("\n".join(text[len(LOG):]))
    print(f"written to {work / 'results.md'}")


def _cpu() -> str:
    try:
        return next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def _has_rail() -> bool:
    try:
        import rail.estimation  # noqa: F401
    except ImportError:
        say("RAIL is not installed: the rail_* rows and the FlexZBoost ensembles are left out (pip install -e '.[rail]')")
        return False
    return True


if __name__ == "__main__":
    main()
