"""The benchmarks' shared measures: the steady completion rate of a deep queue, latency by part of a run."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.scheduler.report import mean_by_part, steady_completion_rate


def test_steady_rate_reads_the_middle_of_the_drain():
    # a fresh batch finishes 100 requests in 1 s, then 800 at 20 req/s, then a slow tail
    fast = np.linspace(0.01, 1.0, 100)
    steady = 1.0 + np.arange(1, 801) / 20.0
    tail = steady[-1] + np.cumsum(np.full(100, 2.0))
    finish = np.random.default_rng(0).permutation(np.concatenate([fast, steady, tail]))
    assert steady_completion_rate(finish) == pytest.approx(20.0, rel=1e-9)
    whole = finish.size / (finish.max() - finish.min())
    assert whole < 20.0 and 1 / np.diff(np.sort(finish))[:99].mean() > 20.0


def test_steady_rate_ignores_unfinished_requests_and_rejects_too_few():
    finish = np.concatenate([np.arange(1.0, 101.0), [np.nan, np.inf]])
    assert steady_completion_rate(finish) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="too few"):
        steady_completion_rate(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="low < high"):
        steady_completion_rate(finish, low=0.8, high=0.2)


def test_mean_by_part_follows_arrival_order():
    arrival = np.array([4.0, 0.0, 3.0, 1.0, 2.0, 5.0])
    latency = np.array([40.0, 0.0, 30.0, 10.0, 20.0, 50.0])
    assert mean_by_part(arrival, latency, parts=3) == [5.0, 25.0, 45.0]
    parts = mean_by_part(np.arange(10.0), np.r_[np.full(5, 1.0), np.full(4, 3.0), np.nan], parts=2)
    assert parts == [1.0, 3.0]
    assert mean_by_part(np.arange(2.0), np.array([1.0, 2.0]), parts=3)[2] is None
