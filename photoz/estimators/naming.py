"""Run names that read in MLflow's runs table: short, what differs first, words separated by spaces.

    seq d4 lr2e-3            python -m photoz.train (model=sequential, the defaults)
    googlenet d5 lr3e-4 w32  model=googlenet model.depth=5 optimizer.lr=3e-4 model.width=32
    random_forest            a catalogue estimator: the model config alone
    t3 d5 lr1.3e-3           trial 3 of a sweep: its number, then what the study searches

The name column shows about 20 characters (MLflow's default width; photoz's saved view widens it),
so a long model config is shortened (SHORT); the run's tag `model_config` keeps the full name, and
what each estimator adds after it is its `run_name_parts` (photoz.estimators.base.Estimator).
"""

from __future__ import annotations

from collections.abc import Sequence

# model configs (conf/model options) with names too long for the table's name column
SHORT = {"sequential": "seq", "googlenet_pasquet": "pasquet", "efficientnet": "effnet"}


def short_number(x: float, digits: int = 1) -> str:
    """3e-04 -> 3e-4, 0.001 -> 1e-3, 0.0027 -> 2.7e-3 (digits=2): compact numbers for run names."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def run_name(model_config: str, parts: Sequence[str], trial_number: int | None = None) -> str:
    """`<short model config> <parts>`; a sweep trial's `t<number> <parts>` (its study, named after
    the model, is its parent run), or `t<number> <model config>` when the estimator adds nothing."""
    if trial_number is None:
        return " ".join([SHORT.get(model_config, model_config), *parts])
    return " ".join([f"t{trial_number}", *(parts or [SHORT.get(model_config, model_config)])])
