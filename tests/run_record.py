"""What a seeded tiny `python -m photoz.train` run records in MLflow, as comparable JSON.

    python tests/run_record.py record.json              # train RUNS on a tiny seeded set, write their records
    python tests/run_record.py new.json --compare old.json   # ... and say what differs from an earlier record

A record holds a run's name, params, tags and every metric's history (step, value), minus what
changes from run to run by nature: times and speeds (metric names with `seconds`, `_per_s`), run
ids, the git commit, source/user tags, and the temporary directory (replaced by `<tmp>`). Written to
check that a refactoring changes nothing a run logs: record before, record after, compare (exact).
Also imported by tests/test_train_e2e.py (`record_of`), which checks a run against a frozen record.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

HERE = Path(__file__).resolve().parent
SMALL_CNN = ["model=sequential", "model.depth=2", "model.width=8", "trainer.batch_size=8", "trainer.max_epochs=1"]
RUNS: dict[str, list[str]] = {  # name -> photoz.train overrides (besides data, tracking and the run dir)
    "sequential": [*SMALL_CNN, "trainer.precision=fp32", "trainer.num_threads=1"],
    "googlenet": ["model=googlenet", "model.depth=2", "model.modules=[[8,8],[8,8]]", "model.dense=[16]",
                  "trainer.batch_size=8", "trainer.max_epochs=2", "trainer.precision=fp32", "trainer.num_threads=1"],
    "random_forest": ["model=random_forest", "model.n_estimators=10", "model.n_jobs=1"],
    "knn": ["model=knn", "model.n_neighbors=5", "model.n_jobs=1"],
    "template_fit": ["model=template_fit"],
}  # fmt: skip
VOLATILE_TAGS = {"git_commit", "mlflow.user", "mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit",
                 "mlflow.source.git.branch", "mlflow.source.git.repoURL", "mlflow.runName", "config_hash",
                 "photoz.host", "photoz.pid", "photoz.last_seen"}  # fmt: skip
# mlflow.source.git.repoURL is set only where the checkout has a remote (CI's clone has one, a local worktree may not)


def _volatile_metric(name: str) -> bool:
    return "seconds" in name or "_per_s" in name


def _untemp(value: str, tmp: str) -> str:
    return value.replace(tmp, "<tmp>") if tmp else value


def record_of(client: MlflowClient, run_id: str, tmp: str = "") -> dict[str, Any]:
    """The comparable record of run `run_id`; paths under `tmp` are written `<tmp>/...`."""
    run = client.get_run(run_id)
    metrics = {
        name: [[m.step, m.value] for m in sorted(client.get_metric_history(run_id, name), key=lambda m: (m.step, m.timestamp))]
        for name in sorted(run.data.metrics)
        if not _volatile_metric(name)
    }
    return {
        "run_name": run.info.run_name,
        "status": run.info.status,
        "params": {k: _untemp(v, tmp) for k, v in sorted(run.data.params.items())},
        "tags": {k: _untemp(v, tmp) for k, v in sorted(run.data.tags.items()) if k not in VOLATILE_TAGS},
        "metrics": metrics,
    }


def train_and_record(work: Path, data_path: Path, name: str, overrides: list[str]) -> dict[str, Any]:
    """Run `python -m photoz.train` once in `work` (its own MLflow store) and return its record."""
    uri = f"sqlite:///{work / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "photoz.train", f"hydra.run.dir={work / name}", f"tracking.uri={uri}",
           f"tracking.artifact_root={work / 'artifacts'}", "trainer.progress=false", "data=directory",
           f"data.path={data_path}", f"tracking.experiment={name}", *overrides]  # fmt: skip
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{res.stderr[-3000:]}")
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    return record_of(client, run.info.run_id, str(work))


def differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Every place where `new` differs from `old` (exact, floats included)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [f"{where}/{k}: only in the old record" for k in old if k not in new]
        out += [f"{where}/{k}: only in the new record" for k in new if k not in old]
        return out + [d for k in old if k in new for d in differences(old[k], new[k], f"{where}/{k}")]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file to write the records to")
    parser.add_argument("--compare", type=Path, help="an earlier record file to compare with")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from tinydata import make_tiny_dataset

    with tempfile.TemporaryDirectory(prefix="photoz-record-") as tmp:
        work = Path(tmp)
        data = make_tiny_dataset(work / "tiny", n=64)
        records = {name: train_and_record(work, data.path, name, RUNS[name]) for name in args.runs}
    args.out.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(records)} run records to {args.out}")
    if args.compare:
        old = json.loads(args.compare.read_text())
        diff = differences({k: old[k] for k in records if k in old}, records)
        print("\n".join(diff) if diff else f"identical to {args.compare}: {', '.join(records)}")
        sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
