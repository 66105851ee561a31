"""photoz.predictions.pdf, RAIL-style: quantiles, PIT, point estimates and the PDF-side checks on PDFs whose
answers are computed by hand (dyadic numbers, exact in floating point), and frozen values on a
seeded sample, so a change of any definition shows up here and not only in a logged run."""

from __future__ import annotations

import numpy as np
import pytest

from photoz.errors import ConfigError
from photoz.predictions.table import Predictions, z_grid
from photoz.predictions.pdf import check_point_estimate, pdf_bias, pdf_metrics, pdf_quantiles, pit, pit_ks, point_estimates


def two_spikes(grid: np.ndarray, z_a: float, z_b: float, p_a: float) -> np.ndarray:
    pdf = np.zeros((1, len(grid)))
    pdf[0, np.argmin(abs(grid - z_a))], pdf[0, np.argmin(abs(grid - z_b))] = p_a, 1 - p_a
    return pdf


def seeded_pdfs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200 normalised PDFs (a Gaussian of random centre and width plus a weaker second peak) on 60
    bins up to z = 3, and true redshifts scattered by each Gaussian's width; default_rng(0)."""
    rng = np.random.default_rng(0)
    grid = z_grid(60, 3.0)
    n = 200
    centre, width = rng.uniform(0.2, 2.5, n), rng.uniform(0.05, 0.3, n)
    pdf = np.exp(-0.5 * ((grid - centre[:, None]) / width[:, None]) ** 2)
    pdf += 0.3 * rng.random((n, 1)) * np.exp(-0.5 * ((grid - rng.uniform(0.2, 2.8, (n, 1))) / 0.1) ** 2)
    z_spec = np.clip(centre + width * rng.normal(size=n), 0.0, 3.0)
    return pdf / pdf.sum(1, keepdims=True), grid, z_spec


GRID4 = z_grid(4, 2.0)  # centres 0.25, 0.75, 1.25, 1.75; edges 0, 0.5, 1, 1.5, 2


def test_quantiles_by_hand() -> None:
    pdf = np.array([[0.25, 0.5, 0.25, 0.0], [0.0, 0.0, 0.0, 1.0]])
    # row 0: CDF at the edges [0, 0.25, 0.75, 1, 1], linear within bins:
    #   q 0.125 → 0.5 × 0.125/0.25 = 0.25; q 0.5 → 0.5 + 0.5 × 0.25/0.5 = 0.75; q 0.875 → 1 + 0.5 × 0.125/0.25 = 1.25
    # row 1: all mass in [1.5, 2): q → 1.5 + 0.5 q
    got = pdf_quantiles(pdf, GRID4, (0.0, 0.125, 0.5, 0.875))
    np.testing.assert_array_equal(got, [[0.0, 0.25, 0.75, 1.25], [1.5, 1.5625, 1.75, 1.9375]])


def test_pit_by_hand() -> None:
    grid = z_grid(2, 1.0)  # centres [0.25, 0.75], edges [0, 0.5, 1]
    np.testing.assert_array_equal(grid, [0.25, 0.75])
    pdf = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [2.0, 2.0], [0.0, 1.0], [0.0, 1.0]])
    z = np.array([0.25, 0.75, 0.5, 0.75, 1.5, 0.625, -0.5])
    # linear CDF within bins; the fifth PDF is normalised first and z beyond the grid clips to 1,
    # z below it to 0
    np.testing.assert_array_equal(pit(pdf, grid, z), [0.5, 1.0, 0.5, 0.75, 1.0, 0.25, 0.0])


def test_pit_ks_of_evenly_spread_pit_values() -> None:
    # a flat PDF on [0, 2] has PIT = z/2: z at the bin centres gives PIT 1/8, 3/8, 5/8, 7/8, whose
    # largest distance from the uniform CDF is 1/8
    pdf = np.full((4, 4), 0.25)
    np.testing.assert_array_equal(pit(pdf, GRID4, GRID4), [0.125, 0.375, 0.625, 0.875])
    assert pit_ks(pdf, GRID4, GRID4) == pytest.approx(0.125, rel=1e-12)


def test_pdf_bias_by_hand() -> None:
    # a spike at z = 0.75 predicts Δz = (z_p − 0.75)/1.75 for the point z_p: 1/7 for z_p = 1
    pdf = two_spikes(GRID4, 0.75, 1.25, 1.0)
    assert pdf_bias(pdf, GRID4, np.array([1.0])) == pytest.approx(1 / 7, rel=1e-12)
    assert pdf_bias(pdf, GRID4, np.array([0.75])) == pytest.approx(0.0, abs=1e-15)


def test_estimates_of_a_flat_pdf_by_hand() -> None:
    pdf = np.array([[0.5, 0.5, 0.0, 0.0]])  # flat on [0, 1)
    est = {k: float(v[0]) for k, v in point_estimates(pdf, GRID4).items()}
    # 1 + z* = 1 / (0.5/1.25 + 0.5/1.75) = 35/24; the median is the edge where the CDF reaches 0.5;
    # the mode of a tie is the first bin
    assert est == pytest.approx({"zstar": 11 / 24, "mean": 0.5, "median": 0.5, "mode": 0.25}, rel=1e-12)


def test_frozen_values_on_a_seeded_sample() -> None:
    """Values frozen at the time of writing: any change of a definition is caught."""
    pdf, grid, z_spec = seeded_pdfs()
    est = point_estimates(pdf, grid)
    frozen = {
        "zstar": [1.5261049184848838, 0.9993909002411223, 0.31771666918378205],
        "mean": [1.6014496294085125, 1.1028669646702631, 0.35552088290978334],
        "median": [1.6576030640531396, 0.8569153094579757, 0.3221246318635718],
        "mode": [1.675, 0.825, 0.275],
    }
    for name, values in frozen.items():
        np.testing.assert_allclose(est[name][:3], values, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(
        pdf_quantiles(pdf, grid, (0.16, 0.5, 0.84))[:2],
        [[1.5120686984221372, 1.6576030640531396, 1.7909297762484746], [0.7403796902165121, 0.8569153094579757, 2.0184591263186347]],
        rtol=1e-12,
    )  # fmt: skip
    values = pit(pdf, grid, z_spec)
    np.testing.assert_allclose(values[:4], [0.15308176184104397, 0.03180206733618593, 0.039216772279268085, 0.9159090375609142], rtol=1e-12)
    assert float(np.mean(values)) == pytest.approx(0.45659177603703577, rel=1e-12)
    assert pdf_metrics(pdf, grid, z_spec) == pytest.approx(
        {
            "bias_of_zstar": 0.006387195749820485,
            "bias_err_of_zstar": 0.006727893747383154,
            "pdf_bias_of_zstar": 0.0,
            "bias_of_mean": 0.029943170343199852,
            "bias_err_of_mean": 0.007259704301206384,
            "pdf_bias_of_mean": 0.023286093225984284,
            "bias_of_median": 0.020493311390107457,
            "bias_err_of_median": 0.005873673874239026,
            "pdf_bias_of_median": 0.01610870119913503,
            "bias_of_mode": 0.016490079231285506,
            "bias_err_of_mode": 0.005698203809079936,
            "pdf_bias_of_mode": 0.012714804899643996,
            "pit_ks": 0.12772667689911454,
        },
        rel=1e-9,
        abs=1e-15,
    )


def test_estimates_of_a_two_spike_pdf_have_closed_forms() -> None:
    grid = z_grid(4, 2.0)  # centres 0.25, 0.75, 1.25, 1.75
    pdf = two_spikes(grid, 0.25, 1.75, 0.6)
    est = {k: float(v[0]) for k, v in point_estimates(pdf, grid).items()}
    # 1 + z* = 1 / E[1/(1+z)] = 1 / (0.6/1.25 + 0.4/2.75)
    assert est["zstar"] == pytest.approx(1 / (0.6 / 1.25 + 0.4 / 2.75) - 1, rel=1e-12)
    assert est["mean"] == pytest.approx(0.6 * 0.25 + 0.4 * 1.75)
    assert est["median"] == pytest.approx(0.5 * 0.5 / 0.6)  # the CDF rises linearly to 0.6 across bin 0 (0–0.5)
    assert est["mode"] == pytest.approx(0.25)
    assert est["zstar"] < est["mean"]  # harmonic mean of 1 + z below the arithmetic mean


def test_zstar_is_unbiased_for_calibrated_pdfs_and_the_mean_is_not() -> None:
    """Galaxies whose true z is drawn from their own (broad) PDF: z* has mean Δz ≈ 0, the PDF mean
    a positive bias of the size the PDFs predict, and the PIT is flat (small KS distance)."""
    rng = np.random.default_rng(1)
    grid = z_grid(180, 3.5)
    centre = rng.uniform(0.3, 2.5, 20000)
    pdf = np.exp(-0.5 * ((grid[None, :] - centre[:, None]) / 0.25) ** 2)
    pdf /= pdf.sum(1, keepdims=True)
    cdf = np.cumsum(pdf, axis=1)
    z_true = grid[np.minimum((cdf < rng.uniform(size=(len(pdf), 1))).sum(1), len(grid) - 1)]
    z_true = z_true + rng.uniform(-0.5, 0.5, len(z_true)) * (grid[1] - grid[0])  # uniform within the bin
    m = pdf_metrics(pdf, grid, z_true)
    assert abs(m["bias_of_zstar"]) < 3 * m["bias_err_of_zstar"]
    assert m["bias_of_mean"] > 5 * m["bias_err_of_mean"]
    assert m["pdf_bias_of_zstar"] == pytest.approx(0.0, abs=1e-12)
    assert m["bias_of_mean"] == pytest.approx(m["pdf_bias_of_mean"], abs=3 * m["bias_err_of_mean"])
    assert m["pit_ks"] < 0.02
    narrow = pdf_metrics(pdf**16 / (pdf**16).sum(1, keepdims=True), grid, z_true)  # over-confident PDFs
    assert narrow["pit_ks"] > 0.1


def test_from_pdf_uses_the_chosen_point_estimate_and_refuses_unknown_names() -> None:
    grid = z_grid(4, 2.0)
    pdf = two_spikes(grid, 0.25, 1.75, 0.6)
    for name in ("zstar", "mean", "median", "mode"):
        pred = Predictions.from_pdf(np.array([1]), np.array([0.5]), pdf, grid, name)
        assert pred.z_phot[0] == pytest.approx(point_estimates(pdf, grid)[name][0])
        assert pred.to_table()[f"z_{name}"][0] == pytest.approx(pred.z_phot[0])
    assert check_point_estimate("mode") == "mode"
    with pytest.raises(ConfigError, match="choose one of zstar, mean, median, mode"):
        Predictions.from_pdf(np.array([1]), np.array([0.5]), pdf, grid, "average")
