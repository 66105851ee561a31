"""The epoch hook, through which a fit reports each epoch's validation metrics.

photoz.job.run passes one to `Estimator.fit` (it logs the metrics to MLflow and, in a sweep, reports
val σ_MAD to Optuna); the CNN training loop calls it after each epoch, a catalogue estimator once.
It has a module of its own, free of torch, so the loop and every estimator can import it.
"""

from __future__ import annotations

from collections.abc import Callable

# Called once per epoch (once, at epoch 0, for one-shot baselines) with val metrics such as
# {"val_sigma_mad": …}; it logs them and may raise optuna.TrialPruned to stop training.
EpochHook = Callable[[int, dict[str, float]], None]
