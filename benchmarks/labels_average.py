"""The averaging baseline of the few-label study: at each budget where a study has FlexZBoost and
the supervised CNN on the same labels, the equal-weight average of their PDFs (python -m
photoz.ensemble, one MLflow run per budget, recorded in <workdir>/averages.json, not in runs.json,
so the study's own report is unchanged), paired on the same test galaxies with FlexZBoost and with
every teacher CNN run (each seed) at its best-val and at its last epoch.

    python benchmarks/labels_average.py --workdir benchmarks/out/labels_v9
    python benchmarks/labels_average.py --workdir W --n 500,1000

If the teacher CNN gained only what combining a catalogue code with a CNN gives, it would not beat
this average. FlexZBoost's model is a RAIL pickle, so the ensemble is made with
model.trust_pickles=true: run it only on a study you made. Intervals: photoz.comparison.intervals,
as labels_kept.py and photoz.compare compute them.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path


def average_run(work: Path, index: dict, selection: str, n: str) -> str:
    """The average's run id: from averages.json, else made now by python -m photoz.ensemble and recorded."""
    from labels_study import ROOT, record

    key, averages = f"average|{selection}|{n}", work / "averages.json"
    known = json.loads(averages.read_text()) if averages.is_file() else {}
    if key in known:
        return known[key]
    members = ",".join(index[f"{est}|{selection}|{n}"] for est in ("flexzboost", "cnn"))
    cmd = [sys.executable, "-m", "photoz.ensemble", f"runs=[{members}]", "model.trust_pickles=true",
           f"tracking.uri=sqlite:///{work / 'mlflow.db'}", f"hydra.run.dir={work / 'runs' / key.replace('|', '-')}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    made = re.findall(r"finished run .* \(([0-9a-f]{32})\)", proc.stdout)
    if proc.returncode or not made:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise SystemExit(f"labels_average: {' '.join(cmd)} made no run (exit {proc.returncode}): {tail}")
    record(averages, key, made[-1])
    return made[-1]


def report(client, index: dict, work: Path, selection: str, n: str) -> list[str]:
    """The average against FlexZBoost, then each teacher CNN run's best and last epochs against the average."""
    from labels_kept import kept_sample, logged_sample, paired_difference

    from photoz.data import read_dataset
    from photoz.errors import PhotozError

    s = {"average": logged_sample(client, average_run(work, index, selection, n)),
         "flexzboost": logged_sample(client, index[f"flexzboost|{selection}|{n}"])}  # fmt: skip
    lines = [f"{selection} {n}: average {s['average'].value('sigma_mad'):.4f}, − FlexZBoost {paired_difference(s, 'flexzboost', 'average')}"]
    for key in sorted(k for k in index if k.split("|")[:3] == ["teacher_cnn", selection, n]):
        run = client.get_run(index[key])
        try:
            data = read_dataset(run.data.tags["data"])
            s.update({which: kept_sample(client, run, which, data) for which in ("best", "last")})
        except (PhotozError, FileNotFoundError) as err:
            lines.append(f"  {key}: {err}; skipped")
            continue
        lines.append(f"  {key} − average: best-val epoch {paired_difference(s, 'average', 'best')}, "
                     f"last epoch {paired_difference(s, 'average', 'last')}")  # fmt: skip
    return lines


def main() -> None:
    import mlflow

    from labels_kept import open_study

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--n", default="", help="only these label budgets (comma-separated); default every one")
    args = parser.parse_args()
    work, index = open_study(args.workdir, "labels_average")
    budgets = [k.split("|")[1:] for k in index if k.startswith("cnn|") and f"flexzboost|{k.split('|', 1)[1]}" in index]
    budgets = [b for b in budgets if not args.n or b[1] in args.n.split(",")]
    if not budgets:
        raise SystemExit(f"labels_average: no budget{' of --n ' + args.n if args.n else ''} in {work} has both "
                         "flexzboost and cnn: run labels_study.py --estimators flexzboost,cnn first")  # fmt: skip
    client = mlflow.MlflowClient()
    for selection, n in sorted(budgets, key=lambda b: (b[0], int(b[1]) if b[1].isdigit() else 0)):
        print("\n".join(report(client, index, work, selection, n)), flush=True)


if __name__ == "__main__":
    main()
