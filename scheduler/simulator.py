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
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.scheduler.keys import KeyCache
from sagepred.scheduler.policies import Policy, PreemptionRule, RequestState
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

    @property
    def completed(self) -> np.ndarray:
        return np.isfinite(self.finish)

    def summary(self) -> dict[str, Any]:
        """The report row: TTLT/TTFT statistics in seconds, throughput, counts."""
        done = self.completed
        ttlt = (self.finish - self.arrival)[done]
        ttft = (self.first_token - self.arrival)[done]
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
            "sim_wall_s": round(self.wall_s, 3),
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
            np.repeat(np.broadcast_to(dist.knots, (1, dist.knots.shape[1])), len(rows), 0),
            np.repeat(dist.cdf_at_knots, len(rows), 0),
            kind=dist.kind,
        )
    return dist[rows]


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def simulate(
    workload: Workload, policy: Policy, profile: EngineProfile, config: SimConfig | None = None
) -> SimResult:
    """Replay ``workload`` through the engine ``profile`` under ``policy``."""
    config = config or SimConfig()
    started = time.perf_counter()
    rule = config.preemption
    table = workload_keys(policy, workload, chunk=config.key_chunk)
    n = len(workload)
    bs = profile.block_size
    num_blocks = profile.num_blocks
    max_seqs = profile.max_num_seqs
    budget_total = profile.max_num_batched_tokens
    base, per_tok, per_kv = profile.step_base_s, profile.per_token_s, profile.per_kv_token_s
    max_macro = config.max_macro_steps or 1 << 60
    newest_victim = config.memory_victim == "newest"
    refresh = policy.refresh_tokens if (policy.preemptive and not policy.keys_never_increase) else None

    arrival = workload.arrival
    prompt = workload.prompt_len.astype(np.int64)
    out_len = workload.output_len.astype(np.int64)
    gen = np.zeros(n, dtype=np.int64)
    computed = np.zeros(n, dtype=np.int64)
    blocks = np.zeros(n, dtype=np.int64)
    preempt_count = np.zeros(n, dtype=np.int64)
    policy_preempt_count = np.zeros(n, dtype=np.int64)
    first_token = np.full(n, np.nan)
    finish = np.full(n, np.inf)
    rejected = _ceil_div(prompt + out_len, bs) > num_blocks
    admitted_once = np.zeros(n, dtype=bool)
    admit_order: list[int] = []

    waiting: list[tuple[float, float, int]] = []
    running = np.zeros(0, dtype=np.int64)
    free = num_blocks
    now = 0.0
    next_arr = 0
    steps = iterations = 0
    memory_preemptions = policy_preemptions = 0
    max_used = 0
    remaining = int(n - rejected.sum())

    def push(i: int) -> None:
        key = float(table.keys(np.array([i]), gen[i : i + 1])[0])
        heapq.heappush(waiting, (key, float(arrival[i]), i))

    def preempt(i: int) -> None:
        nonlocal free
        free += int(blocks[i])
        blocks[i] = 0
        computed[i] = 0
        preempt_count[i] += 1
        push(i)

    while remaining > 0:
        iterations += 1
        while next_arr < n and arrival[next_arr] <= now:
            if not rejected[next_arr]:
                push(next_arr)
            next_arr += 1
        if running.size == 0 and not waiting:
            if next_arr >= n:
                break
            now = max(now, float(arrival[next_arr]))
            continue

        # --- running requests take their tokens; memory shortage preempts (newest or worst-keyed)
        preempted_now = False
        while True:
            need = prompt[running] + gen[running] - computed[running]
            cum = np.cumsum(need)
            tokens = np.clip(budget_total - (cum - need), 0, need)
            if not profile.chunked_prefill:
                tokens = np.where(tokens == need, tokens, 0)
            new_blocks = _ceil_div(computed[running] + tokens, bs) - blocks[running]
            short = int(new_blocks.sum()) - free
            if short <= 0 or running.size == 0:
                break
            victim = running.size - 1 if newest_victim else int(np.argmax(table.keys(running, gen[running])))
            i = int(running[victim])
            running = np.delete(running, victim)
            preempt(i)
            memory_preemptions += 1
            preempted_now = True
        budget = budget_total - int(tokens.sum())
        free_after = free - int(new_blocks.sum())

        # --- policy preemption and admission of waiting requests
        admitted: list[int] = []
        admit_tokens: list[int] = []
        if not preempted_now:
            policy_done = 0
            while waiting:
                w = waiting[0][2]
                need_w = int(prompt[w] + gen[w])
                tok_w = min(need_w, budget)
                if not profile.chunked_prefill and tok_w < need_w:
                    tok_w = 0
                blocks_w = -(-tok_w // bs)
                slots = running.size + len(admitted) < max_seqs
                if slots and tok_w > 0 and blocks_w <= free_after:
                    heapq.heappop(waiting)
                    admitted.append(w)
                    admit_tokens.append(tok_w)
                    budget -= tok_w
                    free_after -= blocks_w
                    continue
                if (
                    not policy.preemptive
                    or policy_done >= rule.max_per_step
                    or running.size == 0
                    or budget <= 0
                ):
                    break
                ages = gen[running]
                ok = (ages <= table.limits(running, ages)) & (
                    policy_preempt_count[running] < rule.max_per_request
                )
                ok &= computed[running] >= prompt[running] + ages - 1
                if not ok.any():
                    break
                keys = np.where(ok, table.keys(running, ages), -np.inf)
                victim = int(np.argmax(keys))
                i = int(running[victim])
                value_w = float(table.values(np.array([w]), gen[w : w + 1])[0])
                values = table.values(running, ages)
                recompute = float(policy.cost.recompute(prompt[i] + gen[i]))
                if not rule.pays(value_w, float(values[victim]), recompute, float(values.min())):
                    break
                budget += int(tokens[victim])
                free_after += int(blocks[i] + new_blocks[victim])
                tokens = np.delete(tokens, victim)
                new_blocks = np.delete(new_blocks, victim)
                running = np.delete(running, victim)
                preempt(i)
                policy_preempt_count[i] += 1
                policy_preemptions += 1
                policy_done += 1
                preempted_now = True

        if admitted:
            adm = np.asarray(admitted, dtype=np.int64)
            for i in admitted:
                if not admitted_once[i]:
                    admitted_once[i] = True
                    admit_order.append(i)
            running = np.concatenate([running, adm])
            tokens = np.concatenate([tokens, np.asarray(admit_tokens, dtype=np.int64)])
            new_blocks = np.concatenate([new_blocks, _ceil_div(np.asarray(admit_tokens, dtype=np.int64), bs)])

        scheduled = tokens > 0
        if not scheduled.any():
            if next_arr < n:
                now = max(now, float(arrival[next_arr]))
                continue
            raise RuntimeError("simulator stalled: nothing schedulable and no arrivals left")

        # --- how many identical decode-only steps can be jumped
        k = 1
        decode_only = (
            not admitted
            and not preempted_now
            and bool(np.all(tokens == 1))
            and bool(np.all(computed[running] + 1 == prompt[running] + gen[running]))
            and bool(np.all(gen[running] >= 1))
        )
        if decode_only and max_macro > 1:
            b = running.size
            kv0 = float(computed[running].sum() + b)
            c0 = base + per_tok * b + per_kv * kv0
            c1 = per_kv * b
            k = min(int((out_len[running] - gen[running]).min()), max_macro)
            skip_arrivals = running.size >= max_seqs and not policy.preemptive
            if next_arr < n and not skip_arrivals and k > 1:
                gap = float(arrival[next_arr]) - now
                k = min(k, _steps_to_reach(gap, c0, c1))
            if refresh is not None and waiting and k > 1:
                k = min(k, int((refresh - gen[running] % refresh).min()))
            if k > 1:
                ctx = computed[running]
                have = int(blocks[running].sum())
                if int(_ceil_div(ctx + k, bs).sum()) - have > free:
                    lo, hi = 1, k
                    while lo < hi:
                        mid = (lo + hi + 1) // 2
                        if int(_ceil_div(ctx + mid, bs).sum()) - have <= free:
                            lo = mid
                        else:
                            hi = mid - 1
                    k = lo
            dt = k * c0 + c1 * k * (k - 1) / 2.0
        else:
            kv_read = int((computed[running] + tokens)[scheduled].sum())
            dt = base + per_tok * int(tokens.sum()) + per_kv * kv_read

        # --- apply
        sched = running[scheduled]
        step_tokens = tokens[scheduled] if k == 1 else np.full(sched.size, k, dtype=np.int64)
        computed[sched] += step_tokens
        nb = _ceil_div(computed[sched], bs)
        free -= int((nb - blocks[sched]).sum())
        blocks[sched] = nb
        if free < 0:
            raise AssertionError("KV blocks over capacity")
        used = num_blocks - free
        max_used = max(max_used, used)
        if config.check_invariants:
            assert int(blocks.sum()) == used, "block accounting drifted"
        if k > 1:
            gen[sched] += k
        else:
            sampled = sched[computed[sched] == prompt[sched] + gen[sched]]
            gen[sampled] += 1
            firsts = sampled[np.isnan(first_token[sampled])]
            first_token[firsts] = now + dt
        now += dt
        steps += k
        done = sched[gen[sched] >= out_len[sched]]
        if done.size:
            finish[done] = now
            free += int(blocks[done].sum())
            blocks[done] = 0
            running = running[~np.isin(running, done)]
            remaining -= done.size

    return SimResult(
        policy=policy.name,
        arrival=arrival,
        prompt_len=prompt,
        output_len=out_len,
        generated=gen,
        first_token=first_token,
        finish=finish,
        rejected=rejected,
        preemptions=preempt_count,
        memory_preemptions=memory_preemptions,
        policy_preemptions=policy_preemptions,
        steps=steps,
        iterations=iterations,
        admit_order=admit_order,
        max_blocks_used=max_used,
        num_blocks=num_blocks,
        wall_s=time.perf_counter() - started,
    )


def _steps_to_reach(gap: float, c0: float, c1: float) -> int:
    """Fewest steps ``k ≥ 1`` with ``k·c0 + c1·k(k−1)/2 ≥ gap``."""
    if gap <= 0:
        return 1

    def total(k: int) -> float:
        return k * c0 + c1 * k * (k - 1) / 2.0

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
