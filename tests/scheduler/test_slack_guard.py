"""The slack guard (a virtual-FCFS deadline per request, promotion when slack runs out) and
preemption by recompute re-prefilled in chunks under the token budget."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.experiment import arrivals_for
from sagepred.scheduler.policies import SlackConfig, SlackGuard, make_policy
from sagepred.scheduler.profile import EngineProfile, load_profile
from sagepred.scheduler.simulator import SimConfig, _Run, simulate
from sagepred.scheduler.traces import load_trace
from sagepred.scheduler.workload import Workload, build_workload, exact_predictor, samples_predictor

ONE_SEQ = EngineProfile(
    name="one-seq",
    step_base_s=0.01,
    per_token_s=1e-4,
    per_kv_token_s=1e-6,
    kv_capacity_tokens=4096,
    block_size=16,
    max_num_seqs=1,
    max_num_batched_tokens=512,
)


def _tight(batched_tokens: int) -> EngineProfile:
    """Four sequence slots over 1,024 KV tokens: two long requests run the blocks out."""
    return EngineProfile(
        name="tight",
        step_base_s=0.01,
        per_token_s=1e-4,
        per_kv_token_s=1e-6,
        kv_capacity_tokens=1024,
        block_size=16,
        max_num_seqs=4,
        max_num_batched_tokens=batched_tokens,
    )


def _sharp(lengths: np.ndarray) -> LengthDistribution:
    lengths = np.asarray(lengths, dtype=np.float64)
    return LengthDistribution(
        np.stack([np.zeros_like(lengths), 0.95 * lengths, 1.05 * lengths + 1], axis=1),
        np.tile([0.0, 0.0, 1.0], (len(lengths), 1)),
    )


def _long_then_shorts(n_short: int = 30) -> Workload:
    arrival = np.concatenate([[0.0, 0.001], 0.002 + 0.05 * np.arange(n_short)])
    out = np.concatenate([[5, 200], np.full(n_short, 5)]).astype(np.int64)
    return Workload(arrival, np.full(len(out), 8), out, _sharp(out))


def test_deadline_is_the_virtual_fcfs_finish_times_one_plus_epsilon():
    guard = SlackGuard(SlackConfig(epsilon=0.5, prior_step_s=0.01, floor_quantile=None), slots=1)
    d0, p0 = guard.admit(0.0, mean_len=100, remaining_len=120)
    assert d0 == pytest.approx(1.5) and p0 == pytest.approx(1.5 - 1.2)
    # the one slot is busy until 1.0: the second request's FCFS finish is 1.0 + 10 × 0.01
    d1, p1 = guard.admit(0.5, mean_len=10, remaining_len=10)
    assert d1 == pytest.approx(0.5 + 1.5 * 0.6) and p1 == pytest.approx(d1 - 0.1)
    two = SlackGuard(SlackConfig(epsilon=0.0, prior_step_s=0.01, floor_quantile=None), slots=2)
    two.admit(0.0, 100, 100)
    assert two.admit(0.5, 10, 10)[0] == pytest.approx(0.6), "a free slot: no wait"
    guard.observe(dt=2.0, steps=10)
    assert 0.01 < guard.step_s < 0.2
    off = SlackGuard(SlackConfig(epsilon=float("inf")), slots=1)
    assert off.off and off.admit(0.0, 10, 10) == (np.inf, np.inf)
    with pytest.raises(InputError):
        SlackConfig(epsilon=-1.0)
    with pytest.raises(InputError):
        SlackConfig(quantile=1.0)


def test_a_request_whose_slack_runs_out_is_promoted():
    w = _long_then_shorts(n_short=80)
    plain = simulate(w, make_policy("gittins"), ONE_SEQ)
    guarded = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(slack=SlackConfig(epsilon=0.0)))
    assert plain.admit_order.index(1) == len(w) - 1, "unguarded, the long request is served last"
    assert guarded.admit_order.index(1) < len(w) // 2
    assert guarded.finish[1] < plain.finish[1] - 0.5
    assert guarded.completed.all() and (guarded.generated == w.output_len).all()


@pytest.mark.parametrize("epsilon", [float("inf"), 1e9])
def test_guard_off_and_the_large_epsilon_limit_are_the_inner_policy(epsilon):
    w = _long_then_shorts()
    plain = simulate(w, make_policy("gittins"), ONE_SEQ)
    guarded = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(slack=SlackConfig(epsilon=epsilon)))
    np.testing.assert_array_equal(guarded.finish, plain.finish)
    assert guarded.admit_order == plain.admit_order


def test_slack_guard_jumps_equal_single_steps():
    w = _long_then_shorts()
    config = SimConfig(slack=SlackConfig(epsilon=0.5))
    jumped = simulate(w, make_policy("gittins"), ONE_SEQ, config)
    stepped = simulate(w, make_policy("gittins"), ONE_SEQ, SimConfig(slack=config.slack, max_macro_steps=1))
    assert jumped.admit_order == stepped.admit_order
    np.testing.assert_allclose(jumped.finish, stepped.finish, rtol=0.02)


class _Recorder(_Run):
    """Records the tokens each request computes in each step."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.log: list[tuple[dict[int, int], np.ndarray, np.ndarray]] = []

    def _apply(self, plan, scheduled, k, dt) -> None:
        rows = self.running[scheduled]
        tokens = {int(i): int(t) for i, t in zip(rows, plan.tokens[scheduled], strict=True)}
        self.log.append((tokens, self.gen.copy(), self.preempt_count.copy()))
        super()._apply(plan, scheduled, k, dt)


def test_memory_preemption_frees_blocks_and_re_prefills_prompt_and_output_in_chunks():
    tight = _tight(batched_tokens=256)
    out = np.array([260, 400], dtype=np.int64)
    w = Workload(np.array([0.0, 0.001]), np.array([300, 300]), out, _sharp(out))
    run = _Recorder(w, make_policy("fcfs"), tight, SimConfig(max_macro_steps=1, check_invariants=True))
    result = run.run()
    assert result.memory_preemptions >= 1 and result.preemptions[1] >= 1, "the newest admission is the victim"
    assert result.completed.all() and (result.generated == out).all()
    # after its last preemption request 1 computes prompt + generated tokens again, in budget-sized chunks
    first = next(j for j, (_, _, count) in enumerate(run.log) if count[1] == result.preemptions[1])
    chunks, gen_at = [], None
    for tokens, gen, _ in run.log[first:]:
        t = tokens.get(1, 0)
        if t > 1:
            gen_at = int(gen[1]) if gen_at is None else gen_at
            chunks.append(t)
        elif chunks and t == 1:
            break
    assert gen_at is not None and gen_at > 0
    assert sum(chunks) == 300 + gen_at
    assert len(chunks) >= 2 and max(chunks) <= tight.max_num_batched_tokens


def test_guarded_p99_within_the_margin_of_fcfs_on_a_real_trace(data_dir, llama_records):
    """Mooncake arrivals, CASTILLO lengths near saturation: unguarded Gittins' p99 is far above FCFS's;
    with the default slack guard it is within the documented margin (docs/scheduler.md)."""
    profile = load_profile("llama-3.1-8b-h100")
    cost = CostModel.from_profile(profile)
    trace = load_trace(str(data_dir / "traces" / "mooncake" / "conversation_trace.jsonl"))
    w = build_workload(
        arrivals_for(trace, 2000, 40.0, 1), llama_records, lambda r, t: samples_predictor(r, t), seed=1
    )
    fcfs = simulate(w, make_policy("fcfs", cost), profile).summary()
    plain = simulate(w, make_policy("gittins", cost), profile).summary()
    guarded = simulate(w, make_policy("gittins", cost), profile, SimConfig(slack=SlackConfig())).summary()
    assert plain["p99_ttlt_s"] > 1.2 * fcfs["p99_ttlt_s"], "the load must starve long requests unguarded"
    assert guarded["p99_ttlt_s"] <= 1.10 * fcfs["p99_ttlt_s"]
    assert guarded["mean_ttlt_s"] < fcfs["mean_ttlt_s"]


def test_tail_floor_is_a_quantile_of_the_recent_virtual_latencies():
    config = SlackConfig(epsilon=0.0, prior_step_s=0.01, floor_quantile=0.5, floor_window=3)
    guard = SlackGuard(config, slots=100)  # never a wait: the virtual latency is mean × step
    assert guard.admit(0.0, 100, 100)[0] == pytest.approx(1.0)
    assert guard.admit(0.0, 300, 300)[0] == pytest.approx(3.0)
    # latencies seen: 1.0, 3.0, 0.1 → the floor (median) 1.0 lifts the short request's deadline
    deadline, promote = guard.admit(0.0, 10, 10)
    assert deadline == pytest.approx(1.0) and promote == pytest.approx(0.9)
    # the window holds three latencies: 1.0 leaves, 3.0, 0.1, 0.2 → median 0.2
    assert guard.admit(0.0, 20, 20)[0] == pytest.approx(0.2)
    no_floor = SlackGuard(SlackConfig(epsilon=0.0, prior_step_s=0.01, floor_quantile=None), slots=100)
    no_floor.admit(0.0, 300, 300)
    assert no_floor.admit(0.0, 10, 10)[0] == pytest.approx(0.1)
    with pytest.raises(InputError):
        SlackConfig(floor_quantile=1.5)
    with pytest.raises(InputError):
        SlackConfig(floor_window=0)


def test_a_request_past_its_guard_is_not_the_memory_victim():
    """KV blocks run out with two requests running: vLLM's worst-key victim is the long one, unless a
    guard has promoted it (it is then protected, the simulator's copy of the plug-in's rule)."""
    tight = _tight(batched_tokens=512)
    out = np.array([700, 260], dtype=np.int64)
    w = Workload(np.array([0.0, 2.0]), np.array([300, 300]), out, _sharp(out))
    config = {"memory_victim": "worst_key", "check_invariants": True}
    plain = simulate(w, make_policy("gittins"), tight, SimConfig(**config))
    bounded = simulate(w, make_policy("gittins"), tight, SimConfig(max_wait_s=2.0, **config))
    assert plain.preemptions[0] >= 1, "unguarded, the worst key (the long request) is the victim"
    assert bounded.preemptions[0] == 0 and bounded.preemptions[1] >= 1
    assert bounded.completed.all() and (bounded.generated == out).all()


def test_tail_target_gives_every_request_one_deadline_and_bounds_those_beyond_it():
    config = SlackConfig(epsilon=0.0, prior_step_s=0.01, target_quantile=0.5, floor_window=3)
    guard = SlackGuard(config, slots=100)  # never a wait: a drawn latency is drawn length × step
    assert guard.targets_tail
    assert guard.admit(0.0, 100, 100, drawn_len=100, median_len=100) == pytest.approx((1.0, 0.0))
    # drawn latencies 1.0, 3.0 → target 1.0: a short request may wait until the common target
    deadline, promote = guard.admit(0.0, 10, 10, drawn_len=300, median_len=10)
    assert deadline == pytest.approx(1.0) and promote == pytest.approx(0.9)
    # 1.0, 3.0, 5.0 → target 3.0; a median decode of 5.0 s misses it under any order: twice its FCFS latency
    assert guard.admit(2.0, 500, 500, drawn_len=500, median_len=500)[0] == pytest.approx(2.0 + 10.0)
    tighter = SlackGuard(dataclasses.replace(config, epsilon=-0.5), slots=100)
    assert tighter.admit(1.0, 100, 100, drawn_len=100, median_len=10)[0] == pytest.approx(1.5)
    # without drawn and median lengths the mean stands in for both: 1.0 s of decode misses a 0.5 s target
    assert tighter.admit(1.0, 100, 100)[0] == pytest.approx(1.0 + 2.0)
    assert not SlackGuard(SlackConfig(), slots=1).targets_tail
    with pytest.raises(InputError, match="non-negative"):
        SlackConfig(epsilon=-0.1)
    for bad in (
        {"target_quantile": 1.0},
        {"target_quantile": 0.99, "epsilon": -1.0},
        {"target_quantile": 0.9, "beyond_slowdown": 0.5},
    ):
        with pytest.raises(InputError):
            SlackConfig(**bad)


def test_tail_target_with_exact_lengths_holds_p99_and_keeps_more_of_the_gain(data_dir, llama_records):
    """With every length known (the ``exact`` predictor), per-request deadlines spend the mean gain
    protecting each long request at its FCFS latency; the tail target keeps p99 at FCFS's while keeping
    more of it (docs/scheduler.md, 'Tail target')."""
    profile = load_profile("llama-3.1-8b-h100")
    cost = CostModel.from_profile(profile)
    trace = load_trace(str(data_dir / "traces" / "mooncake" / "conversation_trace.jsonl"))
    w = build_workload(arrivals_for(trace, 2000, 40.0, 1), llama_records, exact_predictor, seed=1)

    def run(slack: SlackConfig | None, policy: str = "gittins") -> dict:
        return simulate(w, make_policy(policy, cost), profile, SimConfig(slack=slack)).summary()

    fcfs, floor = run(None, "fcfs"), run(SlackConfig())
    target = run(SlackConfig(epsilon=0.0, target_quantile=0.99))
    assert target["p99_ttlt_s"] <= 1.05 * fcfs["p99_ttlt_s"]
    assert target["mean_ttlt_s"] < floor["mean_ttlt_s"] < fcfs["mean_ttlt_s"]
