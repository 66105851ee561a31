"""Sampler seeding: each sweep process seeds its sampler once (studies.worker_seed), so TPE's
random start-up trials explore the space instead of repeating one corner (seeding trial k with
seed + k gave four start-up trials with the same depth and three with lr ≈ 2.7e-3)."""

from __future__ import annotations

import math

from hydra_plugins.photoz_sweeper._study import worker_seed

# conf/sweep/depth_lr.yaml's space, on the sweeper test app's x (depth) and y (lr)
SPACE = ("x=range(2, 7)", "y=tag(log, interval(1e-4, 1e-2))")


def sweep_params(workspace, n_trials: int = 8) -> list[tuple[int, float]]:
    workspace.run_ok(*SPACE, "epochs=1", f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.plots=false")
    return [(t.params["x"], t.params["y"]) for t in workspace.study("quad").trials]


def test_eight_start_up_trials_spread_over_depth_and_lr_decades(workspace, tmp_path_factory, empty_mlflow_db) -> None:
    trials = sweep_params(workspace)  # TPE: the first 10 trials are its random start-up trials
    depths = [d for d, _ in trials]
    decades = [math.floor(math.log10(lr)) for _, lr in trials]
    assert len(set(depths)) >= 4, trials  # of the 5 depths 2..6
    assert max(depths.count(d) for d in depths) <= 3, trials
    assert min(decades.count(-4), decades.count(-3)) >= 2, trials  # both decades of [1e-4, 1e-2]
    logs = [math.log10(lr) for _, lr in trials]
    assert max(logs) - min(logs) >= 1.2, trials
    twins = [(a, b) for i, a in enumerate(trials) for b in trials[i + 1 :]
             if a[0] == b[0] and abs(math.log10(a[1] / b[1])) < 0.1]  # fmt: skip
    assert twins == [], trials  # no two trials (nearly) alike

    from conftest import Workspace  # the same seed and worker count reproduce the same trials

    again = Workspace(tmp_path_factory.mktemp("again"), empty_mlflow_db)
    assert sweep_params(again, n_trials=3) == trials[:3]


def test_worker_seeds_are_distinct_and_reproducible() -> None:
    seeds = [worker_seed(0, k) for k in range(100)]
    assert len(set(seeds)) == 100 and seeds == [worker_seed(0, k) for k in range(100)]
    assert worker_seed(1, 0) != worker_seed(0, 0) and worker_seed(None, 3) is None
