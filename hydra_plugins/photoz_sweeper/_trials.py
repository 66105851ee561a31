"""One batch of trials in Optuna: ask up to the study's budget, tell how each Hydra job ended."""

from __future__ import annotations

import logging

import optuna
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import TrialState

from hydra_plugins.photoz_sweeper import _study as studies
from photoz import interrupt
from photoz.errors import PhotozError

log = logging.getLogger(__name__)


def ask_batch(study: optuna.Study, size: int, n_trials: int) -> list[optuna.trial.Trial]:
    """Up to `size` new trials, none beyond n_trials even when another worker asks at once. A
    Ctrl-C or SIGTERM received since the last batch is raised here, before a trial is asked."""
    interrupt.check()
    trials = []
    for _ in range(size):
        trial = study.ask()
        studies.claim(study, trial)
        if not studies.within_budget(study, trial, n_trials):
            study._storage.set_trial_system_attr(trial._trial_id, studies.SURPLUS_ATTR, True)
            study.tell(trial, state=TrialState.FAIL)
            break
        trials.append(trial)
    return trials


def tell_result(
    study: optuna.Study, trial: optuna.trial.Trial, ret: JobReturn
) -> tuple[TrialState, BaseException | None]:
    """PRUNED when the job raised optuna.TrialPruned, FAIL on any other error or a return
    value that is not a number, else COMPLETE with the value."""
    error: BaseException | None = None
    if ret.status != JobStatus.COMPLETED:
        error = ret._return_value
    else:
        try:
            value = float(ret._return_value)
        except (TypeError, ValueError):
            error = PhotozError(f"the task function returned {ret._return_value!r}, not a number")
    if isinstance(error, optuna.TrialPruned):
        frozen = study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
    elif error is not None:
        log.error("trial %d failed: %s: %s", trial.number, type(error).__name__, error)
        frozen = study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    else:
        frozen = study.tell(trial, value, skip_if_finished=True)
    value = f" value={frozen.value:.5g}" if frozen.value is not None else ""
    log.info("trial %d %s%s", trial.number, frozen.state.name, value)
    return frozen.state, error
