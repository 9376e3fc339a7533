"""Measure an engine profile on a real vLLM engine (``sagepred profile``).

A designed sweep of batches (several batch sizes × prompt lengths, each decoded for a fixed number
of tokens) runs through the engine with sagepred's scheduler plug-in recording, per step, the
batched tokens, the KV tokens read and the wall time. A least-squares fit of step time on
``(1, batched tokens, KV tokens read)`` gives the simulator's iteration-time model; the engine loop's
time outside steps (taking requests in, between steps) is measured beside it; the KV capacity, block
size and batching limits are read from the engine's configuration.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagepred.scheduler.profile import EngineProfile


@dataclass
class ProfilingPlan:
    """The sweep ``sagepred profile`` runs."""

    batch_sizes: list[int] = field(
        default_factory=lambda: [1, 2, 4, 8], metadata={"help": "requests per batch"}
    )
    prompt_lens: list[int] = field(default_factory=lambda: [16, 64, 192], metadata={"help": "prompt tokens"})
    decode_tokens: int = field(default=24, metadata={"help": "tokens generated per request"})
    repeats: int = field(default=1, metadata={"help": "times each (batch, prompt) cell runs"})
    warmup_batches: int = field(default=2, metadata={"help": "unrecorded batches first (allocation, caches)"})


@dataclass
class StepSample:
    """One engine step: what was batched and how long it took."""

    batched_tokens: int
    kv_tokens: int
    sequences: int
    seconds: float


@dataclass
class HostTime:
    """Engine-loop time outside steps: taking requests in, and between two steps."""

    requests: int = 0
    request_s: float = 0.0
    steps: int = 0
    between_steps_s: float = 0.0

    @property
    def per_request_s(self) -> float:
        return self.request_s / self.requests if self.requests else 0.0

    @property
    def per_step_s(self) -> float:
        return self.between_steps_s / self.steps if self.steps else 0.0


NULL_BLOCKS = 1
"""Blocks of vLLM's KV pool no request can use (v1's ``BlockPool`` takes the first as its null block)."""


def step_shape(requests: Any, output: Any) -> tuple[int, int, int, int]:
    """``(batched tokens, KV tokens read, sequences, recomputed tokens)`` of one scheduled step.

    ``requests``: the scheduler's request table; ``output``: what its ``schedule()`` returned (the
    computed counts already include this step's tokens). Recomputed tokens are those of preempted
    requests below their already generated context. The plug-in and the benchmarks' recorder for
    vLLM's stock scheduler read steps the same way, so a profile fitted to one prices the other.
    """
    tokens = output.num_scheduled_tokens
    kv = recomputed = 0
    for rid, n in tokens.items():
        req = requests.get(rid)
        if req is None:
            continue
        kv += req.num_computed_tokens + n
        if req.num_preemptions > 0 and req.num_output_tokens > 0:
            recomputed += max(0, min(n, req.num_tokens - 1 - (req.num_computed_tokens - n)))
    return int(output.total_num_scheduled_tokens), int(kv), len(tokens), int(recomputed)


def fit_step_model(samples: Sequence[StepSample]) -> tuple[np.ndarray, float]:
    """Least squares of seconds on (1, batched tokens, KV tokens), coefficients clipped positive; R²."""
    x = np.array([[1.0, s.batched_tokens, s.kv_tokens] for s in samples])
    y = np.array([s.seconds for s in samples])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    coef = np.maximum(coef, [1e-6, 1e-9, 1e-12])
    residual = y - x @ coef
    r2 = 1.0 - float(residual @ residual) / max(float(((y - y.mean()) ** 2).sum()), 1e-30)
    return coef, r2


def profile_from_engine(
    llm: Any, coef: np.ndarray, name: str, model: str, device: str, source: str, host: HostTime | None = None
) -> EngineProfile:
    """An :class:`EngineProfile` from fitted coefficients, the engine loop's measured host time and the
    engine's own limits.

    The KV capacity is what requests can use: vLLM's block pool keeps one block as its null block
    (``BlockPool.null_block``), which matters on a small pool (one in 20 blocks on the CPU bench).
    """
    config = llm.llm_engine.vllm_config
    block = int(config.cache_config.block_size)
    return EngineProfile(
        name=name,
        step_base_s=float(coef[0]),
        per_token_s=float(coef[1]),
        per_kv_token_s=float(coef[2]),
        kv_capacity_tokens=(int(config.cache_config.num_gpu_blocks) - NULL_BLOCKS) * block,
        block_size=block,
        max_num_seqs=int(config.scheduler_config.max_num_seqs),
        max_num_batched_tokens=int(config.scheduler_config.max_num_batched_tokens),
        chunked_prefill=bool(getattr(config.scheduler_config, "enable_chunked_prefill", True)),
        model=model,
        gpu=device,
        source=source,
        host_per_request_s=host.per_request_s if host is not None else 0.0,
        host_per_step_s=host.per_step_s if host is not None else 0.0,
    )


def run_sweep(
    llm: Any, plan: ProfilingPlan, progress: Any = None, host: HostTime | None = None
) -> list[StepSample]:
    """Run the plan through ``llm`` (built with the sagepred scheduler plug-in) and record every step;
    ``host`` (if given) accumulates the recorded batches' time outside steps."""
    from vllm import SamplingParams

    engine = llm.llm_engine
    scheduler = engine.engine_core.engine_core.scheduler
    if not hasattr(scheduler, "step_log"):
        raise TypeError("profiling needs the engine built with scheduler_cls=SagepredScheduler")
    cells = [(b, p) for b in plan.batch_sizes for p in plan.prompt_lens] * plan.repeats
    samples: list[StepSample] = []
    for index, (batch, prompt_len) in enumerate([cells[0]] * plan.warmup_batches + cells):
        record = index >= plan.warmup_batches
        params = SamplingParams(max_tokens=plan.decode_tokens, ignore_eos=True, temperature=0.0)
        adding = time.perf_counter()
        for i in range(batch):
            engine.add_request(f"p{index}-{i}", {"prompt_token_ids": [(7 + i) % 97 + 3] * prompt_len}, params)
        if record and host is not None:
            host.requests += batch
            host.request_s += time.perf_counter() - adding
        scheduler.step_log = []
        ended = None
        while engine.has_unfinished_requests():
            started = time.perf_counter()
            if record and host is not None and ended is not None:
                host.steps += 1
                host.between_steps_s += started - ended
            engine.step()
            ended = time.perf_counter()
            elapsed = ended - started
            if record and scheduler.step_log:
                tokens, kv, seqs = scheduler.step_log[-1]
                if tokens > 0:
                    samples.append(StepSample(tokens, kv, seqs, elapsed))
            scheduler.step_log = []
        scheduler.step_log = None
        if progress is not None:
            progress()
    return samples
