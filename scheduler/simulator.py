"""A discrete-event simulator of continuous batching as vLLM v1 does it.

Every engine step: running requests get their tokens first (one per decoding sequence, a chunk for a
sequence still prefilling) within a token budget; KV blocks (``block_size`` tokens) are allocated
for the tokens computed, and when they run out the most recently admitted running request (vLLM's
FCFS rule; ``SimConfig.memory_victim = "worst_key"`` takes the worst-keyed one instead) is preempted
by recompute (its blocks are freed; it waits again and later re-prefills its prompt and every token
it generated). A preemptive policy may also displace a running request for a waiting one when
:class:`~sagepred.scheduler.policies.PreemptionRule` says it pays. Then, if nothing was preempted,
waiting requests are admitted in key order while sequence slots, budget and blocks last. The step
takes ``profile.step_time(batched tokens, KV tokens read)``; a sequence whose context is complete
samples one token.

Runs of identical decode-only steps (no arrival, completion, memory shortage or key refresh that
could change a decision) are advanced in one closed-form jump, which is exact: the result equals
stepping one by one (``SimConfig.max_macro_steps = 1``) up to float rounding.

:class:`Engine` is the same engine, steppable: requests are submitted over time and
:meth:`Engine.advance_until` runs the steps that start before a time (a cluster of them behind a
router is :mod:`sagepred.scheduler.cluster`). ``simulate()`` is one engine given every request at once.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.keys import KeyCache
from sagepred.scheduler.policies import (
    DRAW_SEED,
    Policy,
    PreemptionRule,
    RequestState,
    SlackConfig,
    SlackGuard,
)
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.workload import Workload


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings beyond the engine profile."""

    preemption: PreemptionRule = field(
        default_factory=PreemptionRule, metadata={"help": "when policies preempt"}
    )
    max_macro_steps: int | None = field(
        default=None, metadata={"help": "cap on steps jumped at once (1: no jumps)"}
    )
    memory_victim: str = field(
        default="newest",
        metadata={
            "help": "who is preempted when KV blocks run out: 'newest' admitted (vLLM's FCFS rule; least "
            "context to recompute) or 'worst_key' (vLLM's priority rule)"
        },
    )
    check_invariants: bool = field(
        default=False, metadata={"help": "assert memory accounting every step (slow)"}
    )
    key_chunk: int = field(default=8192, metadata={"help": "rows per batch when precomputing policy keys"})
    max_wait_s: float | None = field(
        default=None,
        metadata={
            "help": "the plug-in's starvation bound: a request waiting longer than this since arrival goes ahead "
            "of every key (oldest first), displaces a running request without the cost check and is not "
            "preempted by the policy (None: off)"
        },
    )
    slack: SlackConfig | None = field(
        default=None,
        metadata={
            "help": "the slack guard: a request whose slack to its virtual-FCFS deadline runs out is promoted "
            "like a starved one, earliest deadline first (None or epsilon inf: off; see SlackGuard)"
        },
    )


@dataclass
class SimResult:
    """Per-request outcomes of one simulation."""

    policy: str
    arrival: np.ndarray
    prompt_len: np.ndarray
    output_len: np.ndarray
    generated: np.ndarray
    first_token: np.ndarray
    finish: np.ndarray
    rejected: np.ndarray
    preemptions: np.ndarray
    memory_preemptions: int
    policy_preemptions: int
    steps: int
    iterations: int
    admit_order: list[int]
    max_blocks_used: int
    num_blocks: int
    wall_s: float
    busy_s: float = 0.0
    """Engine seconds spent in steps (the makespan less the idle gaps between arrivals and host time)."""
    host_s: float = 0.0
    """Engine-loop seconds outside steps: the profile's host time per request taken in and per step."""

    @property
    def completed(self) -> np.ndarray:
        return np.isfinite(self.finish)

    def measured(self, warmup_s: float = 0.0) -> np.ndarray:
        """Completed requests that arrived ``warmup_s`` or more after the first arrival (all completed
        ones at 0): the steady-state sample of a long run, without the empty engine's first minutes."""
        done = self.completed
        if warmup_s > 0 and self.arrival.size:
            done = done & (self.arrival >= self.arrival.min() + warmup_s)
        return done

    def summary(self, warmup_s: float = 0.0) -> dict[str, Any]:
        """The report row: TTLT/TTFT statistics in seconds, throughput, counts.

        With ``warmup_s`` the latency statistics cover only the requests that arrived that long after
        the first (:meth:`measured`); throughput and counts still cover the whole run.
        """
        done = self.completed
        measured = self.measured(warmup_s)
        ttlt = (self.finish - self.arrival)[measured]
        ttft = (self.first_token - self.arrival)[measured]
        span = float(self.finish[done].max() - self.arrival.min()) if done.any() else 0.0
        tokens = float(self.output_len[done].sum())

        def stat(values: np.ndarray, fn: Any) -> float | None:
            return float(fn(values)) if values.size else None

        return {
            "mean_ttlt_s": stat(ttlt, np.mean),
            "p50_ttlt_s": stat(ttlt, np.median),
            "p99_ttlt_s": stat(ttlt, lambda v: np.percentile(v, 99)),
            "mean_ttft_s": stat(ttft, np.mean),
            "throughput_tok_s": tokens / span if span > 0 else None,
            "makespan_s": span,
            "completed": int(done.sum()),
            "submitted": len(self.arrival),
            "rejected": int(self.rejected.sum()),
            "preemptions": int(self.memory_preemptions + self.policy_preemptions),
            "policy_preemptions": int(self.policy_preemptions),
            "memory_preemptions": int(self.memory_preemptions),
            "steps": int(self.steps),
            "busy_s": round(self.busy_s, 6),
            "host_s": round(self.host_s, 6),
            "sim_wall_s": round(self.wall_s, 3),
            **({"warmup_s": warmup_s, "measured": int(measured.sum())} if warmup_s > 0 else {}),
        }


def workload_keys(policy: Policy, workload: Workload, chunk: int = 8192) -> KeyCache:
    """The policy's keys for every bucket each request of ``workload`` reaches (its length is known)."""
    needs_dist = workload.dist is not None and policy.needs_prediction

    def state(rows: np.ndarray, ages: np.ndarray) -> RequestState:
        return RequestState(
            arrival=workload.arrival[rows],
            prompt_len=workload.prompt_len[rows].astype(np.float64),
            age=np.asarray(ages, dtype=np.float64),
            dist=_take(workload.dist, rows) if needs_dist else None,  # type: ignore[arg-type]
            true_len=workload.output_len[rows].astype(np.float64),
        )

    cache = KeyCache(policy, chunk=chunk)
    cache.fill(workload.output_len, state)
    return cache


def _take(dist: LengthDistribution, rows: np.ndarray) -> LengthDistribution:
    """Rows of a batch (also when the batch has one row, which ``dist[rows]`` would not repeat)."""
    if len(dist) == 1:
        return LengthDistribution(
            np.repeat(dist.row_knots, len(rows), 0),
            np.repeat(dist.cdf_at_knots, len(rows), 0),
            kind=dist.kind,
        )
    return dist[rows]


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def guarded_config(policy: Policy, config: SimConfig | None) -> SimConfig | None:
    """``config`` for ``policy``: FCFS, the baseline every guard is measured against, runs without the
    slack guard (its deadline order would reorder FCFS itself)."""
    if config is None or policy.name != "fcfs" or config.slack is None:
        return config
    return dataclasses.replace(config, slack=None)


def simulate(
    workload: Workload, policy: Policy, profile: EngineProfile, config: SimConfig | None = None
) -> SimResult:
    """Replay ``workload`` through the engine ``profile`` under ``policy``."""
    return _Run(workload, policy, profile, config or SimConfig()).run()


@dataclass
class _StepPlan:
    """What one engine step will compute: tokens and new KV blocks per running request (aligned)."""

    tokens: np.ndarray
    new_blocks: np.ndarray
    budget: int
    free_after: int
    preempted: bool
    one_each: bool = False
    """Every running request takes exactly one token and needs no more (a decode step if none is new)."""
    admitted: list[int] = field(default_factory=list)
    admit_tokens: list[int] = field(default_factory=list)


class _Run:
    """The state of one simulation and its steps: arrivals, planning the running requests' tokens
    (memory preemption), admission and policy preemption, the length of the step (a decode-run
    jump), then applying it (first tokens, completions)."""

    def __init__(self, workload: Workload, policy: Policy, profile: EngineProfile, config: SimConfig) -> None:
        self.started = time.perf_counter()
        self.policy, self.profile, self.config = policy, profile, config
        self.rule = config.preemption
        self.table = workload_keys(policy, workload, chunk=config.key_chunk)
        n = self.n = len(workload)
        self.bs = profile.block_size
        self.num_blocks = profile.num_blocks
        self.max_macro = config.max_macro_steps or 1 << 60
        self.newest_victim = config.memory_victim == "newest"
        self.refresh = (
            policy.refresh_tokens if (policy.preemptive and not policy.keys_never_increase) else None
        )

        self.arrival = workload.arrival
        self.prompt = workload.prompt_len.astype(np.int64)
        self.out_len = workload.output_len.astype(np.int64)
        self.gen = np.zeros(n, dtype=np.int64)
        self.computed = np.zeros(n, dtype=np.int64)
        self.blocks = np.zeros(n, dtype=np.int64)
        self.preempt_count = np.zeros(n, dtype=np.int64)
        self.policy_preempt_count = np.zeros(n, dtype=np.int64)
        self.first_token = np.full(n, np.nan)
        self.finish = np.full(n, np.inf)
        self.rejected = _ceil_div(self.prompt + self.out_len, self.bs) > self.num_blocks
        self.admitted_once = np.zeros(n, dtype=bool)
        self.where = np.zeros(n, dtype=np.int8)
        """0: not waiting, 1: in ``waiting``, 2: in ``starved``."""
        self.edf = self.arrival.astype(np.float64).copy()
        """Order among promoted requests: arrival, or the slack guard's deadline."""
        self.promote_at = np.full(n, np.inf)
        self.slack = config.slack if config.slack is not None and np.isfinite(config.slack.epsilon) else None
        if self.slack is not None:
            if workload.dist is None:
                raise ValueError("the slack guard needs predicted distributions")
            self.pred_mean = workload.dist.mean()
            self.pred_tail = workload.dist.quantile(self.slack.quantile)
            if self.slack.target_quantile is not None:
                levels = np.random.default_rng(DRAW_SEED).uniform(0.0, 1.0, n)
                self.pred_drawn = workload.dist.quantile(levels)
                self.pred_median = workload.dist.quantile(0.5)
        self._reset_engine()
        self.incoming: list[int] = list(range(n))
        """Requests submitted to this engine, in arrival order (``simulate``: all of them)."""
        self.remaining = int(n - self.rejected.sum())

    def _reset_engine(self) -> None:
        """The state of one engine (queues, running batch, memory, clock, counters); per-request arrays
        and the key table are shared by the engines of a cluster (a request lives on one of them)."""
        self.admit_order: list[int] = []

        self.waiting: list[tuple[float, float, int]] = []
        self.starved: list[tuple[float, int]] = []
        """Waiting requests past the starvation bound, oldest first (their ``waiting`` entries are stale)."""
        self.deadlines: list[tuple[float, int]] = []
        self.num_waiting = 0
        self.max_wait = self.config.max_wait_s
        self.guard = SlackGuard(self.slack, self.profile.max_num_seqs) if self.slack is not None else None
        """This engine's virtual FCFS clock (the slack guard)."""
        self.guarded = self.max_wait is not None or self.guard is not None
        self.running = np.zeros(0, dtype=np.int64)
        self.free = self.num_blocks
        self.now = 0.0
        self.next_arr = 0
        self.steps = self.iterations = 0
        self.busy_s = self.host_s = 0.0
        self.pending_host_s = 0.0
        """Host time of requests taken in since the last step, spent before the next one."""
        self.memory_preemptions = self.policy_preemptions = 0
        self.max_used = 0
        self.incoming = []
        self.remaining = 0
        self.horizon = math.inf
        """No request arrives at this engine before this time other than those in ``incoming``."""

    def run(self) -> SimResult:
        self.advance_until(math.inf)
        return self._result()

    def advance_until(self, until: float) -> None:
        """Run the steps that start before ``until`` (a step may end after it)."""
        while self.remaining > 0 and self.now < until:
            self.iterations += 1
            self._admit_arrivals()
            if self.running.size == 0 and not self.num_waiting:
                if self.next_arr >= len(self.incoming):
                    break
                self.now = max(self.now, float(self.arrival[self.incoming[self.next_arr]]))
                continue
            plan = self._plan_running()
            if not plan.preempted:
                self._admit_waiting(plan)
            self._start_admitted(plan)
            scheduled = plan.tokens > 0
            if not scheduled.any():
                if self.next_arr < len(self.incoming):
                    self.now = max(self.now, float(self.arrival[self.incoming[self.next_arr]]))
                    continue
                raise RuntimeError("simulator stalled: nothing schedulable and no arrivals left")
            k, dt = self._step_length(plan, scheduled)
            self._apply(plan, scheduled, k, dt)

    # --- queues

    def _push(self, i: int) -> None:
        self.num_waiting += 1
        if self._is_starved(i):
            self.where[i] = 2
            heapq.heappush(self.starved, (float(self.edf[i]), i))
            return
        key = float(self.table.keys(np.array([i]), self.gen[i : i + 1])[0])
        self.where[i] = 1
        heapq.heappush(self.waiting, (key, float(self.arrival[i]), i))
        if self.max_wait is not None:
            heapq.heappush(self.deadlines, (float(self.arrival[i]) + self.max_wait, i))
        if self.guard is not None:
            heapq.heappush(self.deadlines, (float(self.promote_at[i]), i))

    def _is_starved(self, i: int) -> bool:
        return self.now > self.promote_at[i] or self._past_max_wait(i)

    def _promote_starved(self) -> None:
        """Move waiting requests past the starvation bound to the head of the queue."""
        while self.deadlines and self.now > self.deadlines[0][0]:
            _, i = heapq.heappop(self.deadlines)
            if self.where[i] == 1:
                self.where[i] = 2
                heapq.heappush(self.starved, (float(self.edf[i]), i))

    def _head(self) -> int:
        """The waiting request admitted next (starved ones first); stale entries are dropped."""
        if self.starved:
            return self.starved[0][1]
        while self.where[self.waiting[0][2]] != 1:
            heapq.heappop(self.waiting)
        return self.waiting[0][2]

    def _pop_head(self) -> None:
        i = heapq.heappop(self.starved)[1] if self.starved else heapq.heappop(self.waiting)[2]
        self.where[i] = 0
        self.num_waiting -= 1

    def _preempt(self, i: int) -> None:
        """Preemption by recompute: ``i`` frees its blocks and waits again."""
        self.free += int(self.blocks[i])
        self.blocks[i] = 0
        self.computed[i] = 0
        self.preempt_count[i] += 1
        self._push(i)

    def _admit_arrivals(self) -> None:
        incoming, known = self.incoming, len(self.incoming)
        taken_from = self.next_arr
        while self.next_arr < known and self.arrival[incoming[self.next_arr]] <= self.now:
            i = incoming[self.next_arr]
            if not self.rejected[i]:
                if self.guard is not None:
                    deadline, promote = self.guard.admit(
                        float(self.arrival[i]),
                        float(self.pred_mean[i]),
                        float(self.pred_tail[i]),
                        *(
                            (float(self.pred_drawn[i]), float(self.pred_median[i]))
                            if self.guard.targets_tail
                            else ()
                        ),
                    )
                    self.edf[i], self.promote_at[i] = deadline, promote
                self._push(i)
            self.next_arr += 1
        self.pending_host_s += (self.next_arr - taken_from) * self.profile.host_per_request_s
        if self.guarded:
            self._promote_starved()

    # --- step planning

    def _plan_running(self) -> _StepPlan:
        """Running requests take their tokens within the budget; a memory shortage preempts (the
        newest or the worst-keyed) until the rest fit."""
        prompt, gen, computed, bs = self.prompt, self.gen, self.computed, self.bs
        budget_total = self.profile.max_num_batched_tokens
        preempted = False
        while True:
            running = self.running
            need = prompt[running] + gen[running] - computed[running]
            cum = np.cumsum(need)
            tokens = np.clip(budget_total - (cum - need), 0, need)
            if not self.profile.chunked_prefill:
                tokens = np.where(tokens == need, tokens, 0)
            new_blocks = _ceil_div(computed[running] + tokens, bs) - self.blocks[running]
            short = int(new_blocks.sum()) - self.free
            if short <= 0 or running.size == 0:
                break
            victim = self._memory_victim(running)
            i = int(running[victim])
            self.running = np.delete(running, victim)
            self._preempt(i)
            self.memory_preemptions += 1
            preempted = True
        return _StepPlan(
            tokens=tokens,
            new_blocks=new_blocks,
            budget=budget_total - int(tokens.sum()),
            free_after=self.free - int(new_blocks.sum()),
            preempted=preempted,
            one_each=bool(need.size) and bool((need == 1).all()) and bool((tokens == 1).all()),
        )

    def _memory_victim(self, running: np.ndarray) -> int:
        """Position in ``running`` of the request vLLM preempts when KV blocks run out: the newest
        admission or the worst key, among requests not promoted by a guard (they were promoted to
        finish in time; all promoted: among all)."""
        candidates = np.arange(running.size)
        if self.guarded:
            unguarded = candidates[~self._starved_now(running)]
            candidates = unguarded if unguarded.size else candidates
        if self.newest_victim:
            return int(candidates[-1])
        keys = self.table.keys(running[candidates], self.gen[running[candidates]])
        return int(candidates[int(np.argmax(keys))])

    def _past_max_wait(self, i: int) -> bool:
        """Whether request ``i`` waited past the starvation bound (it then displaces without the cost check)."""
        return self.max_wait is not None and self.now - float(self.arrival[i]) > self.max_wait

    def _starved_now(self, rows: np.ndarray) -> np.ndarray:
        starved = self.now > self.promote_at[rows]
        if self.max_wait is not None:
            starved |= self.now - self.arrival[rows] > self.max_wait
        return starved

    def _admit_waiting(self, plan: _StepPlan) -> None:
        """Admit waiting requests in key order while slots, budget and blocks last; a preemptive policy
        may displace running requests for the head of the queue when that pays."""
        policy_done = 0
        while self.num_waiting:
            w = self._head()
            if self._try_admit(plan, w):
                continue
            if (
                not self.policy.preemptive
                or policy_done >= self.rule.max_per_step
                or self.running.size == 0
                or plan.budget <= 0
            ):
                break
            if not self._policy_preempt(plan, w):
                break
            policy_done += 1

    def _try_admit(self, plan: _StepPlan, w: int) -> bool:
        need_w = int(self.prompt[w] + self.gen[w])
        tok_w = min(need_w, plan.budget)
        if not self.profile.chunked_prefill and tok_w < need_w:
            tok_w = 0
        blocks_w = -(-tok_w // self.bs)
        slots = self.running.size + len(plan.admitted) < self.profile.max_num_seqs
        if not (slots and tok_w > 0 and blocks_w <= plan.free_after):
            return False
        self._pop_head()
        plan.admitted.append(w)
        plan.admit_tokens.append(tok_w)
        plan.budget -= tok_w
        plan.free_after -= blocks_w
        return True

    def _policy_preempt(self, plan: _StepPlan, w: int) -> bool:
        """Displace the worst-keyed preemptable running request for ``w`` if the rule says it pays."""
        running, gen, computed, prompt = self.running, self.gen, self.computed, self.prompt
        table = self.table
        ages = gen[running]
        forced = self._past_max_wait(w) or (
            self.guard is not None and self.slack.displace and self.where[w] == 2
        )
        value_w = float(table.values(np.array([w]), gen[w : w + 1])[0])
        values = table.values(running, ages)
        if not forced and not self.rule.naive and float(values.min()) <= value_w:
            return (
                False  # no victim can pay: the rule needs wait (the least value) − value(w) > a recompute ≥ 0
            )
        ok = (ages <= table.limits(running, ages)) & (
            self.policy_preempt_count[running] < self.rule.max_per_request
        )
        ok &= computed[running] >= prompt[running] + ages - 1
        if self.guarded:
            ok &= ~self._starved_now(running)
        if not ok.any():
            return False
        keys = np.where(ok, table.keys(running, ages), -np.inf)
        victim = int(np.argmax(keys))
        i = int(running[victim])
        recompute = float(self.policy.cost.recompute(prompt[i] + gen[i]))
        if not forced and not self.rule.pays(value_w, float(values[victim]), recompute, float(values.min())):
            return False
        plan.budget += int(plan.tokens[victim])
        plan.free_after += int(self.blocks[i] + plan.new_blocks[victim])
        plan.tokens = np.delete(plan.tokens, victim)
        plan.new_blocks = np.delete(plan.new_blocks, victim)
        self.running = np.delete(running, victim)
        self._preempt(i)
        self.policy_preempt_count[i] += 1
        self.policy_preemptions += 1
        plan.preempted = True
        return True

    def _start_admitted(self, plan: _StepPlan) -> None:
        if not plan.admitted:
            return
        for i in plan.admitted:
            if not self.admitted_once[i]:
                self.admitted_once[i] = True
                self.admit_order.append(i)
        admit_tokens = np.asarray(plan.admit_tokens, dtype=np.int64)
        self.running = np.concatenate([self.running, np.asarray(plan.admitted, dtype=np.int64)])
        plan.tokens = np.concatenate([plan.tokens, admit_tokens])
        plan.new_blocks = np.concatenate([plan.new_blocks, _ceil_div(admit_tokens, self.bs)])

    # --- the step's length: one step, or a run of identical decode-only steps

    def _step_length(self, plan: _StepPlan, scheduled: np.ndarray) -> tuple[int, float]:
        """``(k, dt)``: how many identical steps to take at once and how long they compute together
        (host time between them is added when they are applied)."""
        p = self.profile
        running, computed = self.running, self.computed
        if self._decode_only(plan) and self.max_macro > 1:
            b = running.size
            c0 = p.step_time(b, float(computed[running].sum() + b))
            c1 = p.per_kv_token_s * b
            k = self._jump_steps(c0 + p.host_per_step_s, c1)
            return k, k * c0 + c1 * k * (k - 1) / 2.0
        kv_read = int((computed[running] + plan.tokens)[scheduled].sum())
        return 1, p.step_time(int(plan.tokens.sum()), kv_read)

    def _decode_only(self, plan: _StepPlan) -> bool:
        running = self.running
        return (
            not plan.admitted and not plan.preempted and plan.one_each and bool(self.gen[running].min() >= 1)
        )

    def _jump_steps(self, c0: float, c1: float) -> int:
        """Decode steps until something could change a decision: a completion, the next arrival (unless
        it cannot be admitted anyway and takes no host time), a key refresh while requests wait, or
        running out of blocks."""
        running, gen = self.running, self.gen
        start = self.now + self.pending_host_s
        k = min(int((self.out_len[running] - gen[running]).min()), self.max_macro)
        skip_arrivals = (
            running.size >= self.profile.max_num_seqs
            and not self.policy.preemptive
            and not self.profile.host_per_request_s  # an arrival's host time falls between two steps
        )
        if not skip_arrivals and k > 1:
            if self.next_arr < len(self.incoming):
                gap = float(self.arrival[self.incoming[self.next_arr]]) - start
                k = _steps_to_reach(gap, c0, c1, k)
            elif self.horizon < math.inf:
                k = _steps_to_reach(self.horizon - start, c0, c1, k)
        if self.refresh is not None and self.num_waiting and k > 1:
            k = min(k, int((self.refresh - gen[running] % self.refresh).min()))
        if self.deadlines and self.num_waiting and k > 1:
            k = _steps_to_reach(self.deadlines[0][0] - start, c0, c1, k)
        if k > 1:
            ctx = self.computed[running]
            have = int(self.blocks[running].sum())
            if int(_ceil_div(ctx + k, self.bs).sum()) - have > self.free:
                lo, hi = 1, k
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if int(_ceil_div(ctx + mid, self.bs).sum()) - have <= self.free:
                        lo = mid
                    else:
                        hi = mid - 1
                k = lo
        return k

    # --- applying the step

    def _apply(self, plan: _StepPlan, scheduled: np.ndarray, k: int, dt: float) -> None:
        """Compute the step's tokens, allocate their blocks, sample tokens, finish complete requests."""
        computed, blocks, gen, prompt = self.computed, self.blocks, self.gen, self.prompt
        sched = self.running[scheduled]
        step_tokens = plan.tokens[scheduled] if k == 1 else np.full(sched.size, k, dtype=np.int64)
        computed[sched] += step_tokens
        nb = _ceil_div(computed[sched], self.bs)
        self.free -= int((nb - blocks[sched]).sum())
        blocks[sched] = nb
        if self.free < 0:
            raise AssertionError("KV blocks over capacity")
        used = self.num_blocks - self.free
        self.max_used = max(self.max_used, used)
        if self.config.check_invariants:
            assert int(blocks.sum()) == used, "block accounting drifted"
        host = self.pending_host_s + k * self.profile.host_per_step_s
        self.pending_host_s = 0.0
        if k > 1:
            gen[sched] += k
        else:
            sampled = sched[computed[sched] == prompt[sched] + gen[sched]]
            gen[sampled] += 1
            firsts = sampled[np.isnan(self.first_token[sampled])]
            self.first_token[firsts] = self.now + host + dt
        if self.guard is not None:
            self.guard.observe(dt, k)
        self.now += host + dt
        self.steps += k
        self.busy_s += dt
        self.host_s += host
        self._complete(sched[gen[sched] >= self.out_len[sched]])

    def _complete(self, done: np.ndarray) -> None:
        if not done.size:
            return
        self.finish[done] = self.now
        self.free += int(self.blocks[done].sum())
        self.blocks[done] = 0
        self.running = self.running[np.isinf(self.finish[self.running])]
        self.remaining -= done.size

    def _result(self) -> SimResult:
        return SimResult(
            policy=self.policy.name,
            arrival=self.arrival,
            prompt_len=self.prompt,
            output_len=self.out_len,
            generated=self.gen,
            first_token=self.first_token,
            finish=self.finish,
            rejected=self.rejected,
            preemptions=self.preempt_count,
            memory_preemptions=self.memory_preemptions,
            policy_preemptions=self.policy_preemptions,
            steps=self.steps,
            iterations=self.iterations,
            admit_order=self.admit_order,
            max_blocks_used=self.max_used,
            num_blocks=self.num_blocks,
            wall_s=time.perf_counter() - self.started,
            busy_s=self.busy_s,
            host_s=self.host_s,
        )


class Engine(_Run):
    """One engine of a cluster: the model ``simulate()`` runs, with requests submitted over time.

    The engines made by :meth:`replicas` share the workload's per-request arrays and the policy's key
    table (each request is served by one engine); each has its own queues, batch, KV blocks and clock.
    """

    @classmethod
    def replicas(
        cls,
        workload: Workload,
        policy: Policy,
        profile: EngineProfile,
        count: int,
        config: SimConfig | None = None,
    ) -> list[Engine]:
        """``count`` idle engines over ``workload`` (no request submitted yet)."""
        first = cls(workload, policy, profile, config or SimConfig())
        first._reset_engine()
        out = [first]
        for _ in range(count - 1):
            engine = copy.copy(first)
            engine._reset_engine()
            out.append(engine)
        return out

    def submit(self, ids: list[int]) -> None:
        """Requests (rows of the workload, in arrival order, none earlier than those submitted before)."""
        self.incoming.extend(ids)
        self.remaining += len(ids) - int(self.rejected[ids].sum())

    def result(self) -> SimResult:
        """This engine's counters over the shared per-request arrays (only its requests are its own)."""
        return self._result()


def _steps_to_reach(gap: float, c0: float, c1: float, limit: int) -> int:
    """Fewest steps ``k ≥ 1`` with ``k·c0 + c1·k(k−1)/2 ≥ gap``, or ``limit`` if that is fewer (a gap
    too long for float steps to count, such as the next arrival at a rate of 1e-50/s, stops there)."""
    if gap <= 0:
        return 1

    def total(k: int) -> float:
        return k * c0 + c1 * k * (k - 1) / 2.0

    if total(limit) < gap:
        return limit
    if c1 > 0:
        a, b = c1 / 2.0, c0 - c1 / 2.0
        k = math.ceil((-b + math.sqrt(b * b + 4 * a * gap)) / (2 * a))
    else:
        k = math.ceil(gap / c0)
    k = max(k, 1)
    while k > 1 and total(k - 1) >= gap:
        k -= 1
    while total(k) < gap:
        k += 1
    return k
