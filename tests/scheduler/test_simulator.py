"""The simulator: a hand-computed case, invariants under random workloads, jumps equal single steps,
FCFS keeps arrival order, and the oracle is not beaten on real data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import POLICIES, PreemptionRule, make_policy
from sagepred.scheduler.profile import EngineProfile, load_profile
from sagepred.scheduler.simulator import SimConfig, simulate
from sagepred.scheduler.traces import poisson_arrivals
from sagepred.scheduler.workload import Workload, build_workload, resolve_predictor

TINY = EngineProfile(
    name="tiny",
    step_base_s=0.01,
    per_token_s=1e-4,
    per_kv_token_s=1e-6,
    kv_capacity_tokens=2048,
    block_size=16,
    max_num_seqs=8,
    max_num_batched_tokens=256,
)


def test_one_request_by_hand():
    prompt, length = 100, 5
    w = Workload(np.array([1.0]), np.array([prompt]), np.array([length]))
    r = simulate(w, make_policy("fcfs"), TINY)
    p = TINY
    prefill = p.step_base_s + p.per_token_s * prompt + p.per_kv_token_s * prompt
    decodes = sum(p.step_base_s + p.per_token_s + p.per_kv_token_s * (prompt + s) for s in range(1, length))
    assert r.first_token[0] - 1.0 == pytest.approx(prefill)
    assert r.finish[0] - 1.0 == pytest.approx(prefill + decodes)
    assert r.generated[0] == length and r.steps == length
    assert r.busy_s == pytest.approx(prefill + decodes)


def test_busy_time_leaves_out_the_idle_gaps():
    w = Workload(np.array([0.0, 100.0]), np.array([100, 100]), np.array([5, 5]))
    r = simulate(w, make_policy("fcfs"), TINY)
    one = r.finish[0] - w.arrival[0]
    assert r.busy_s == pytest.approx(2 * one)
    assert r.summary()["busy_s"] == pytest.approx(2 * one, abs=1e-6) and r.summary()["makespan_s"] > 100


def test_host_time_delays_steps_and_is_not_busy_time():
    prompt, length = 100, 5
    w = Workload(np.array([1.0]), np.array([prompt]), np.array([length]))
    hosted = dataclasses.replace(TINY, host_per_request_s=0.05, host_per_step_s=0.002)
    bare, r = simulate(w, make_policy("fcfs"), TINY), simulate(w, make_policy("fcfs"), hosted)
    assert r.first_token[0] - bare.first_token[0] == pytest.approx(0.05 + 0.002)
    assert r.finish[0] - bare.finish[0] == pytest.approx(0.05 + length * 0.002)
    assert r.busy_s == pytest.approx(bare.busy_s)
    assert r.host_s == pytest.approx(0.05 + length * 0.002) and bare.host_s == 0.0
    assert r.summary()["host_s"] == pytest.approx(r.host_s, abs=1e-6)


def test_host_time_adds_to_a_busy_engine_s_makespan():
    w = _random_workload(3, 300, rate=60.0, max_len=200)  # past capacity: the engine never idles
    hosted = dataclasses.replace(TINY, host_per_request_s=0.002, host_per_step_s=0.001)
    bare, r = simulate(w, make_policy("fcfs"), TINY), simulate(w, make_policy("fcfs"), hosted)
    assert r.host_s == pytest.approx(300 * 0.002 + r.steps * 0.001)
    grown = r.summary()["makespan_s"] - bare.summary()["makespan_s"]
    assert 0.8 * r.host_s < grown < 1.2 * r.host_s  # not exact: slower steps batch more arrivals
    assert r.summary()["mean_ttlt_s"] > bare.summary()["mean_ttlt_s"]


def test_chunked_prefill_splits_a_long_prompt():
    w = Workload(np.array([0.0]), np.array([600]), np.array([2]))
    r = simulate(w, make_policy("fcfs"), TINY)
    assert r.steps == 3 + 1  # 256 + 256 + 88 prompt tokens, then one decode
    unchunked = EngineProfile(**{**TINY.to_dict(), "chunked_prefill": False, "max_num_batched_tokens": 1024})
    assert simulate(w, make_policy("fcfs"), unchunked).steps == 2


def _random_workload(seed: int, n: int, rate: float, max_len: int = 300) -> Workload:
    rng = np.random.default_rng(seed)
    out = rng.integers(1, max_len, n)
    samples = [np.maximum(1, o * rng.lognormal(0, 0.4, 5)) for o in out]
    dist = LengthDistribution.from_samples(samples)
    return Workload(poisson_arrivals(n, rate, seed), rng.integers(1, 400, n), out, dist)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 60),
    st.floats(1.0, 200.0),
    st.sampled_from(sorted(POLICIES)),
    st.booleans(),
    st.sampled_from(["newest", "worst_key"]),
)
def test_invariants(seed, n, rate, policy_name, naive, victim):
    w = _random_workload(seed, n, rate)
    config = SimConfig(
        preemption=PreemptionRule(naive=naive, margin=0.5), check_invariants=True, memory_victim=victim
    )
    r = simulate(w, make_policy(policy_name, CostModel.from_profile(TINY), bucket_tokens=32), TINY, config)
    fits = (w.prompt_len + w.output_len + TINY.block_size - 1) // TINY.block_size <= TINY.num_blocks
    assert np.array_equal(r.rejected, ~fits)
    assert np.all(r.completed == fits)
    assert np.array_equal(r.generated[fits], w.output_len[fits])
    assert r.max_blocks_used <= TINY.num_blocks
    assert np.all(r.first_token[fits] > w.arrival[fits])
    assert np.all(r.finish[fits] >= r.first_token[fits])


@pytest.mark.parametrize("policy_name", ["fcfs", "sjf", "trail", "gittins", "oracle"])
def test_jumps_equal_single_steps(policy_name):
    w = _random_workload(11, 120, rate=40.0, max_len=400)
    policy = make_policy(policy_name, CostModel.from_profile(TINY), bucket_tokens=32)
    fast = simulate(w, policy, TINY)
    slow = simulate(w, policy, TINY, SimConfig(max_macro_steps=1))
    hosted = dataclasses.replace(TINY, host_per_request_s=1e-3, host_per_step_s=2e-4)
    hosted_fast = simulate(w, policy, hosted)
    hosted_slow = simulate(w, policy, hosted, SimConfig(max_macro_steps=1))
    np.testing.assert_allclose(hosted_fast.finish, hosted_slow.finish, rtol=1e-9)
    assert hosted_fast.host_s == pytest.approx(hosted_slow.host_s, rel=1e-9)
    assert fast.steps == slow.steps
    assert fast.busy_s == pytest.approx(slow.busy_s, rel=1e-9)
    assert fast.iterations < slow.iterations / 2
    np.testing.assert_allclose(fast.finish, slow.finish, rtol=1e-9)
    np.testing.assert_allclose(fast.first_token, slow.first_token, rtol=1e-9)
    assert fast.memory_preemptions == slow.memory_preemptions


def test_memory_pressure_preempts_and_still_finishes_everything():
    w = _random_workload(5, 80, rate=500.0, max_len=600)
    r = simulate(w, make_policy("fcfs"), TINY, SimConfig(check_invariants=True))
    assert r.memory_preemptions > 0
    # the newest-admitted victim rule keeps the oldest request running: it is never preempted
    assert r.preemptions[r.admit_order[0]] == 0
    assert r.completed.sum() == (~r.rejected).sum()
    assert np.array_equal(r.generated[~r.rejected], w.output_len[~r.rejected])


@pytest.fixture(scope="module")
def overloaded(llama_records):
    """Real CASTILLO Llama-3.1-8B requests at 50 req/s on the H100 profile (FCFS queues)."""
    arrivals = poisson_arrivals(1500, 50.0, seed=0)
    return build_workload(arrivals, llama_records, resolve_predictor("samples"), seed=0)


def test_fcfs_keeps_arrival_order(overloaded):
    r = simulate(overloaded, make_policy("fcfs"), load_profile("llama-3.1-8b-h100"))
    assert r.summary()["mean_ttft_s"] > 1.0  # requests queue
    assert r.admit_order == sorted(r.admit_order, key=lambda i: (overloaded.arrival[i], i))
    assert len(r.admit_order) == len(overloaded)


def test_summary_after_a_warmup_scores_only_later_arrivals(overloaded):
    """A steady-state summary leaves out the requests that arrived while the engine was filling."""
    r = simulate(overloaded, make_policy("fcfs"), load_profile("llama-3.1-8b-h100"))
    span = float(r.arrival.max() - r.arrival.min())
    full, steady = r.summary(), r.summary(warmup_s=0.5 * span)
    later = r.completed & (r.arrival >= r.arrival.min() + 0.5 * span)
    assert steady["measured"] == int(later.sum()) < full["completed"]
    assert steady["mean_ttlt_s"] == pytest.approx(float((r.finish - r.arrival)[later].mean()))
    assert steady["mean_ttlt_s"] > full["mean_ttlt_s"]  # the queue builds up: later requests wait longer
    assert steady["completed"] == full["completed"] and "measured" not in full


def test_oracle_is_not_beaten_and_gittins_beats_fcfs(overloaded):
    profile = load_profile("llama-3.1-8b-h100")
    cost = CostModel.from_profile(profile)
    means = {
        name: simulate(overloaded, make_policy(name, cost), profile).summary()["mean_ttlt_s"]
        for name in ("fcfs", "sjf", "tie", "gittins", "oracle")
    }
    assert means["oracle"] <= min(means.values()) * 1.02
    assert means["gittins"] < 0.9 * means["fcfs"]


def test_gittins_with_exact_lengths_is_the_oracle(overloaded, llama_records):
    """The ``exact`` predictor is the perfect-information bound: Gittins reading it orders as SRPT does."""
    profile = load_profile("llama-3.1-8b-h100")
    cost = CostModel.from_profile(profile)
    exact = build_workload(
        poisson_arrivals(1500, 50.0, seed=0), llama_records, resolve_predictor("exact"), seed=0
    )
    np.testing.assert_array_equal(exact.output_len, overloaded.output_len)
    oracle = simulate(overloaded, make_policy("oracle", cost), profile).summary()["mean_ttlt_s"]
    informed = simulate(exact, make_policy("gittins", cost), profile).summary()["mean_ttlt_s"]
    uncertain = simulate(overloaded, make_policy("gittins", cost), profile).summary()["mean_ttlt_s"]
    assert informed == pytest.approx(oracle, rel=0.01)
    assert informed < uncertain


def test_cost_aware_preemption_beats_naive_preemption(llama_records):
    profile = load_profile("qwen3-32b-h800")
    w = build_workload(
        poisson_arrivals(800, 7.0, seed=1), llama_records, resolve_predictor("samples"), seed=1
    )
    gittins = make_policy("gittins", CostModel.from_profile(profile))
    careful = simulate(w, gittins, profile)
    naive = simulate(w, gittins, profile, SimConfig(preemption=PreemptionRule(naive=True, max_per_step=4)))
    assert naive.policy_preemptions > careful.policy_preemptions
    assert careful.summary()["mean_ttlt_s"] < naive.summary()["mean_ttlt_s"]


def test_a_request_larger_than_the_cache_is_rejected_not_hung():
    w = Workload(np.array([0.0, 0.1]), np.array([4000, 10]), np.array([10, 10]))
    r = simulate(w, make_policy("fcfs"), TINY)
    assert list(r.rejected) == [True, False] and r.summary()["completed"] == 1
