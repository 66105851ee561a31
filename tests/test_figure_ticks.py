"""Every figure photoz draws has readable ticks on every axis at its default size: at least two
labelled ticks inside the axis's range on each x and y axis of each panel (a colour bar on its
long axis), and no two labels of one axis overlapping. Drawn as they are saved: a run's plots
(photoz.predictions.plots), the comparison's (photoz.comparison.figures: several models, one hidden
panel slot, cost axes within one decade) and a study's (hydra_plugins.photoz_sweeper._outputs)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hydra_plugins.photoz_sweeper._outputs import study_figures  # noqa: E402
from photoz.comparison.figures import metrics_per_z, sigma_vs_cost, zphot_panels  # noqa: E402
from photoz.comparison.table import Best  # noqa: E402
from photoz.predictions.plots import prediction_figures  # noqa: E402
from photoz.predictions.table import Predictions, z_grid  # noqa: E402


def _predictions(seed: int, with_pdf: bool) -> Predictions:
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 2.5, 400)
    z_phot = z + rng.normal(0, 0.03 * (seed + 1), 400) * (1 + z)
    z_phot = np.clip(z_phot, 0.01, 2.9)
    grid = z_grid(3.0, 60)
    pdf = np.exp(-0.5 * ((grid[None] - z_phot[:, None]) / 0.1) ** 2) if with_pdf else None
    return Predictions(np.arange(400), z, z_phot, np.full(400, 0.05), pdf=pdf, z_grid=grid if with_pdf else None)


def _row(model: str, sigma: float, flops: float, params: float, rate: float) -> Best:
    values = {"sigma_mad": sigma, "bias": 0.0, "eta": 0.1, "sigma_iqr": sigma, "outlier_rate": 0.1, "n_params": params,
              "flops": flops, "train_seconds": 1.0, "galaxies_per_s": rate, "val_sigma_mad": sigma}  # fmt: skip
    return Best(model, f"run-{model}", values)


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_metric_names(["val_sigma_mad"])
    for _ in range(6):
        trial = study.ask()
        depth, lr = trial.suggest_int("model.depth", 2, 6), trial.suggest_float("optimizer.lr", 1e-4, 1e-2, log=True)
        for epoch in range(1, 4):
            trial.report(0.05 / depth + lr + 0.01 / epoch, epoch)
        study.tell(trial, 0.05 / depth + lr)
    return study


def _figures() -> dict[str, Figure]:
    """Every figure photoz draws, by a name that says where it comes from."""
    figures = {f"run/{k}": f for k, f in prediction_figures(_predictions(0, True), "test").items()}
    figures.update({f"run, no PDF/{k}": f for k, f in prediction_figures(_predictions(1, False), "test").items()})
    tables = {m: _predictions(i, False).to_table() for i, m in enumerate(["seq", "googlenet", "resnet", "knn"])}
    figures["compare/zphot_vs_zspec"] = zphot_panels(tables)  # 4 panels on a 3 x 2 grid: two slots empty
    figures["compare/metrics_per_z"] = metrics_per_z(tables)
    rows = [_row("resnet", 0.020, 7e7, 8e5, 9000), _row("seq", 0.025, 3e7, 5e5, 30000),
            _row("effnet", 0.030, 6e7, 4e6, 8000), _row("template_fit", 0.035, math.nan, 0, 11000)]  # fmt: skip
    figures["compare/sigma_vs_cost"] = sigma_vs_cost(rows)  # FLOPs and galaxies/s within one decade
    figures.update({f"study/{k}": f for k, f in study_figures(_study(), "val_sigma_mad").items()})
    return figures


def _labels(axis: Axis) -> list[matplotlib.text.Text]:
    """The tick labels drawn on `axis`: visible, non-empty, at a tick inside the axis's range."""
    low, high = sorted(axis.get_view_interval())
    span = high - low
    drawn = []
    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
        label, where = tick.label1 if tick.label1.get_visible() else tick.label2, tick.get_loc()
        inside = where is not None and low - 1e-9 * span <= where <= high + 1e-9 * span
        if tick.get_visible() and label.get_visible() and label.get_text().strip() and inside:
            drawn.append(label)
    return drawn


def _overlap(labels: list[matplotlib.text.Text], renderer) -> bool:
    boxes = [t.get_window_extent(renderer) for t in labels]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_every_axis_of_every_figure_has_readable_tick_labels() -> None:
    figures = _figures()
    assert len(figures) == 12  # 3 + 3 run plots (the PIT from z_err without a PDF), 3 comparison, 3 study
    problems = []
    for name, fig in figures.items():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
            colorbar = ax.get_label() == "<colorbar>"
            for axis in [ax.yaxis] if colorbar else [ax.xaxis, ax.yaxis]:
                labels = _labels(axis)
                where = f"{name} panel {i} ({ax.get_title() or ax.get_xlabel()!r}) {axis.axis_name}-axis"
                if len(labels) < 2:
                    problems.append(f"{where}: tick labels {[t.get_text() for t in labels]}")
                elif _overlap(labels, renderer):
                    problems.append(f"{where}: overlapping tick labels {[t.get_text() for t in labels]}")
        plt.close(fig)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("values", [[3e7, 7e7], [4.2e4], [900, 3000, 5000], [1e6, 1e6]])
def test_a_log_cost_axis_spans_whole_decades(values: list[float]) -> None:
    from photoz.comparison.figures import _decades

    low, high = _decades(values)
    assert math.log10(low) == int(math.log10(low)) and math.log10(high) == int(math.log10(high))
    assert high >= 10 * low and low < min(values) and high > max(values)
