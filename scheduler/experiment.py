"""Glue shared by ``sagepred simulate`` and the benchmark: records, arrivals, and policy runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.errors import InputError, SagepredError
from sagepred.records import LengthRecord
from sagepred.scheduler.policies import Policy
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.simulator import SimConfig, SimResult, guarded_config, simulate
from sagepred.scheduler.traces import Trace, load_trace, poisson_arrivals, scaled_arrivals
from sagepred.scheduler.workload import Workload


def load_records(source: str, model: str | None = None, split: str | None = None) -> list[LengthRecord]:
    """Records from any source the importers read (``sagepred.importers``); JSONL without them."""
    try:
        from sagepred import importers
    except ImportError:
        importers = None
    if importers is not None and hasattr(importers, "load_records"):
        records = list(importers.load_records(source, model=model, split=split))
    elif Path(source).suffix == ".jsonl":
        from sagepred.records import read_jsonl_records

        records = [
            r
            for r in read_jsonl_records(source)
            if (model is None or r.target_model == model) and (split is None or r.split == split)
        ]
    else:
        raise SagepredError(
            f"cannot read {source!r}: only JSONL records are readable without sagepred.importers"
        )
    if not records:
        raise InputError("no records (check --model / --split)", path=source, field="records")
    return records


def trace_or_poisson(spec: str) -> Trace | None:
    """The trace at ``spec``, or ``None`` for ``poisson``."""
    return None if spec.strip().lower() == "poisson" else load_trace(spec)


def arrivals_for(trace: Trace | None, num_requests: int, rate: float, seed: int) -> np.ndarray:
    """Arrival times for ``num_requests`` at ``rate`` per second from a trace or a Poisson process."""
    if rate <= 0 or not np.isfinite(rate):
        raise InputError(f"expected a positive rate, got {rate}", field="rate")
    if num_requests < 1:
        raise InputError(f"expected at least one request, got {num_requests}", field="num_requests")
    if trace is None:
        return poisson_arrivals(num_requests, rate, seed)
    return scaled_arrivals(trace, num_requests, rate)


def check_policies(policies: Sequence[Policy], workload: Workload) -> None:
    """Every predictive policy needs predictions."""
    if workload.dist is None:
        needing = [p.name for p in policies if p.needs_prediction]
        if needing:
            raise InputError(
                f"policies {', '.join(needing)} need a predictor (not 'none')", field="predictor"
            )


def run_policies(
    workload: Workload, policies: Sequence[Policy], profile: EngineProfile, config: SimConfig | None = None
) -> dict[str, dict[str, Any]]:
    """Simulate each policy on the same workload; summaries (with :func:`load_stats`) keyed by policy name."""
    check_policies(policies, workload)
    rows = {}
    for policy in policies:
        result = simulate(workload, policy, profile, guarded_config(policy, config))
        rows[policy.name] = {**result.summary(), **load_stats(result)}
    return rows


def _peak(starts: np.ndarray, ends: np.ndarray) -> int:
    """Most intervals ``[start, end)`` open at once (an end at the same time as a start closes first)."""
    if starts.size == 0:
        return 0
    times = np.concatenate([ends, starts])
    steps = np.concatenate([-np.ones(ends.size), np.ones(starts.size)])
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max())


def _union_length(starts: np.ndarray, ends: np.ndarray) -> float:
    order = np.argsort(starts, kind="stable")
    total, open_end = 0.0, -np.inf
    for start, end in zip(starts[order], ends[order], strict=True):
        if start > open_end:
            total += end - start
            open_end = end
        elif end > open_end:
            total += end - open_end
            open_end = end
    return float(total)


def load_stats(result: SimResult) -> dict[str, Any]:
    """How loaded the engine was, from the completed requests' arrival, first-token and finish times.

    ``busy_share``: share of the makespan with at least one request in the engine (it never idles
    while one is there); ``mean_in_system`` / ``max_in_system``: requests arrived and not finished
    (time-weighted mean, peak); ``mean_queue`` / ``max_queue``: requests arrived without their first
    token yet (waiting for admission or in their first prefill step); ``kv_peak_share``: most KV blocks
    in use at once over all blocks. Policies can only differ where requests queue.
    """
    done = result.completed
    arrival, first, finish = result.arrival[done], result.first_token[done], result.finish[done]
    span = float(finish.max() - arrival.min()) if done.any() else 0.0
    if span <= 0:
        return {
            "busy_share": None,
            "mean_in_system": None,
            "max_in_system": int(done.sum()),
            "mean_queue": None,
            "max_queue": 0,
            "kv_peak_share": None,
        }
    return {
        "busy_share": _union_length(arrival, finish) / span,
        "mean_in_system": float((finish - arrival).sum()) / span,
        "max_in_system": _peak(arrival, finish),
        "mean_queue": float((first - arrival).sum()) / span,
        "max_queue": _peak(arrival, first),
        "kv_peak_share": result.max_blocks_used / result.num_blocks if result.num_blocks else None,
    }
