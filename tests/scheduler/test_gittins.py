"""Gittins index: exact on the grid (against brute force over Δ), closed forms, vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.gittins import gittins_brute_force, gittins_index

EDGES = log_bin_edges(12, 2000.0)
histograms = arrays(
    np.float64, st.tuples(st.integers(1, 4), st.just(12)), elements=st.floats(0.0, 5.0)
).filter(lambda a: np.all(a.sum(axis=1) > 1e-3))
quantile_rows = arrays(np.float64, st.tuples(st.integers(1, 4), st.just(5)), elements=st.floats(1.0, 3000.0))


@settings(max_examples=40, deadline=None)
@given(histograms)
def test_histogram_index_matches_brute_force_over_delta(probs):
    dist = LengthDistribution.from_histogram(probs, EDGES)
    fast = gittins_index(dist)
    brute = gittins_brute_force(dist, num_points=4000)
    np.testing.assert_allclose(fast, brute, rtol=1e-7)


@settings(max_examples=40, deadline=None)
@given(quantile_rows, st.floats(0.0, 500.0), st.integers(0, 600))
def test_remaining_cost_index_matches_brute_force(values, prompt_len, age):
    dist = LengthDistribution.from_quantiles(values, np.array([0.1, 0.3, 0.5, 0.7, 0.9]), max_length=4000.0)
    cost = CostModel.paper().remaining_cost_distribution(dist, prompt_len, age)
    fast = gittins_index(cost)
    brute = gittins_brute_force(cost, num_points=3000)
    np.testing.assert_allclose(fast, brute, rtol=1e-6, atol=1e-6)


def test_interior_deltas_never_beat_the_knots():
    rng = np.random.default_rng(3)
    dist = LengthDistribution.from_histogram(rng.uniform(0, 1, size=(20, 12)) ** 3, EDGES)
    fast = gittins_index(dist)
    for row in range(len(dist)):
        one = dist[row]
        grid = np.linspace(1e-3, EDGES[-1], 50000)
        surv = 1.0 - one.cdf(grid[None, :])[0]
        integral = np.concatenate([[0.0], np.cumsum(np.diff(grid) * 0.5 * (surv[1:] + surv[:-1]))]) + grid[0]
        f = one.cdf(grid[None, :])[0]
        ratio = np.where(f > 0, integral / np.where(f > 0, f, 1.0), np.inf)
        assert ratio.min() >= fast[row] * (1 - 1e-4)


def test_closed_forms():
    point = LengthDistribution(np.array([[300.0, 300.0]]), np.array([[0.0, 1.0]]))
    assert gittins_index(point)[0] == pytest.approx(300.0)
    uniform = LengthDistribution(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]))
    assert gittins_index(uniform)[0] == pytest.approx(0.5)
    # two near-point masses: 1 with probability p, 10 otherwise → min(1/p, E[X])
    p = 0.3
    two = LengthDistribution(np.array([[1.0, 1.0, 10.0, 10.0]]), np.array([[0.0, p, p, 1.0]]))
    assert gittins_index(two)[0] == pytest.approx(min(1.0 / p, p * 1 + (1 - p) * 10))


def test_index_prefers_the_likely_short_request_over_the_shorter_mean():
    # A: 90% finishes at 10, 10% runs to 1000 (mean 109); B: always 100. Gittins runs A first.
    a = LengthDistribution(np.array([[10.0, 10.0, 1000.0, 1000.0]]), np.array([[0.0, 0.9, 0.9, 1.0]]))
    b = LengthDistribution(np.array([[100.0, 100.0, 100.0, 100.0]]), np.array([[0.0, 1.0, 1.0, 1.0]]))
    both = LengthDistribution.concat([a, b])
    assert both.mean()[0] > both.mean()[1]
    g = gittins_index(both)
    assert g[0] < g[1]


def test_vectorised_over_ten_thousand_rows_equals_row_by_row():
    rng = np.random.default_rng(0)
    dist = LengthDistribution.from_histogram(rng.dirichlet(np.ones(12) * 0.3, size=10000), EDGES)
    cost = CostModel.paper().remaining_cost_distribution(
        dist, rng.integers(1, 800, 10000), rng.integers(0, 500, 10000)
    )
    batch = gittins_index(cost)
    assert batch.shape == (10000,) and np.all(np.isfinite(batch)) and np.all(batch >= 0)
    for row in rng.choice(10000, size=25, replace=False):
        assert batch[row] == pytest.approx(gittins_index(cost[int(row)])[0], rel=1e-12)


def test_deterministic_remaining_cost_index_is_the_remaining_cost():
    cost = CostModel(a=0.3, b=1.0)
    length, prompt, age = 500.0, 120.0, 200.0
    dist = LengthDistribution(np.array([[length - 0.5, length + 0.5]]), np.array([[0.0, 1.0]]))
    g = gittins_index(cost.remaining_cost_distribution(dist, prompt, age))[0]
    assert g == pytest.approx(float(cost.remaining(prompt, age, length)), rel=2e-3)
