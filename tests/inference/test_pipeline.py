"""The prediction loop's overlap (photoz.inference.pipeline) and its vectorised PDF quantiles."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from photoz.inference.pipeline import pipelined
from photoz.predictions.pdf import cdf_edges, pdf_quantiles


def test_stages_keep_the_order_and_overlap() -> None:
    def slow(x: int) -> int:
        time.sleep(0.02)
        return x

    t0 = time.perf_counter()
    out = list(pipelined(range(20), [slow, lambda x: x * 10, slow]))
    assert out == [10 * i for i in range(20)]
    assert time.perf_counter() - t0 < 0.7  # two 20 ms stages of 20 items overlap (~0.42 s), not 0.8 s in a row


def test_an_error_in_a_stage_reaches_the_consumer_and_no_thread_is_left() -> None:
    before = threading.active_count()

    def fails_on_3(x: int) -> int:
        if x == 3:
            raise ValueError("bad batch 3")
        return x

    got = []
    with pytest.raises(ValueError, match="bad batch 3"):
        for x in pipelined(range(100), [fails_on_3, lambda x: x]):
            got.append(x)
    assert got == [0, 1, 2]
    gen = pipelined(iter(range(10**6)), [lambda x: x])  # a consumer that stops early
    assert next(gen) == 0
    gen.close()
    assert threading.active_count() == before


def test_vectorised_quantiles_are_np_interps_bits() -> None:
    rng = np.random.default_rng(0)
    grid = (np.arange(50) + 0.5) * 0.06
    pdf = rng.random((200, 50)) ** 8  # peaked, with near-empty bins
    pdf[:5, :] = 0.0
    pdf[:5, 10] = 1.0  # one bin holds everything: the CDF is flat outside it and hits q exactly
    pdf /= pdf.sum(axis=1, keepdims=True)
    qs = (0.0, 0.16, 0.5, 0.84, 1.0)
    cdf, edges = cdf_edges(pdf, grid)
    expected = np.stack([np.interp(qs, c, edges) for c in cdf])
    np.testing.assert_array_equal(pdf_quantiles(pdf, grid, qs), expected)
