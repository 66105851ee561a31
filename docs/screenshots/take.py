"""Take docs/mlflow.md's screenshots of MLflow's UI in a real browser, against a store of tiny runs.

    python docs/screenshots/take.py store /tmp/shots          # photoz's venv: tiny runs, a study, a comparison
    python docs/screenshots/take.py shoot /tmp/shots --mlflow /path/to/venv/bin/mlflow   # a Python with Playwright

`store` makes a 300-galaxy 16x16 data set and runs photoz's own entry points on it (two CNNs, two
catalogue estimators, a three-trial depth x lr study, photoz.compare) into <dir>/mlruns.
`shoot` serves that store with `mlflow ui` on a free loopback port, opens the runs table, a CNN
run, the comparison run and the study run in headless Chromium (Playwright driving the system's
Chromium: `apt-get install chromium`, `pip install playwright pillow`; no browser download), closes
MLflow's assistant panel, and writes each page, cropped to what it shows, as a small palette PNG into
docs/screenshots/. Neither step is part of photoz or its tests.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VIEW = "workflowType=machine_learning"
TINY_CNN = ["trainer.batch_size=16", "trainer.num_threads=1", "model.width=8"]


def make_store(work: Path) -> None:
    """Tiny runs of every kind the docs show, made by photoz's entry points (real Hydra, MLflow, Optuna)."""
    sys.path.insert(0, str(REPO / "tests"))
    from tinydata import make_tiny_dataset

    work.mkdir(parents=True, exist_ok=True)
    data = make_tiny_dataset(work / "tiny", n=300)
    store = f"sqlite:///{work / 'mlruns' / 'mlflow.db'}"
    common = [f"data.path={data.path}", "data=directory", f"tracking.uri={store}", "tracking.experiment=tiny",
              f"tracking.artifact_root={work / 'mlruns' / 'artifacts'}", "trainer.progress=false"]  # fmt: skip
    runs = [
        ["model=sequential", "model.depth=3", "trainer.max_epochs=3", *TINY_CNN],
        ["model=googlenet", "model.depth=2", "model.modules=[[8,8],[8,8]]", "model.dense=[16]", "trainer.max_epochs=2",
         "trainer.batch_size=16", "trainer.num_threads=1"],
        ["model=random_forest", "model.n_estimators=20", "model.n_jobs=1"],
        ["model=template_fit"],
        ["--multirun", "sweep=depth_lr", "model=sequential", "model.depth=range(2,4)", "hydra.sweeper.n_trials=3",
         "trainer.max_epochs=2", *TINY_CNN],
    ]  # fmt: skip
    for overrides in runs:  # Hydra takes --multirun before the overrides
        flags = [o for o in overrides if o.startswith("--")]
        cmd = [sys.executable, "-m", "photoz.train", *flags, *common, *(o for o in overrides if o not in flags)]
        subprocess.run(cmd, cwd=work, check=True)
    compare = [f"tracking.uri={store}", "tracking.experiment=tiny", f"output={work / 'compare'}"]
    subprocess.run([sys.executable, "-m", "photoz.compare", *compare], cwd=work, check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(work: Path, mlflow: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    store = f"sqlite:///{work / 'mlruns' / 'mlflow.db'}"
    cmd = [mlflow, "ui", "--backend-store-uri", store, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return proc, base
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise SystemExit(f"mlflow ui did not answer on {base}")


def _pages(work: Path) -> dict[str, tuple[str, str]]:
    """file name -> (UI route with its query, a text the page shows when it has loaded)."""
    sys.path.insert(0, str(REPO))
    import sqlite3

    db = sqlite3.connect(work / "mlruns" / "mlflow.db")
    runs = dict(db.execute("select name, run_uuid from runs where lifecycle_stage = 'active'").fetchall())
    (exp,) = {e for (e,) in db.execute("select experiment_id from runs")}
    seq = next(v for k, v in runs.items() if k.startswith("seq "))
    study = next(v for k, v in runs.items() if k.startswith("depth_lr"))
    return {
        "runs_table.png": (f"#/experiments/{exp}/runs?{VIEW}&viewStateShareKey=photoz", "template_fit"),
        "run.png": (f"#/experiments/{exp}/runs/{seq}?{VIEW}", "Description"),
        "comparison.png": (f"#/experiments/{exp}/runs/{runs['comparison']}?{VIEW}", "Description"),
        "study.png": (f"#/experiments/{exp}/runs/{study}?{VIEW}", "Description"),
    }


def shoot(work: Path, mlflow: str, width: int, height: int) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    proc, base = _serve(work, mlflow)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            for name, (route, ready) in _pages(work).items():
                page.goto(f"{base}/{route}")
                page.wait_for_selector(f"text={ready}", timeout=120_000)
                page.wait_for_timeout(3000)
                for close in page.locator("button[aria-label='Close']").all():  # MLflow's assistant panel
                    if close.is_visible():
                        close.click(timeout=5000)
                        page.wait_for_timeout(800)
                if name == "runs_table.png":  # list the study's trials under it
                    study = page.locator(".ag-row", has_text="depth_lr")
                    study.locator("button[data-component-id*='runnamecellrenderer']").first.click(timeout=5000)
                    page.wait_for_timeout(1500)
                for more in page.get_by_text("Show more").all():  # a description folded after a few lines
                    if more.is_visible():
                        more.click(timeout=5000)
                        page.wait_for_timeout(800)
                path = HERE / name
                page.screenshot(path=str(path))
                image = Image.open(path).convert("RGB").quantize(colors=64)
                image.save(path, optimize=True)
                print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KiB")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["store", "shoot"])
    parser.add_argument("work", type=Path, help="folder of the tiny store")
    parser.add_argument("--mlflow", default="mlflow", help="the mlflow executable of photoz's environment")
    parser.add_argument("--size", default="1600x900", help="browser window, WxH pixels")
    args = parser.parse_args()
    if args.step == "store":
        make_store(args.work)
    else:
        width, height = (int(v) for v in args.size.split("x"))
        shoot(args.work, args.mlflow, width, height)


if __name__ == "__main__":
    main()
