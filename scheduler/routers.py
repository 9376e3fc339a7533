"""Routing policies for a cluster of engines: which replica an arriving request goes to.

A router sees :class:`ReplicaStats`, what a real router knows: the replicas' stats as of the last
refresh (Ray Serve's replica queue-length cache) plus its own accounting of what it has sent since
(the cluster adds each routed request to its replica's counts at once). Routers:

- ``round-robin``: replicas in turn (ignores stats);
- ``least-requests``: fewest outstanding requests;
- ``p2c``: power of two choices on outstanding requests (two replicas at random, the shorter queue;
  Ray Serve's default ``PowerOfTwoChoicesRequestRouter``);
- ``least-kv``: fewest KV blocks in use;
- ``least-cost``: least predicted outstanding cost (the sum over a replica's requests of the expected
  remaining cost given each one's age, from its predicted length distribution and the cost model);
- ``p2c-cost``: power of two choices on predicted outstanding cost;
- ``least-overlap``: fewest expected decode steps shared with the replica's requests (the replica's
  predicted batch over time against the new request's predicted length; the Ray Serve router's
  default score, :mod:`.routing_cost`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sagepred.errors import InputError
from sagepred.scheduler.cost import CostModel
from sagepred.scheduler.policies import Policy, RequestState


@dataclass
class ReplicaStats:
    """Per replica ``(N,)``: outstanding requests, KV blocks in use, predicted outstanding cost; and,
    for the overlap router, ``curve`` ``(N, G)``: the expected number of its requests still running
    ``u`` tokens from now at :data:`~sagepred.scheduler.routing_cost.OVERLAP_GRID`."""

    outstanding: np.ndarray
    kv_blocks: np.ndarray
    cost: np.ndarray
    curve: np.ndarray | None = None

    @classmethod
    def zeros(cls, num_replicas: int) -> ReplicaStats:
        return cls(np.zeros(num_replicas), np.zeros(num_replicas), np.zeros(num_replicas))


class Router:
    """Chooses a replica per request from :class:`ReplicaStats`; ``seed`` drives random choices."""

    name: ClassVar[str]
    needs_cost: ClassVar[bool] = False
    """Whether the router reads predicted cost (the workload then needs predictions)."""
    uses_stats: ClassVar[bool] = True
    """False when choices ignore the stats (the cluster may then route every request up front)."""
    needs_curve: ClassVar[bool] = False
    """Whether the router reads the replicas' batch curves (:attr:`ReplicaStats.curve`)."""

    def __init__(self, num_replicas: int, seed: int = 0) -> None:
        if num_replicas < 1:
            raise InputError(f"expected at least one replica, got {num_replicas}", field="replicas")
        self.num_replicas = num_replicas
        self.rng = np.random.default_rng(seed)

    def route(
        self, stats: ReplicaStats, cost: np.ndarray, blocks: np.ndarray, survival: np.ndarray | None = None
    ) -> np.ndarray:
        """Replicas for a batch of requests in arrival order (expected cost, prompt KV blocks and, for
        :attr:`needs_curve`, survival over the overlap grid each), adding each to its replica's stats
        before the next is routed."""
        n = len(cost)
        out = np.empty(n, dtype=np.int64)
        pairs = self._pairs(n)
        outstanding, kv, load = stats.outstanding, stats.kv_blocks, stats.cost
        for r in range(n):
            k = self.pick(stats, pairs[r])
            out[r] = k
            outstanding[k] += 1.0
            kv[k] += blocks[r]
            load[k] += cost[r]
        return out

    def _pairs(self, n: int) -> np.ndarray:
        """Two distinct random replicas per request (unused by deterministic routers)."""
        m = self.num_replicas
        if m < 2:
            return np.zeros((n, 2), dtype=np.int64)
        first = self.rng.integers(0, m, n)
        second = self.rng.integers(0, m - 1, n)
        second += second >= first
        return np.stack([first, second], axis=1)

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        """The replica for one request given the current stats (``pair``: two random candidates)."""
        if self.num_replicas == 1:
            return 0
        raise NotImplementedError


class RoundRobin(Router):
    name = "round-robin"
    uses_stats = False

    def __init__(self, num_replicas: int, seed: int = 0) -> None:
        super().__init__(num_replicas, seed)
        self.next = 0

    def route(
        self, stats: ReplicaStats, cost: np.ndarray, blocks: np.ndarray, survival: np.ndarray | None = None
    ) -> np.ndarray:
        out = (self.next + np.arange(len(cost))) % self.num_replicas
        self.next = int((self.next + len(cost)) % self.num_replicas)
        np.add.at(stats.outstanding, out, 1.0)
        np.add.at(stats.kv_blocks, out, blocks)
        np.add.at(stats.cost, out, cost)
        return out


class LeastRequests(Router):
    name = "least-requests"

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        return int(np.argmin(stats.outstanding))


class PowerOfTwo(Router):
    name = "p2c"

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        a, b = int(pair[0]), int(pair[1])
        return b if stats.outstanding[b] < stats.outstanding[a] else a


class LeastKV(Router):
    name = "least-kv"

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        return int(np.argmin(stats.kv_blocks))


class LeastCost(Router):
    name = "least-cost"
    needs_cost = True

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        return int(np.argmin(stats.cost))


class PowerOfTwoCost(Router):
    name = "p2c-cost"
    needs_cost = True

    def pick(self, stats: ReplicaStats, pair: np.ndarray) -> int:
        a, b = int(pair[0]), int(pair[1])
        return b if stats.cost[b] < stats.cost[a] else a


class LeastOverlap(Router):
    """Fewest expected shared decode steps: ``∫ B_r(u)·P(L > u) du`` for replica ``r``'s batch curve
    ``B_r`` and the request's predicted length ``L`` (:func:`~sagepred.scheduler.routing_cost.rank_replicas`
    with ``score="overlap"``); ties go to fewer outstanding requests."""

    name = "least-overlap"
    needs_cost = True
    needs_curve = True

    def route(
        self, stats: ReplicaStats, cost: np.ndarray, blocks: np.ndarray, survival: np.ndarray | None = None
    ) -> np.ndarray:
        from sagepred.scheduler.routing_cost import overlap_weights

        if self.num_replicas == 1:  # nothing to choose (the cluster then routes up front, without curves)
            return super().route(stats, cost, blocks)
        if survival is None or stats.curve is None:
            raise ValueError("least-overlap routes from batch curves and each request's survival")
        weights = overlap_weights(survival)
        out = np.empty(len(cost), dtype=np.int64)
        for r in range(len(cost)):
            scores = stats.curve @ weights[r]
            best = np.flatnonzero(scores <= scores.min() + 1e-9)
            k = int(best[np.argmin(stats.outstanding[best])])
            out[r] = k
            stats.outstanding[k] += 1.0
            stats.kv_blocks[k] += blocks[r]
            stats.cost[k] += cost[r]
            stats.curve[k] += survival[r]
        return out


ROUTERS: dict[str, type[Router]] = {
    cls.name: cls
    for cls in (RoundRobin, LeastRequests, PowerOfTwo, LeastKV, LeastCost, PowerOfTwoCost, LeastOverlap)
}


def router_class(name: str) -> type[Router]:
    """A router class by name; an unknown name is an :class:`InputError` with close matches."""
    key = name.strip().lower()
    if key not in ROUTERS:
        close = difflib.get_close_matches(key, list(ROUTERS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"unknown router {name!r}{hint} (choose from {', '.join(ROUTERS)})", field="router")
    return ROUTERS[key]


def make_router(name: str, num_replicas: int, seed: int = 0) -> Router:
    """A router by name for ``num_replicas`` replicas."""
    return router_class(name)(num_replicas, seed)


class ExpectedRemainingCost(Policy):
    """Not a scheduling policy: the expected remaining cost of a request given its age, as a key, so
    the simulator's key cache computes it per refresh bucket for the cost routers."""

    name = "expected-remaining-cost"

    def __init__(self, cost: CostModel | None = None, refresh_tokens: int = 200) -> None:
        super().__init__(cost)
        self.refresh_tokens = refresh_tokens

    def keys(self, state: RequestState) -> np.ndarray:
        dist = state.require_dist("the predicted-cost routers")
        return self.cost.remaining_cost_distribution(dist, state.prompt_len, state.age).mean()
