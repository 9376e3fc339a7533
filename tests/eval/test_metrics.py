"""Metrics against hand-computed values, brute-force integration, and the real CASTILLO data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.errors import InputError
from sagepred.metrics import (
    PitValues,
    compute_metrics,
    coverage_interval,
    crps,
    kendall_tau,
    length_bucket,
    pinball_loss,
    pit_values,
)
from sagepred.records import LengthRecord


def uniform(low: float, high: float, n: int = 1) -> LengthDistribution:
    return LengthDistribution(np.tile([[low, high]], (n, 1)), np.tile([[0.0, 1.0]], (n, 1)))


def brute_crps(dist: LengthDistribution, row: int, y: float, censored: bool = False) -> float:
    """Numerical ∫ (F(x) − 1{x ≥ y})² dx with quad, split at every knot and at y."""
    one = dist[row]
    knots = np.broadcast_to(one.knots, (1, one.knots.shape[1]))[0]
    lo, hi = min(knots[0], y) - 1.0, max(knots[-1], y) + 1.0
    points = sorted({*knots.tolist(), y})

    def integrand(x: float) -> float:
        f = float(one.cdf(x)[0])
        if censored:
            return f * f if x < y else 0.0
        return (f - (1.0 if x >= y else 0.0)) ** 2

    total, last = 0.0, lo
    for p in [*points, hi]:
        if p > last:
            total += integrate.quad(integrand, last, p, limit=200)[0]
            last = p
    return total


def record(lens, censored=(), dataset=None, category=None, prompt="p") -> LengthRecord:
    return LengthRecord(
        prompt=prompt, output_lens=tuple(lens), censored=tuple(censored), dataset=dataset, category=category
    )


# ---------------------------------------------------------------------------- CRPS
def test_crps_uniform_hand_computed():
    dist = uniform(0.0, 10.0, 3)
    values = crps(dist, np.array([5.0, 20.0, 0.0]))
    # y = 5: 2 · ∫0^5 (x/10)² dx = 2 · 125/300; y = 20: ∫0^10 (x/10)² + 10; y = 0: ∫0^10 (1 − x/10)²
    np.testing.assert_allclose(values, [250 / 300, 10 / 3 + 10, 10 / 3])


def test_crps_censored_is_survival_form():
    dist = uniform(0.0, 10.0, 2)
    values = crps(dist, np.array([5.0, 15.0]), censored=np.array([True, True]))
    np.testing.assert_allclose(values, [125 / 300, 10 / 3 + 5.0])
    assert np.all(values <= crps(dist, np.array([5.0, 15.0])) + 1e-12)


def test_crps_of_point_mass_tends_to_absolute_error():
    dist = LengthDistribution(np.array([[100.0, 100.0 + 1e-6]]), np.array([[0.0, 1.0]]))
    assert crps(dist, np.array([130.0]))[0] == pytest.approx(30.0, abs=1e-5)


def test_crps_matches_brute_force_on_histograms_and_quantiles():
    rng = np.random.default_rng(0)
    edges = log_bin_edges(24, 4096.0)
    hist = LengthDistribution.from_histogram(rng.dirichlet(np.ones(24), size=4), edges)
    quant = LengthDistribution.from_quantiles(
        np.sort(rng.uniform(5, 3000, size=(4, 9)), axis=1), np.linspace(0.1, 0.9, 9)
    )
    for dist in (hist, quant):
        ys = np.array([0.5, 37.0, 800.0, 5000.0])
        rows = np.arange(4)
        for cens in (False, True):
            got = crps(dist, ys, np.full(4, cens), rows)
            want = [brute_crps(dist, r, y, cens) for r, y in zip(rows, ys, strict=True)]
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    widths=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 200.0)), min_size=1, max_size=6),
    masses=st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
    start=st.floats(0.0, 100.0),
    y=st.floats(0.0, 1500.0),
    censored=st.booleans(),
)
def test_crps_hypothesis_against_quadrature(widths, masses, start, y, censored):
    knots = start + np.concatenate([[0.0], np.cumsum(widths)])
    mass = np.asarray(masses[: len(widths)]) + 1e-3
    cdf = np.concatenate([[0.0], np.cumsum(mass) / mass.sum()])
    dist = LengthDistribution(knots[None, :], cdf[None, :])
    got = crps(dist, np.array([y]), np.array([censored]))[0]
    assert got >= -1e-9
    assert got == pytest.approx(brute_crps(dist, 0, y, censored), rel=1e-5, abs=1e-5)


def test_crps_rows_index_shared_rows():
    dist = LengthDistribution.from_histogram(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 10.0, 20.0]))
    values = crps(dist, np.array([5.0, 5.0, 15.0]), rows=np.array([0, 1, 1]))
    expected = [brute_crps(dist, r, y) for r, y in ((0, 5.0), (1, 5.0), (1, 15.0))]
    np.testing.assert_allclose(values, expected, rtol=1e-7)


# ---------------------------------------------------------------------------- pinball, buckets, tau
def test_pinball_hand_computed_and_censored_lower_bound():
    q = np.array([10.0, 10.0, 30.0, 10.0])
    y = np.array([20.0, 0.0, 20.0, 20.0])
    cens = np.array([False, False, True, True])
    np.testing.assert_allclose(pinball_loss(q, y, 0.9, cens), [9.0, 1.0, 0.0, 9.0])
    np.testing.assert_allclose(pinball_loss(q[:2], y[:2], 0.1), [1.0, 9.0])


def test_length_bucket_edges_and_open_last_bucket():
    np.testing.assert_array_equal(length_bucket([0, 99, 100, 1899, 1900, 50_000]), [0, 0, 1, 18, 19, 19])


def test_kendall_tau_order_and_undefined():
    assert kendall_tau(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 40])) == pytest.approx(1.0)
    assert kendall_tau(np.array([4.0, 3, 2, 1]), np.array([10.0, 20, 30, 40])) == pytest.approx(-1.0)
    assert kendall_tau(np.ones(4), np.array([10.0, 20, 30, 40])) is None


# ---------------------------------------------------------------------------- PIT, coverage
def test_pit_single_sample_ks():
    pit = PitValues(np.array([0.5]), np.array([0.5]))
    assert pit.ks_distance() == pytest.approx(0.5)
    np.testing.assert_allclose(pit.histogram(), np.eye(10)[5])


def test_censored_pit_spreads_uniformly():
    dist = uniform(0.0, 100.0)
    pit = pit_values(dist, np.array([60.0]), np.array([True]), np.array([0]))
    assert (pit.lower[0], pit.upper[0]) == (pytest.approx(0.6), 1.0)
    assert pit.ks_distance() == pytest.approx(0.6)
    np.testing.assert_allclose(pit.histogram(), [0] * 6 + [0.25] * 4, atol=1e-12)
    assert pit.cdf(0.9)[0] == pytest.approx(0.75)


def test_coverage_and_pit_hand_computed():
    dist = uniform(0.0, 100.0)
    metrics = compute_metrics(dist, [record([5, 50, 95, 90])])
    assert metrics["coverage_80"] == pytest.approx(0.5)  # 50 and 90 (F = 0.9, closed interval)
    assert metrics["n_samples"] == 4 and metrics["n_prompts"] == 1
    assert metrics["pit_histogram"][0] == pytest.approx(0.25)
    assert metrics["reliability"]["0.5"] == pytest.approx(0.5)


def test_per_sample_inside_shares_average_to_the_coverage():
    dist = uniform(0.0, 100.0, 3)
    pit = pit_values(
        dist, np.array([5.0, 50.0, 60.0, 95.0]), np.array([False, False, True, False]), np.array([0, 1, 1, 2])
    )
    np.testing.assert_allclose(pit.inside(), [0.0, 1.0, 0.75, 0.0])  # censored at 0.6: 0.3 of its 0.4
    assert pit.inside().mean() == pytest.approx(pit.cdf(0.9)[0] - pit._left_limit(np.array([0.1]))[0])


def test_coverage_interval_holds_the_truth_and_widens_with_clustered_samples():
    """At 170 calibrated prompts the 95% interval is about ±0.06 around 0.80; ten samples per prompt
    that move together (the same PIT) give no more information than one."""
    rng = np.random.default_rng(3)
    hits = (rng.random(170) < 0.8).astype(float)
    low, high = coverage_interval(hits, np.arange(170))
    assert low < hits.mean() < high and 0.10 < high - low < 0.15
    clustered = coverage_interval(np.repeat(hits, 10), np.repeat(np.arange(170), 10))
    independent = coverage_interval((rng.random(1700) < 0.8).astype(float), np.arange(1700))
    assert clustered[1] - clustered[0] > 2 * (independent[1] - independent[0])
    assert coverage_interval(hits, np.arange(170)) == (low, high)  # seeded


def test_calibrated_forecasts_score_as_calibrated():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(30) * 0.5, size=300)
    dist = LengthDistribution.from_histogram(probs, log_bin_edges(30, 5000.0))
    draws = dist.sample(10, rng)
    records = [record(np.maximum(np.round(row), 1)) for row in draws]
    # integer rounding nudges the PIT; check the draws themselves through the flat sample arrays
    metrics = compute_metrics(dist, records)
    assert metrics["coverage_80"] == pytest.approx(0.8, abs=0.03)
    assert metrics["pit_ks"] < 0.05
    for level, freq in metrics["reliability"].items():
        assert freq == pytest.approx(float(level), abs=0.03)
    assert metrics["kendall_tau"] > 0.3


def test_overconfident_forecasts_have_low_coverage():
    rng = np.random.default_rng(2)
    truth = rng.lognormal(5, 1, size=(200, 5))
    dist = LengthDistribution(np.tile([[150.0, 160.0]], (200, 1)), np.tile([[0.0, 1.0]], (200, 1)))
    metrics = compute_metrics(dist, [record(np.ceil(r)) for r in truth])
    assert metrics["coverage_80"] < 0.2
    assert metrics["pit_ks"] > 0.3
    assert metrics["kendall_tau"] is None


# ---------------------------------------------------------------------------- compute_metrics
def test_compute_metrics_hand_computed_point_metrics():
    dist = LengthDistribution(np.array([[100.0, 200.0], [0.0, 4000.0]]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    records = [record([150, 250], dataset="a", category="x"), record([2500, 3000], dataset="b")]
    metrics = compute_metrics(dist, records)
    # medians 150 and 2000: errors 0, 100, 500, 1000
    assert metrics["mae_median"] == pytest.approx((0 + 100 + 500 + 1000) / 4)
    # buckets: 1 vs 1 hit, 1 vs 2 miss, 19 vs 19 hit (open-ended), 19 vs 19 hit
    assert metrics["bucket_accuracy"] == pytest.approx(0.75)
    assert metrics["pinball"]["0.5"] == pytest.approx(metrics["mae_median"] / 2)
    assert metrics["kendall_tau"] == pytest.approx(1.0)
    assert set(metrics["by_dataset"]) == {"a", "b"}
    assert metrics["by_dataset"]["a"]["n_samples"] == 2
    assert metrics["by_dataset"]["b"]["mae_median"] == pytest.approx(750.0)
    assert set(metrics["by_category"]) == {"x"}
    expected_crps = np.mean(
        [
            brute_crps(dist, 0, 150),
            brute_crps(dist, 0, 250),
            brute_crps(dist, 1, 2500),
            brute_crps(dist, 1, 3000),
        ]
    )
    assert metrics["crps"] == pytest.approx(expected_crps, rel=1e-6)


def test_compute_metrics_censored_handling_counts_and_bounds():
    dist = uniform(0.0, 1000.0, 2)
    plain = compute_metrics(dist, [record([400, 900]), record([300])])
    cens = compute_metrics(dist, [record([400, 900], censored=[False, True]), record([300])])
    assert cens["n_censored"] == 1 and plain["n_censored"] == 0
    assert cens["crps"] < plain["crps"]
    # median 500 ≤ c = 900: the known error is 400 either way
    assert cens["mae_median"] == pytest.approx(plain["mae_median"])
    # c = 900 is not in the last bucket and the predicted bucket (5) is below it: a known miss
    assert cens["bucket_excluded"] == 0
    low = compute_metrics(dist, [record([300], censored=[True]), record([300])])
    assert low["bucket_excluded"] == 1  # predicted bucket 5 ≥ bucket 3 of c: undetermined


def test_compute_metrics_bad_input():
    with pytest.raises(InputError, match="empty"):
        compute_metrics(uniform(0, 1), [])
    with pytest.raises(InputError, match="no output lengths"):
        compute_metrics(uniform(0, 1), [LengthRecord(prompt="p", output_lens=())])
    with pytest.raises(ValueError, match="rows"):
        compute_metrics(uniform(0, 1, 2), [record([1])])


def test_compute_metrics_real_castillo_in_sample_histogram_is_calibrated(castillo):
    valid = castillo(split="validate")
    pooled = LengthDistribution.from_samples([np.concatenate([r.lengths for r in valid])])
    dist = LengthDistribution(pooled.knots, np.repeat(pooled.cdf_at_knots, len(valid), axis=0))
    metrics = compute_metrics(dist, valid)
    assert metrics["n_prompts"] == len(valid)
    assert metrics["n_samples"] == 10 * len(valid)
    assert metrics["n_censored"] == sum(sum(r.censored) for r in valid) > 0
    assert metrics["kendall_tau"] is None  # one distribution for every prompt: no ranking
    # the pooled histogram of the very samples scored is calibrated up to binning
    assert metrics["coverage_80"] == pytest.approx(0.8, abs=0.02)
    low, high = metrics["coverage_80_ci95"]
    assert low < metrics["coverage_80"] < high and high - low < 0.06
    assert metrics["pit_ks"] < 0.02
    assert metrics["mean_predicted"] == pytest.approx(metrics["mean_observed"], rel=0.05)
    assert set(metrics["by_dataset"]) >= {"Alpaca", "ShareGPT", "Mbpp"}
    assert "open_qa" in metrics["by_category"] and "undefined" not in metrics["by_category"]
    assert sum(g["n_samples"] for g in metrics["by_dataset"].values()) == metrics["n_samples"]
    # a per-dataset breakdown is not calibrated by the pooled histogram: code prompts differ
    assert any(abs(g["coverage_80"] - 0.8) > 0.1 for g in metrics["by_dataset"].values())
