"""The averaging baseline of the few-label study: at each budget where a study has FlexZBoost and
the supervised CNN on the same labels, the average of their PDFs (python -m photoz.ensemble, one
MLflow run per budget, recorded in runs.json as average|<selection>|<n>), paired on the same test
galaxies with FlexZBoost and with the teacher CNN (seed 0) at its logged and at its last epoch.

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
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def average_run(work: Path, index: dict, selection: str, n: str) -> str:
    """The average's run id: from runs.json, else made now by python -m photoz.ensemble and recorded."""
    key = f"average|{selection}|{n}"
    if key not in index:
        members = ",".join(index[f"{est}|{selection}|{n}"] for est in ("flexzboost", "cnn"))
        proc = subprocess.run([sys.executable, "-m", "photoz.ensemble", f"runs=[{members}]", "model.trust_pickles=true",
                               f"tracking.uri=sqlite:///{work / 'mlflow.db'}", f"hydra.run.dir={work / 'hydra' / key.replace('|', '-')}"],
                              capture_output=True, text=True)  # fmt: skip
        made = re.findall(r"finished run .* \(([0-9a-f]{32})\)", proc.stdout)
        if proc.returncode or not made:
            raise SystemExit(f"labels_average: photoz.ensemble failed for {key}: {(proc.stderr.strip() or 'no run').splitlines()[-1]}")
        index[key] = made[-1]
        (work / "runs.json").write_text(json.dumps(index, indent=1))
    return index[key]


def report(client, index: dict, work: Path, selection: str, n: str) -> str:
    from labels_kept import _difference, kept_sample
    from labels_report import test_predictions

    from photoz.comparison.intervals import GalaxySample
    from photoz.data import read_dataset

    def logged(run_id: str) -> GalaxySample:
        with tempfile.TemporaryDirectory() as tmp:
            return GalaxySample.from_table(test_predictions(client, client.get_run(run_id), Path(tmp)))

    s = {"average": logged(average_run(work, index, selection, n)), "flexzboost": logged(index[f"flexzboost|{selection}|{n}"])}
    line = f"{selection} {n}: average {s['average'].value('sigma_mad'):.4f}, − FlexZBoost {_difference(s, 'flexzboost', 'average')}"
    teacher = index.get(f"teacher_cnn|{selection}|{n}")
    if teacher:
        run = client.get_run(teacher)
        s["logged"], s["last"] = logged(teacher), kept_sample(client, run, "last", read_dataset(run.data.tags["data"]))
        line += f"; teacher CNN − average: logged {_difference(s, 'average', 'logged')}, last {_difference(s, 'average', 'last')}"
    return line


def main() -> None:
    import mlflow

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--n", default="", help="only these label budgets (comma-separated); default every one")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    if not (work / "runs.json").is_file():
        raise SystemExit(f"labels_average: no runs.json in {work}: give the --workdir of a benchmarks/labels_study.py study")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")  # where CNNEstimator.load finds the runs' models
    index = json.loads((work / "runs.json").read_text())
    budgets = sorted({tuple(k.split("|")[1:3]) for k in index if k.startswith("cnn|") and f"flexzboost|{k.split('|', 1)[1]}" in index},
                     key=lambda b: (b[0], int(b[1]) if b[1].isdigit() else 0))  # fmt: skip
    for selection, n in budgets:
        if not args.n or n in args.n.split(","):
            print(report(mlflow.MlflowClient(), index, work, selection, n), flush=True)


if __name__ == "__main__":
    main()
