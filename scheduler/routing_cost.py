"""Predicted outstanding work across replicas: what each replica reports and how a router ranks them.

Engine-agnostic and free of Ray, so the ranking is tested on hand-built numbers. A replica reports a
:class:`ReplicaLoad` (its routing stats) with two views of its queued and running requests, each
request priced from the distribution it carries (the plug-in's shared prior for requests without one)
given its age:

* ``predicted_cost``: the sum of their expected remaining costs, in the units of the replica's cost
  model, whose weights travel along so the router prices an incoming request in the same units;
* ``batch_curve``: the expected number of them still running ``u`` tokens from now, at the token
  offsets :data:`OVERLAP_GRID` (the replica's predicted batch size over time).

:func:`rank_replicas` orders replicas by one of two scores plus what the router itself sent since the
report (``sent``), or says why it cannot (then the router falls back to queue length):

* ``overlap`` (the default): the expected number of decode steps the new request would share with
  the replica's requests, ``∫ B(u) · P(L > u) du`` for its predicted length ``L`` and the replica's
  batch curve ``B``. On an engine whose step time grows with the batch, every shared step slows both
  requests, so this is the new request's marginal latency, its own and the one it adds to the others.
  A short request goes where few requests run *now*; a long one where little work remains *later*.
* ``cost``: the predicted outstanding cost (SageSched's ``O²/2 + I·O`` weighs a long request
  quadratically, so balancing it piles short requests onto one replica).
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

OVERLAP_GRID = np.concatenate([[0.0], 2.0 ** np.arange(15)])
"""Token offsets (0, 1, 2, 4, …, 16384) at which a replica reports its batch curve."""
SCORES = ("overlap", "cost")
"""How :func:`rank_replicas` scores a replica (see the module's docstring)."""


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
    batch_curve: tuple[float, ...] = field(
        default=(),
        metadata={
            "help": "expected requests still running u tokens from now, at OVERLAP_GRID (empty: not reported)"
        },
    )

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
            load = cls(**{**payload, "batch_curve": tuple(payload.get("batch_curve") or ())})
        except TypeError:
            return None
        values = (load.predicted_cost, load.at, load.cost_a, load.cost_b, *load.batch_curve)
        if (
            not all(isinstance(v, int | float) and math.isfinite(v) for v in values)
            or load.predicted_cost < 0
            or len(load.batch_curve) not in (0, OVERLAP_GRID.size)
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


def batch_curve(dist: LengthDistribution, age: np.ndarray | float = 0.0) -> np.ndarray:
    """``(n, G)``: each request's probability of still running ``u`` tokens from now (its remaining
    length given ``age`` above ``u``), at ``u`` in :data:`OVERLAP_GRID`. Summed over a replica's requests
    it is the replica's expected batch over time."""
    remaining = dist.condition(age) if np.any(np.asarray(age) > 0) else dist
    return 1.0 - remaining.cdf(OVERLAP_GRID[None, :])


def overlap_weights(survival: np.ndarray) -> np.ndarray:
    """Trapezoid weights over :data:`OVERLAP_GRID` such that ``weights @ B`` is ``∫ B(u)·S(u) du`` for a
    curve ``B`` and the new request's survival ``S`` (``(G,)`` or ``(n, G)``)."""
    widths = np.diff(OVERLAP_GRID)
    weights = np.zeros_like(np.asarray(survival, dtype=np.float64))
    weights[..., :-1] += 0.5 * widths * survival[..., :-1]
    weights[..., 1:] += 0.5 * widths * survival[..., 1:]
    return weights


def outstanding_curve(book: KeyBook) -> np.ndarray:
    """``(G,)``: the book's expected number of requests still running ``u`` tokens from now."""
    requests = list(book.requests.values())
    if not requests:
        return np.zeros(OVERLAP_GRID.size)
    dist = LengthDistribution.concat([r.dist if r.dist is not None else book.prior for r in requests])
    age = np.array([r.age for r in requests], dtype=np.float64)
    return batch_curve(dist, age).sum(axis=0)


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Prompt length of a request body: its ``prompt_token_ids``, else its text estimated (4 chars a token)."""
    ids = body.get("prompt_token_ids")
    if isinstance(ids, Sequence) and not isinstance(ids, str):
        return len(ids)
    prompt = body.get("prompt")
    return estimate_prompt_tokens(prompt) if isinstance(prompt, str) else 0


def request_cost(body: Any, cost: CostModel) -> float | None:
    """Expected cost of a new request from the distribution in its ``vllm_xargs``, or ``None`` without one."""
    price = request_price(body, cost)
    return None if price is None else price.cost


@dataclass(frozen=True)
class RequestPrice:
    """What a new request weighs in each score: expected cost, and its survival over :data:`OVERLAP_GRID`."""

    cost: float
    survival: np.ndarray


def request_price(body: Any, cost: CostModel) -> RequestPrice | None:
    """:class:`RequestPrice` of a new request from the distribution in its ``vllm_xargs``, or ``None``
    without one (or with a malformed one)."""
    if not isinstance(body, Mapping):
        return None
    dist = parse_prediction(body.get("vllm_xargs"))
    if dist is None:
        return None
    value = float(cost.cost_distribution(dist, prompt_tokens(body)).mean()[0])
    survival = batch_curve(dist)[0]
    if not (math.isfinite(value) and np.all(np.isfinite(survival))):
        return None
    return RequestPrice(value, survival)


@dataclass(frozen=True)
class Ranking:
    """Replica ids, cheapest first, with each one's score; or ``cause`` when ranking by cost is impossible."""

    order: list[Any]
    scores: dict[Any, float]
    cause: str | None = None


def rank_replicas(
    loads: Mapping[Any, ReplicaLoad | None],
    sent: Mapping[Any, Sequence[tuple[float, RequestPrice]]],
    price: RequestPrice | None,
    now: float,
    stale_after_s: float,
    score: str = "overlap",
) -> Ranking:
    """Order replicas by ``score`` (``overlap`` or ``cost``, see the module's docstring) of what each
    reported plus what this router sent it after the report (``sent``: ``(time sent, price)`` of requests
    not yet completed).

    Ranking needs the request's prediction (``price``) and a fresh report from every candidate (scores of
    replicas with and without one do not compare; ``overlap`` also needs each report's batch curve);
    otherwise ``cause`` names what was missing, the first of ``no-prediction``, ``missing-stats``,
    ``stale-stats``. Ties go to fewer engine requests.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    ids = list(loads)
    if price is None:
        return Ranking(ids, {}, "no-prediction")
    if any(
        loads[i] is None or (score == "overlap" and not loads[i].batch_curve)  # type: ignore[union-attr]
        for i in ids
    ):
        return Ranking(ids, {}, "missing-stats")
    if any(now - loads[i].at > stale_after_s for i in ids):  # type: ignore[union-attr]
        return Ranking(ids, {}, "stale-stats")
    weights = overlap_weights(price.survival) if score == "overlap" else None
    scores: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    for i in ids:
        load = loads[i]
        assert load is not None
        later = [p for t, p in sent.get(i, ()) if t > load.at]
        if weights is not None:
            curve = np.asarray(load.batch_curve, dtype=np.float64)
            curve = curve + sum((p.survival for p in later), np.zeros_like(curve))
            scores[i] = float(weights @ curve)
        else:
            scores[i] = load.predicted_cost + float(sum(p.cost for p in later))
        counts[i] = max(load.requests, load.ongoing) + len(later)
    order = sorted(ids, key=lambda i: (scores[i], counts[i]))
    return Ranking(order, scores)
