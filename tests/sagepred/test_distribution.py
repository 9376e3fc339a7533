"""LengthDistribution: property-based checks of cdf, quantile, mean, sampling, conditioning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sagepred.distribution import LengthDistribution, bin_index, histogram_probs, log_bin_edges

EDGES = log_bin_edges(16, 4096.0)

histograms = arrays(
    np.float64, st.tuples(st.integers(1, 6), st.just(16)), elements=st.floats(0.0, 10.0)
).filter(lambda a: np.all(a.sum(axis=1) > 1e-3))
quantile_rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(5)), elements=st.floats(1.0, 5000.0))
LEVELS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])


def both_forms(hist: np.ndarray, quant: np.ndarray) -> list[LengthDistribution]:
    return [LengthDistribution.from_histogram(hist, EDGES), LengthDistribution.from_quantiles(quant, LEVELS)]


def brute_cdf(dist: LengthDistribution, row: int, x: float) -> float:
    """CDF by integrating the piecewise-uniform density segment by segment."""
    knots = np.broadcast_to(dist.knots, (len(dist), dist.knots.shape[1]))[row]
    probs = dist.segment_probs()[row]
    total = 0.0
    for a, b, p in zip(knots[:-1], knots[1:], probs, strict=True):
        if x >= b:
            total += p
        elif x > a:
            total += p * (x - a) / (b - a)
    return total


@settings(max_examples=60, deadline=None)
@given(histograms, quantile_rows, st.lists(st.floats(0.0, 6000.0), min_size=2, max_size=12))
def test_cdf_is_monotone_and_in_unit_interval(hist, quant, grid):
    grid = np.sort(np.asarray(grid))[None, :]
    for dist in both_forms(hist, quant):
        values = dist.cdf(grid)
        assert values.shape == (len(dist), grid.shape[1])
        assert np.all(values >= 0) and np.all(values <= 1 + 1e-12)
        assert np.all(np.diff(values, axis=1) >= -1e-12)


@settings(max_examples=60, deadline=None)
@given(histograms, quantile_rows, st.floats(0.0, 6000.0))
def test_cdf_matches_segmentwise_integration(hist, quant, x):
    for dist in both_forms(hist, quant):
        got = dist.cdf(x)
        for row in range(len(dist)):
            assert got[row] == pytest.approx(brute_cdf(dist, row, x), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    histograms,
    quantile_rows,
    st.lists(st.floats(0.001, 0.999), min_size=1, max_size=10),
    st.floats(0.0, 6000.0),
)
def test_quantile_and_cdf_are_consistent(hist, quant, levels, y):
    levels = np.asarray(levels)[None, :]
    for dist in both_forms(hist, quant):
        x = dist.quantile(levels)
        reached = dist.cdf(x)
        # F(Q(q)) >= q always; equality wherever the density is positive (no point mass at Q(q))
        assert np.all(reached >= np.broadcast_to(levels, x.shape) - 1e-9)
        below = dist.cdf(np.maximum(x - 1e-6, 0.0))
        assert np.all(below <= np.broadcast_to(levels, x.shape) + 1e-6)
        # Q(F(y)) lands where the CDF equals F(y): the round trip is exact in probability
        f_y = dist.cdf(y)
        inside = f_y > 0
        np.testing.assert_allclose(dist.cdf(dist.quantile(f_y))[inside], f_y[inside], atol=1e-9)


def test_quantile_inverts_cdf_on_a_continuous_distribution():
    dist = LengthDistribution.from_histogram(np.arange(1.0, 17.0)[None, :], EDGES)
    levels = np.linspace(0.01, 0.99, 25)[None, :]
    np.testing.assert_allclose(dist.cdf(dist.quantile(levels)), levels, atol=1e-9)


def test_quantile_of_quantile_form_returns_the_knots():
    values = np.array([[10.0, 20.0, 40.0, 80.0, 160.0]])
    dist = LengthDistribution.from_quantiles(values, LEVELS)
    np.testing.assert_allclose(dist.quantile(LEVELS[None, :]), values)


@settings(max_examples=40, deadline=None)
@given(histograms, quantile_rows)
def test_mean_and_moments_match_monte_carlo(hist, quant):
    for dist in both_forms(hist, quant):
        n = 40_000
        draws = dist.sample(n, rng=0)
        # Six standard errors of each Monte Carlo estimate: heavy tails widen the band, a wrong formula does not fit.
        mean_band = 6.0 * draws.std(axis=1) / np.sqrt(n) + 1e-6
        assert np.all(np.abs(dist.mean() - draws.mean(axis=1)) <= mean_band)
        squares = draws**2
        second_band = 6.0 * squares.std(axis=1) / np.sqrt(n) + 1e-6
        assert np.all(np.abs(dist.second_moment() - squares.mean(axis=1)) <= second_band)


@settings(max_examples=60, deadline=None)
@given(histograms, quantile_rows, st.floats(0.0, 3000.0), st.floats(0.0, 3000.0))
def test_condition_matches_bayes_rule(hist, quant, age, r):
    for dist in both_forms(hist, quant):
        remaining = dist.condition(age)
        survival = 1.0 - dist.cdf(age)
        expected = (dist.cdf(age + r) - dist.cdf(age)) / np.where(survival > 1e-9, survival, 1.0)
        alive = survival > 1e-9
        np.testing.assert_allclose(remaining.cdf(r)[alive], expected[alive], atol=1e-7)
        assert np.all(remaining.cdf(0.0)[alive] <= 1e-9)


def test_condition_brute_force_against_samples():
    dist = LengthDistribution.from_samples([[50, 100, 200, 400, 800, 1600]], EDGES)
    draws = dist.sample(200_000, rng=1)[0]
    age = 300.0
    survivors = draws[draws > age] - age
    remaining = dist.condition(age)
    for r in (50.0, 200.0, 700.0, 1500.0):
        assert remaining.cdf(r)[0] == pytest.approx(np.mean(survivors <= r), abs=0.01)


def test_condition_past_the_support_assumes_more_to_come():
    dist = LengthDistribution.from_samples([[10, 20, 30]], EDGES)
    remaining = dist.condition(5000.0)
    assert remaining.mean()[0] == pytest.approx(2500.0)
    assert remaining.cdf(0.0)[0] == 0.0


def test_per_row_ages_and_arguments():
    dist = LengthDistribution.from_samples([[10, 20], [100, 200], [1000, 2000]], EDGES)
    ages = np.array([5.0, 150.0, 0.0])
    conditioned = dist.condition(ages)
    assert len(conditioned) == 3
    np.testing.assert_allclose(conditioned[2].mean(), dist[2].mean())
    assert conditioned[1].mean()[0] < dist[1].mean()[0]
    with pytest.raises(ValueError, match="one value per row"):
        dist.cdf(np.array([1.0, 2.0]))


def test_map_support_pushes_quantiles_through_monotone_maps():
    dist = LengthDistribution.from_samples([[10, 20, 40], [100, 300]], EDGES)
    prompt = np.array([[50.0], [500.0]])
    cost = dist.map_support(lambda o: o * o / 2 + prompt * o)
    q = dist.quantile(np.array([[0.25, 0.5, 0.75]]))
    np.testing.assert_allclose(
        cost.quantile(np.array([[0.25, 0.5, 0.75]])), q * q / 2 + prompt * q, rtol=0.05
    )
    np.testing.assert_allclose(
        cost.cdf(cost.knots),
        dist.cdf(
            dist.knots[:, :]
            if dist.knots.shape[0] > 1
            else np.broadcast_to(dist.knots, (2, dist.knots.shape[1]))
        ),
        atol=1e-9,
    )


@settings(max_examples=40, deadline=None)
@given(histograms, quantile_rows)
def test_wire_format_round_trips_exactly_through_json(hist, quant):
    for dist in both_forms(hist, quant):
        lines = [json.dumps(row) for row in dist.to_dicts()]
        for i, line in enumerate(lines):
            payload = json.loads(line)
            back = LengthDistribution.from_dict(payload)
            np.testing.assert_array_equal(back.row_knots, dist[i].row_knots)
            np.testing.assert_array_equal(back.row_cdf, dist[i].row_cdf)
            assert back.kind == dist.kind and back.to_dict() == payload
            assert payload["mean"] == pytest.approx(float(dist.mean()[i]), abs=0.0051)
            assert len(payload["levels"]) == len(payload["quantiles"]) == 99
        assert dist.to_dict(0, summary=False) == {k: dist.to_dict(0)[k] for k in ("knots", "cdf")}


def test_wire_format_reads_the_quantile_summary_and_validates():
    dist = LengthDistribution.from_samples([[10, 20, 40, 80, 300]], EDGES)
    row = dist.to_dict(0)
    summary = LengthDistribution.from_dict({"levels": row["levels"], "quantiles": row["quantiles"]})
    levels = np.array([[0.1, 0.5, 0.9]])
    np.testing.assert_allclose(summary.quantile(levels), dist.quantile(levels), atol=0.01)
    for bad, match in [
        ({"knots": [0, 10, 5], "cdf": [0, 0.5, 1.0]}, "non-decreasing"),
        ({"knots": [0, 10], "cdf": [0, 0.5]}, "end at 1"),
        ({"knots": [-1, 10], "cdf": [0, 1]}, "non-negative"),
        ({"knots": [0, float("nan")], "cdf": [0, 1]}, "finite"),
        ({"knots": [0, 1, 2], "cdf": [0, 1]}, "same length"),
        ({"mean": 3}, "needs 'knots'"),
    ]:
        with pytest.raises(ValueError, match=match):
            LengthDistribution.from_dict(bad)


def test_bin_helpers_and_tiled_histogram():
    edges = np.array([0.0, 1.0, 10.0, 100.0])
    np.testing.assert_array_equal(bin_index([0.5, 1.0, 1.5, 10.0, 50.0, 1e6], edges), [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(histogram_probs([1, 5, 5, 50], edges), [0.25, 0.5, 0.25])
    np.testing.assert_allclose(histogram_probs([], edges), [1 / 3] * 3)
    tiled = LengthDistribution.tiled_histogram(np.array([0.25, 0.5, 0.25]), edges, 4)
    assert len(tiled) == 4 and tiled.knots.shape == (1, 4) and tiled.row_knots.shape == (4, 4)
    np.testing.assert_allclose(tiled.segment_probs(), np.tile([0.25, 0.5, 0.25], (4, 1)))


def test_concat_pads_rows_with_fewer_knots_without_changing_them():
    short = LengthDistribution(np.array([[0.0, 10.0]]), np.array([[0.0, 1.0]]))
    long = LengthDistribution.from_samples([[3, 30, 300]], EDGES)
    both = LengthDistribution.concat([short, long])
    np.testing.assert_allclose(both.mean(), [short.mean()[0], long.mean()[0]])
    np.testing.assert_allclose(
        both[0].quantile(np.array([[0.2, 0.9]])), short.quantile(np.array([[0.2, 0.9]]))
    )


def test_invalid_constructions_fail_clearly():
    with pytest.raises(ValueError, match="edges"):
        LengthDistribution.from_histogram(np.ones((1, 4)), np.arange(4.0))
    with pytest.raises(ValueError, match="positive total"):
        LengthDistribution.from_histogram(np.zeros((1, 3)), np.arange(4.0))
    with pytest.raises(ValueError, match="levels"):
        LengthDistribution.from_quantiles(np.ones((1, 2)), np.array([0.0, 0.5]))


def test_indexing_keeps_batch_size_for_shared_rows():
    one = LengthDistribution.from_samples([[10, 20, 40]], EDGES)
    picked = one[np.array([0, 0, 0])]
    assert len(picked) == 3
    np.testing.assert_allclose(picked.mean(), np.repeat(one.mean(), 3))
    many = LengthDistribution.from_samples([[10], [100], [1000]], EDGES)
    assert len(many[1:]) == 2 and len(many[np.array([2, 0])]) == 2
    np.testing.assert_allclose(many[np.array([2, 0])].mean(), many.mean()[[2, 0]])


def test_quantile_of_a_segment_one_ulp_wide_reaches_its_level():
    """Found by hypothesis: rounding inside a near-vertical segment landed left of the point mass."""
    values = np.array([[np.nextafter(5000.0, 0.0), 5000.0, 5000.0, 5000.0, 5000.0]])
    dist = LengthDistribution.from_quantiles(values, LEVELS)
    x = dist.quantile(np.array([[0.125]]))
    assert dist.cdf(x)[0, 0] >= 0.125
    assert dist.cdf(x - 1e-6)[0, 0] <= 0.125 + 1e-6
