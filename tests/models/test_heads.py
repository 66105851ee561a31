"""The pdf and regression heads: z_phot as the PDF-weighted mean of bin centres, the losses,
and the redshift-range check."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from photoz.errors import ConfigError
from photoz.models.build import check_redshift_range, head_loss, head_predict, n_outputs
from photoz.models.schema import CNNConfig

# 4 bins on [0, 4]: centres 0.5, 1.5, 2.5, 3.5
PDF = CNNConfig(name="sequential", n_bins=4, z_max=4.0)
REG = CNNConfig(name="sequential", head="regression", z_max=4.0)


def test_z_phot_is_the_chosen_point_estimate_on_bin_centres() -> None:
    probs = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]])
    z_phot, z_err, pdf = head_predict(torch.log(probs), dataclasses.replace(PDF, point_estimate="mean"))
    np.testing.assert_allclose(z_phot, [1.0, 2.0, 3.5], atol=1e-6)  # centres, not lower edges
    zstar, _, _ = head_predict(torch.log(probs), PDF)  # the default: 1 + z* = 1 / E[1/(1+z)]
    np.testing.assert_allclose(zstar, [1 / (0.5 / 1.5 + 0.5 / 2.5) - 1, 1 / np.mean(1 / np.array([1.5, 2.5, 3.5, 4.5])) - 1, 3.5], atol=1e-6)
    np.testing.assert_allclose(z_err, [0.5, math.sqrt(1.25), 0.0], atol=1e-3)
    np.testing.assert_allclose(pdf, probs.numpy(), atol=1e-6)


def test_pdf_loss_is_cross_entropy_on_the_true_bin() -> None:
    logits = torch.tensor([[0.3, -1.0, 2.0, 0.1], [1.0, 0.0, 0.0, 0.0]])
    z = torch.tensor([1.2, 7.0])  # bin 1; above z_max → last bin
    log_p = torch.log_softmax(logits, 1)
    expected = -(log_p[0, 1] + log_p[1, 3]) / 2
    assert torch.isclose(head_loss(logits, z, PDF), expected)


def test_regression_head_predicts_a_bounded_z_without_error() -> None:
    assert n_outputs(REG) == 1 and n_outputs(PDF) == 4
    logits = torch.tensor([[0.0], [100.0]])
    z_phot, z_err, pdf = head_predict(logits, REG)
    np.testing.assert_allclose(z_phot, [2.0, 4.0])  # z_max · sigmoid
    assert pdf is None and np.isnan(z_err).all()
    assert head_loss(logits, torch.tensor([2.0, 4.0]), REG) < 1e-6
    # Huber on Δz with δ = 0.05: an outlier costs δ(|Δz| − δ/2)
    outlier = head_loss(torch.tensor([[0.0]]), torch.tensor([1.0]), REG)
    assert torch.isclose(outlier, torch.tensor(0.05 * (0.5 - 0.025)))


def test_losses_are_float32_under_bf16_logits() -> None:
    logits = torch.randn(3, 4).bfloat16()
    assert head_loss(logits, torch.rand(3), PDF).dtype == torch.float32
    assert head_predict(logits, PDF)[0].dtype == np.float64


def test_redshifts_above_z_max_are_refused_with_a_fix() -> None:
    check_redshift_range(np.array([0.1, 3.9]), PDF)
    with pytest.raises(ConfigError, match=r"model.z_max=4.3 or more"):
        check_redshift_range(np.array([0.1, 4.25]), PDF)
