"""Cost model: the formula, calibration from a profile, cost and remaining-cost distributions."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.profile import load_profile


def test_paper_cost_formula():
    cost = CostModel.paper()
    assert cost.cost(100, 10) == pytest.approx(10 * 10 / 2 + 100 * 10)
    np.testing.assert_allclose(cost.cost(np.array([0, 50]), np.array([4, 2])), [8.0, 102.0])
    assert cost.remaining(100, 4, 10) == pytest.approx(cost.cost(100, 10) - cost.cost(100, 4))


def test_calibrated_weights_come_from_the_profile():
    profile = load_profile("llama-3.1-8b-a40")
    cost = CostModel.from_profile(profile)
    assert cost.a == pytest.approx(profile.per_token_s + profile.step_base_s / profile.max_num_seqs)
    assert cost.b == pytest.approx(profile.per_kv_token_s)
    assert cost.recompute(1000) == pytest.approx(1000 * profile.per_token_s)
    assert CostModel.paper(profile).recompute(10) == pytest.approx(
        10 * profile.per_token_s / profile.per_kv_token_s
    )
    with pytest.raises(ValueError):
        CostModel(a=0.0, b=0.0)


def test_cost_distribution_is_exact_at_the_knots():
    rng = np.random.default_rng(1)
    edges = log_bin_edges(32, 4000.0)
    dist = LengthDistribution.from_histogram(rng.dirichlet(np.ones(32), size=5), edges)
    prompts = np.array([10.0, 100.0, 400.0, 1000.0, 3.0])
    cost = CostModel(a=0.5, b=1.0)
    cdist = cost.cost_distribution(dist, prompts)
    for x in (50.0, 300.0, 1200.0):
        np.testing.assert_allclose(cdist.cdf(cost.cost(prompts, x)), dist.cdf(x), atol=0.02)
    knot = edges[20]
    np.testing.assert_allclose(cdist.cdf(cost.cost(prompts, knot)), dist.cdf(knot), atol=1e-12)


def test_remaining_cost_mean_matches_monte_carlo():
    rng = np.random.default_rng(2)
    edges = log_bin_edges(200, 4000.0)
    dist = LengthDistribution.from_histogram(rng.dirichlet(np.ones(200) * 0.5, size=4), edges)
    prompts = np.array([50.0, 300.0, 20.0, 900.0])
    ages = np.array([0.0, 100.0, 400.0, 30.0])
    cost = CostModel(a=2.0, b=1.0)
    remaining = cost.remaining_cost_distribution(dist, prompts, ages)
    samples = dist.sample(200000, rng=5)
    for row in range(4):
        alive = samples[row][samples[row] > ages[row]]
        mc = np.mean(cost.cost(prompts[row], alive) - cost.cost(prompts[row], ages[row]))
        assert remaining.mean()[row] == pytest.approx(mc, rel=0.02)
    assert np.all(remaining.knots >= 0)
