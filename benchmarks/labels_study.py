"""Study: accuracy against the number of labelled galaxies, under random and spectroscopic selection.

    python benchmarks/labels_study.py                 # the full study on the default set (CPU-hours: see docs/labels.md)
    python benchmarks/labels_study.py --dry-run       # print the commands it would run
    python benchmarks/labels_study.py --report-only   # rebuild the table and figure from the runs made so far
    python benchmarks/labels_study.py --report-only --workdir A --merge B   # one report of two study workdirs
    python benchmarks/labels_study.py --selections vvds --estimators dimmed_cnn --seeds 0,1   # each CNN with two network seeds
    python benchmarks/labels_study.py --n 100,200 --workdir /tmp/ls --data "data.n_galaxies=2000 data.stamp_size=16" \\
        --train "trainer.max_epochs=1 trainer.batch_size=32" --pretrain "trainer.max_epochs=1 trainer.batch_size=64"

It pretrains one encoder (python -m photoz.pretrain on every train image: pretraining reads no
redshift, so one encoder serves every budget), then for each selection (--selections: random and
one survey's spectroscopic selection, docs/labels.md) and each budget n (--n) trains each
estimator (--estimators: the supervised CNN, the CNN fine-tuned from the encoder, FlexZBoost, a
random forest) with `data.labels.n=n data.labels.selection=<s>` (the CNNs with trainer.max_epochs set so that
every budget takes about --cnn-steps optimizer steps: a small budget is not also a short
training): one python -m photoz.train process each, into one MLflow store under --workdir, recorded in <workdir>/runs.json (a study
that stops continues where it stopped; once the pretraining is done, more study processes with other
--selections, --n or --estimators can run in the same workdir at once). A selection that accepts fewer train galaxies than n
trains once at n=null (every galaxy it accepts) instead. The report, <workdir>/labels_study.md
and .csv and sigma_vs_labels.png: per run σ_MAD (± bootstrap standard error over test galaxies),
η, bias ± standard error, and σ_MAD / bias per true i-magnitude bin of the test split; the
figure shows σ_MAD against labels, one line per estimator, one panel per selection.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
ESTIMATORS = {  # name -> photoz.train overrides ({init}: the pretraining run id)
    "cnn": ["model=sequential"],
    "pretrained_cnn": ["model=sequential", "model.init={init}"],
    "pretrained_cnn_frozen": ["model=sequential", "model.init={init}", "model.freeze_encoder=true"],
    "semi_cnn": ["model=sequential", "model.semi_supervised=consistency"],
    "pretrained_semi_cnn": ["model=sequential", "model.init={init}", "model.semi_supervised=consistency"],
    # consistency with FlexZBoost's PDF of each unlabelled galaxy as the target (fitted on the same labels)
    "teacher_cnn": ["model=sequential", "model.semi_supervised=consistency", "model.consistency.target=rail_flexzboost"],
    "dimmed_cnn": ["model=sequential", "model.dimming=2.5"],  # labelled images also seen up to 2.5 mag fainter
    "pretrained_dimmed_cnn": ["model=sequential", "model.init={init}", "model.dimming=2.5"],
    "semi_dimmed_cnn": ["model=sequential", "model.semi_supervised=consistency", "model.dimming=2.5"],
    "sample_dimmed_cnn": ["model=sequential", "model.dimming=10", "model.dimming_to=sample"],  # as faint as the survey's galaxies
    "pretrained_sample_dimmed_cnn": ["model=sequential", "model.init={init}", "model.dimming=10", "model.dimming_to=sample"],
    "flexzboost": ["model=rail_flexzboost"],
    "random_forest": ["model=random_forest"],
}
CNNS = tuple(est for est, overrides in ESTIMATORS.items() if "model=sequential" in overrides)
SEMI = tuple(est for est in CNNS if "model.semi_supervised=consistency" in ESTIMATORS[est])  # skipped where every galaxy is labelled


def photoz(entry: str, args: argparse.Namespace, overrides: list[str], name: str) -> bool:
    """One photoz process into the study's store; prints the command and the load; whether it succeeded."""
    work = Path(args.workdir).resolve()
    cmd = [sys.executable, "-m", f"photoz.{entry}", f"tracking.uri=sqlite:///{work / 'mlflow.db'}", "trainer.progress=false",
           f"tracking.artifact_root={work / 'artifacts'}", "tracking.experiment=labels_study",
           f"hydra.run.dir={work / 'runs' / name}", *args.data.split(), *overrides]  # fmt: skip
    print("$", " ".join(cmd), f"(load {os.getloadavg()[0]:.1f})", flush=True)
    if args.dry_run:
        return True
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=ROOT).returncode
    print(f"  {time.perf_counter() - start:.0f} s wall (load {os.getloadavg()[0]:.1f})"
          + (f"; FAILED with exit {code} (its error line is above): not recorded, the study goes on" if code else ""), flush=True)  # fmt: skip
    return code == 0


def run_of(args: argparse.Namespace, name: str) -> str:
    """The id of the finished run that `photoz(..., name)` made: found by its checkpoint folder
    (<workdir>/runs/<name>/checkpoints, a tag of every photoz run), so studies that share a
    workdir in several processes at once each find their own."""
    from mlflow.tracking import MlflowClient

    work = Path(args.workdir).resolve()
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    exp = client.get_experiment_by_name("labels_study")
    where = f"tags.checkpoint_dir = '{work / 'runs' / name / 'checkpoints'}' and attributes.status = 'FINISHED'"
    (run,) = client.search_runs([exp.experiment_id], where, order_by=["attributes.start_time DESC"], max_results=1)
    return run.info.run_id


def record(index_file: Path, key: str, run_id: str) -> dict:
    """runs.json with `key` added, re-read first so that keys other processes added stay."""
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    index[key] = run_id
    tmp = index_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index, indent=1))
    tmp.replace(index_file)  # atomic: a reader never sees half a file
    return index


def accepted(args: argparse.Namespace, selection: str) -> int:
    """How many train galaxies `selection` accepts on the study's data set."""
    from photoz.config import compose, to_typed
    from photoz.data.source import open_dataset

    cfg = to_typed(compose(*args.data.split(), f"data.labels.selection={selection}"))
    return len(open_dataset(cfg.data).split_index("train"))


def cnn_epochs(args: argparse.Namespace, n_labelled: int | None) -> list[str]:
    """trainer.max_epochs for a CNN on n_labelled galaxies so that it takes about --cnn-steps
    optimizer steps whatever its budget (none when --train sets trainer.max_epochs or --cnn-steps is 0)."""
    if args.cnn_steps <= 0 or n_labelled is None or any(o.startswith("trainer.max_epochs=") for o in args.train.split()):
        return []
    batch = next((int(o.split("=")[1]) for o in args.train.split() if o.startswith("trainer.batch_size=")), 128)
    return [f"trainer.max_epochs={max(1, -(-args.cnn_steps // max(1, n_labelled // batch)))}"]


def plan(args: argparse.Namespace, init: str) -> list[tuple[list[str], list[str]]]:
    """(key parts, overrides) of every training run of the study: [estimator, selection, n], and
    `seed<k>` after them for a CNN trained with a --seeds seed k other than 0."""
    out = []
    n_train = None if args.dry_run else accepted(args, "random")
    for selection in args.selections.split(","):
        limit = None if args.dry_run else accepted(args, selection)
        budgets = [n for n in args.n.split(",") if limit is None or int(n) <= limit]
        if limit is not None and len(budgets) < len(args.n.split(",")):
            budgets.append("null")  # every galaxy the selection accepts
        for n in budgets:
            labelled = limit if n == "null" else None if args.dry_run else int(n)
            for est in args.estimators.split(","):
                if est in SEMI and labelled is not None and labelled >= n_train:
                    print(f"skipped: {est} at {n} labels ({selection}) leaves no galaxy unlabelled to learn from", flush=True)
                    continue
                labels = [f"data.labels.n={n}", f"data.labels.selection={selection}"]
                overrides = [o.format(init=init) for o in ESTIMATORS[est]] + labels + args.train.split()
                if est not in CNNS:
                    out.append(([est, selection, n], overrides))
                    continue
                overrides += cnn_epochs(args, limit if n == "null" else int(n))
                for k in (int(k) for k in args.seeds.split(",")):
                    out.append(([est, selection, n] + ([f"seed{k}"] if k else []), overrides + ([f"seed={k}"] if k else [])))
    return out


def run_study(args: argparse.Namespace) -> None:
    work = Path(args.workdir).resolve()
    index_file = work / "runs.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    needs_encoder = any(est.startswith("pretrained") for est in args.estimators.split(","))
    if "pretrain" not in index and needs_encoder:
        if not photoz("pretrain", args, args.pretrain.split(), "pretrain"):
            raise SystemExit("the pretraining failed (its error line is above); the pretrained estimators need it")
        if args.dry_run:
            index["pretrain"] = "<pretraining run id>"
        else:
            index = record(index_file, "pretrain", run_of(args, "pretrain"))
    for parts, overrides in plan(args, index.get("pretrain", "")):
        key, name = "|".join(parts), "-".join(parts)  # seed 0's key is the one studies without --seeds made
        index = json.loads(index_file.read_text()) if index_file.is_file() else index  # another process may have run it
        if key in index:
            continue
        if photoz("train", args, overrides, name) and not args.dry_run:
            index = record(index_file, key, run_of(args, name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="500,1000,2000,4000,16000", help="label budgets")
    parser.add_argument("--selections", default="random,vvds", help="data.labels.selection values")
    parser.add_argument("--estimators", default="cnn,pretrained_cnn,flexzboost,random_forest", help=", ".join(ESTIMATORS))
    parser.add_argument("--seeds", default="0", help="network seeds of each CNN run (the labelled galaxies are data.labels.seed's)")
    parser.add_argument("--data", default="", help="data overrides for every run, e.g. 'data.n_galaxies=2000'")
    parser.add_argument("--train", default="", help="extra photoz.train overrides")
    parser.add_argument("--cnn-steps", type=int, default=3000,
                        help="optimizer steps of every CNN run whatever its budget (the default run: 24 epochs x 125 "
                             "steps on 16,000 labels); 0: trainer.max_epochs as configured")  # fmt: skip
    parser.add_argument("--pretrain", default="", help="extra photoz.pretrain overrides")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "labels_study"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from <workdir>/runs.json")
    parser.add_argument("--plot", default="", help="estimators drawn in the figure, e.g. cnn,pretrained_cnn,flexzboost (default: all)")
    parser.add_argument("--merge", action="append", default=[], metavar="WORKDIR",
                        help="also report the runs of another study workdir (repeatable)")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    if not args.report_only:
        run_study(args)
    if not args.dry_run:
        from labels_report import report  # beside this script

        report(Path(args.workdir), args.merge, args.plot.split(",") if args.plot else None)


if __name__ == "__main__":
    main()
