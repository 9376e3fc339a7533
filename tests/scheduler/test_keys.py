"""The key refresh rule shared by the simulator and the plug-in: buckets, first-age keys, one cache."""

from __future__ import annotations

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.cost import cost_model
from sagepred.scheduler.keys import KeyCache
from sagepred.scheduler.policies import RequestState, make_policy
from sagepred.scheduler.profile import load_profile
from sagepred.scheduler.serving import KeyBook, PluginConfig, ServedRequest
from sagepred.scheduler.simulator import workload_keys
from sagepred.scheduler.workload import Workload

DISTS = LengthDistribution(
    np.array([[0.0, 50.0, 300.0, 900.0], [0.0, 10.0, 40.0, 2000.0], [0.0, 400.0, 500.0, 600.0]]),
    np.array([[0.0, 0.3, 0.8, 1.0], [0.0, 0.5, 0.6, 1.0], [0.0, 0.1, 0.9, 1.0]]),
)


def _state(rows: np.ndarray, ages: np.ndarray) -> RequestState:
    return RequestState(
        arrival=rows.astype(np.float64),
        prompt_len=np.full(len(rows), 100.0),
        age=np.asarray(ages, dtype=np.float64),
        dist=DISTS[rows],
        true_len=np.full(len(rows), 700.0),
    )


def test_buckets_start_at_multiples_of_the_refresh_interval():
    gittins = KeyCache(make_policy("gittins", bucket_tokens=200))
    ages = np.array([0, 199, 200, 450])
    np.testing.assert_array_equal(gittins.bucket(ages), [0, 0, 1, 2])
    np.testing.assert_array_equal(gittins.bucket_age(gittins.bucket(ages)), [0.0, 0.0, 200.0, 400.0])
    fcfs = KeyCache(make_policy("fcfs"))
    np.testing.assert_array_equal(fcfs.bucket(ages), [0, 0, 0, 0])
    oracle = KeyCache(make_policy("oracle"))
    np.testing.assert_array_equal(oracle.bucket(ages), ages)
    assert oracle.per_token and not gittins.per_token


def test_a_key_is_computed_at_its_bucket_first_age_whenever_it_is_asked_for():
    policy = make_policy("gittins", bucket_tokens=200)
    cache = KeyCache(policy)
    rows = np.array([0, 0, 0, 1])
    entries = cache.compute(rows, np.array([200, 250, 399, 201]), _state)
    direct = policy.keys(_state(rows, np.array([200.0, 200.0, 200.0, 200.0])))
    np.testing.assert_array_equal(entries.keys, direct)
    assert entries.keys[0] == entries.keys[1] == entries.keys[2] != entries.keys[3]
    later = cache.compute(np.array([0]), np.array([400]), _state)
    assert later.keys[0] != entries.keys[0]
    assert cache.computations == 5


def test_fill_computes_each_reached_bucket_once_and_looks_up_by_age():
    policy = make_policy("trail")  # refresh every 100 tokens, preempts early only
    cache = KeyCache(policy, chunk=2)  # several chunks
    lengths = np.array([1, 100, 101, 450])
    cache.fill(lengths, lambda rows, ages: _state(rows % 3, ages))
    assert cache.computations == 1 + 1 + 2 + 5
    rows = np.array([3, 3, 3, 2])
    ages = np.array([0, 399, 449, 100])
    expected = _state(rows % 3, np.array([0.0, 300.0, 400.0, 100.0]))
    np.testing.assert_array_equal(cache.keys(rows, ages), policy.keys(expected))
    np.testing.assert_array_equal(cache.values(rows, ages), policy.preempt_values(expected))
    np.testing.assert_array_equal(cache.limits(rows, ages), policy.preempt_age_limit(expected))


def test_per_token_and_non_preemptive_policies():
    oracle = make_policy("oracle")
    cache = KeyCache(oracle)
    cache.fill(np.array([700, 700]), _state)
    assert cache.computations == 0
    ages = np.array([3, 650])
    np.testing.assert_array_equal(
        cache.keys(np.array([0, 1]), ages), oracle.keys(_state(np.array([0, 1]), ages))
    )
    sjf = KeyCache(make_policy("sjf"))
    entries = sjf.compute(np.array([0, 1, 2]), np.array([0, 5, 900]), _state)
    np.testing.assert_array_equal(entries.values, entries.keys)
    assert np.all(np.isinf(entries.limits))
    with pytest.raises(RuntimeError, match="fill"):
        KeyCache(make_policy("sjf")).keys(np.array([0]), np.array([0]))


@pytest.mark.parametrize("policy_name", ["gittins", "trail", "sjf", "oracle"])
def test_the_simulator_and_the_plugin_give_a_request_the_same_keys_at_every_age(policy_name):
    """One rule: the plug-in's per-request entries equal the simulator's precomputed table."""
    config = PluginConfig(policy=policy_name, cost="calibrated", bucket_tokens=64, max_wait_s=None)
    book = KeyBook(config)
    policy = make_policy(policy_name, cost_model("calibrated", load_profile(None)), bucket_tokens=64)
    workload = Workload(
        np.array([0.0, 1.0, 2.0]), np.array([100, 100, 100]), np.array([700, 700, 700]), DISTS
    )
    table = workload_keys(policy, workload, chunk=2)
    served = [
        ServedRequest(f"r{i}", arrival=float(i), prompt_len=100, dist=DISTS[np.array([i])], true_len=700)
        for i in range(3)
    ]
    for age in (0, 1, 63, 64, 65, 200, 699):
        for r in served:
            r.age = age
        book.refresh(served)
        rows, ages = np.arange(3), np.full(3, age)
        assert [book.key(r) for r in served] == pytest.approx(table.keys(rows, ages), rel=0, abs=0)
        assert [book.value(r) for r in served] == pytest.approx(table.values(rows, ages), rel=0, abs=0)
        if policy.preemptive:
            limits = table.limits(rows, ages)
            assert [book.preemptible_at_age(r) for r in served] == list(age <= limits)


def test_the_plugin_recomputes_only_when_the_bucket_changes():
    book = KeyBook(PluginConfig(policy="gittins", bucket_tokens=200, max_wait_s=None))
    r = ServedRequest("a", arrival=0.0, prompt_len=100, dist=DISTS[np.array([0])])
    book.refresh([r])
    first, before = book.key(r), book.key_computations
    for age in (1, 150, 199):
        r.age = age
        book.refresh([r])
    assert book.key_computations == before and book.key(r) == first
    r.age = 200
    book.refresh([r])
    assert book.key_computations == before + 1 and book.key(r) != first


def test_promoted_requests_go_first_earliest_deadline_first_and_only_the_wait_bound_forces():
    book = KeyBook(PluginConfig(policy="gittins", max_wait_s=10.0, slack_epsilon=0.1))
    short = ServedRequest("short", arrival=5.0, prompt_len=10, dist=DISTS[np.array([0])])
    late = ServedRequest("late", arrival=0.0, prompt_len=10, dist=DISTS[np.array([1])], deadline=9.0)
    early = ServedRequest("early", arrival=1.0, prompt_len=10, dist=DISTS[np.array([2])], deadline=4.0)
    for r, promote in ((late, 3.0), (early, 3.5)):
        r.promote_at = promote
    book.refresh([short, late, early])
    now = 3.6
    order = sorted([short, late, early], key=lambda r: book.sort_key(r, now, 0))
    assert [r.request_id for r in order] == ["early", "late", "short"]
    assert book.starved(late, now, 0) and not book.past_max_wait(late, now, 0)
    assert not book.starved(short, now, 0)
    assert book.past_max_wait(late, 10.5, 0), "the wait bound still applies to promoted requests"
    with pytest.raises(InputError):
        PluginConfig(slack_epsilon=0.1, slack_floor_quantile=2.0)
    with pytest.raises(InputError):
        PluginConfig(slack_epsilon=-1.0)
    assert PluginConfig().slack_config() is None
