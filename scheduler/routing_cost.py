"""Predicted outstanding cost across replicas: what each replica reports and how a router ranks them.

Engine-agnostic and free of Ray, so the ranking is tested on hand-built numbers. A replica reports a
:class:`ReplicaLoad` (its routing stats): the sum over its queued and running requests of the expected
remaining cost given each one's age, from the distribution it carries (the plug-in's shared prior for
requests without one), in the units of its cost model, whose weights travel along so the router prices
an incoming request in the same units. :func:`rank_replicas` orders replicas by that cost plus what the
router itself sent since the report (``sent``), or says why it cannot (then the router falls back to
queue length).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.records import estimate_prompt_tokens
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.serving import KeyBook, parse_prediction

STATS_KEY = "sagepred"
"""Key of the replica load inside a replica's routing-stats dict."""

FALLBACK_CAUSES = ("no-prediction", "missing-stats", "stale-stats")


@dataclass(frozen=True)
class ReplicaLoad:
    """One replica's predicted outstanding work, as of ``at`` (``time.time()`` on the replica)."""

    predicted_cost: float = field(
        metadata={"help": "sum of expected remaining cost of queued and running requests"}
    )
    requests: int = field(metadata={"help": "requests in the engine (waiting + running)"})
    waiting: int = field(default=0, metadata={"help": "requests queued in the engine"})
    running: int = field(default=0, metadata={"help": "requests in the running batch"})
    unpredicted: int = field(
        default=0, metadata={"help": "requests priced by the shared prior (no prediction)"}
    )
    ongoing: int = field(
        default=0, metadata={"help": "calls in flight at the replica (includes not yet queued)"}
    )
    at: float = field(default_factory=time.time, metadata={"help": "wall-clock time of the snapshot"})
    cost_a: float = field(default=0.0, metadata={"help": "cost model weight a (per token)"})
    cost_b: float = field(default=1.0, metadata={"help": "cost model weight b (KV memory-time)"})

    def to_stats(self) -> dict[str, Any]:
        """The routing-stats dict a replica returns from ``record_routing_stats``."""
        return {STATS_KEY: asdict(self)}

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any] | None) -> ReplicaLoad | None:
        """The load in a replica's routing stats, or ``None`` when absent or malformed."""
        payload = (stats or {}).get(STATS_KEY)
        if not isinstance(payload, Mapping):
            return None
        try:
            load = cls(**payload)
        except TypeError:
            return None
        values = (load.predicted_cost, load.at, load.cost_a, load.cost_b)
        if (
            not all(isinstance(v, int | float) and math.isfinite(v) for v in values)
            or load.predicted_cost < 0
        ):
            return None
        return load

    @property
    def cost_model(self) -> CostModel:
        return CostModel(a=self.cost_a, b=self.cost_b)


def outstanding_cost(book: KeyBook, cost: CostModel) -> tuple[float, int]:
    """Expected remaining cost summed over the book's requests (age-aware), and how many used the prior."""
    requests = list(book.requests.values())
    if not requests:
        return 0.0, 0
    dists = [r.dist if r.dist is not None else book.prior for r in requests]
    dist = LengthDistribution.concat(dists)
    prompt = np.array([r.prompt_len for r in requests], dtype=np.float64)
    age = np.array([r.age for r in requests], dtype=np.float64)
    total = float(cost.remaining_cost_distribution(dist, prompt, age).mean().sum())
    return total, sum(1 for r in requests if r.dist is None)


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Prompt length of a request body: its ``prompt_token_ids``, else its text estimated (4 chars a token)."""
    ids = body.get("prompt_token_ids")
    if isinstance(ids, Sequence) and not isinstance(ids, str):
        return len(ids)
    prompt = body.get("prompt")
    return estimate_prompt_tokens(prompt) if isinstance(prompt, str) else 0


def request_cost(body: Any, cost: CostModel) -> float | None:
    """Expected cost of a new request from the distribution in its ``vllm_xargs``, or ``None`` without one."""
    if not isinstance(body, Mapping):
        return None
    dist = parse_prediction(body.get("vllm_xargs"))
    if dist is None:
        return None
    value = float(cost.cost_distribution(dist, prompt_tokens(body)).mean()[0])
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Ranking:
    """Replica ids, cheapest first, with each one's score; or ``cause`` when ranking by cost is impossible."""

    order: list[Any]
    scores: dict[Any, float]
    cause: str | None = None


def rank_replicas(
    loads: Mapping[Any, ReplicaLoad | None],
    sent: Mapping[Any, Sequence[tuple[float, float]]],
    has_prediction: bool,
    now: float,
    stale_after_s: float,
) -> Ranking:
    """Order replicas by reported predicted cost plus the cost of requests this router sent them after
    the report (``sent``: ``(time sent, cost)`` of requests not yet completed).

    Ranking by cost needs the request's prediction and a fresh report from every candidate (costs of
    replicas with and without one do not compare); otherwise ``cause`` names what was missing, the
    first of ``no-prediction``, ``missing-stats``, ``stale-stats``. Ties go to fewer engine requests.
    """
    ids = list(loads)
    if not has_prediction:
        return Ranking(ids, {}, "no-prediction")
    if any(loads[i] is None for i in ids):
        return Ranking(ids, {}, "missing-stats")
    if any(now - loads[i].at > stale_after_s for i in ids):  # type: ignore[union-attr]
        return Ranking(ids, {}, "stale-stats")
    scores: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    for i in ids:
        load = loads[i]
        assert load is not None
        later = [c for t, c in sent.get(i, ()) if t > load.at]
        scores[i] = load.predicted_cost + float(sum(later))
        counts[i] = max(load.requests, load.ongoing) + len(later)
    order = sorted(ids, key=lambda i: (scores[i], counts[i]))
    return Ranking(order, scores)
