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
from sagepred.scheduler.simulator import SimConfig, simulate
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
    """Simulate each policy on the same workload; summaries keyed by policy name."""
    check_policies(policies, workload)
    return {p.name: simulate(workload, p, profile, config).summary() for p in policies}
