"""N engines behind a router: the one-engine model per replica, a router in front.

Every replica is a :class:`~sagepred.scheduler.simulator.Engine`, the model ``simulate()`` runs (same
profile, same per-replica policy). The router acts on stale stats, as real routers do: every
``refresh_s`` (an *epoch*) it reads each replica's outstanding requests, KV blocks in use and
predicted outstanding cost, and between refreshes it adds what it sends to those numbers itself.
So the requests arriving in an epoch are routed from the stats at its start, submitted, and then
every replica advances to the epoch's end (a replica's decode jumps stop at the epoch boundary,
which splits them: exact up to float rounding). A router whose choices ignore stats (round robin, or
any router with one replica) routes every request up front and each replica runs as ``simulate()``
does, bit for bit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagepred.errors import InputError
from sagepred.scheduler.keys import KeyCache
from sagepred.scheduler.policies import Policy
from sagepred.scheduler.profile import EngineProfile
from sagepred.scheduler.routers import ExpectedRemainingCost, ReplicaStats, Router, make_router
from sagepred.scheduler.routing_cost import OVERLAP_GRID, batch_curve
from sagepred.scheduler.simulator import Engine, SimConfig, SimResult, guarded_config, workload_keys
from sagepred.scheduler.workload import Workload


@dataclass(frozen=True)
class ClusterConfig:
    """How many replicas, how requests are routed, and how stale the router's stats are."""

    replicas: int = field(default=1, metadata={"help": "engines behind the router"})
    router: str = field(default="round-robin", metadata={"help": "routing policy (see routers.ROUTERS)"})
    refresh_s: float = field(
        default=0.1,
        metadata={
            "help": "seconds between the router's refreshes of replica stats (Ray Serve caches replica "
            "queue lengths and refreshes them about this often); between refreshes it counts what it sent"
        },
    )
    cost_refresh_tokens: int = field(
        default=200, metadata={"help": "tokens between updates of a request's expected remaining cost"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the router's random choices"})

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise InputError(f"expected at least one replica, got {self.replicas}", field="replicas")
        if not self.refresh_s > 0 or not math.isfinite(self.refresh_s):
            raise InputError(f"expected a positive refresh interval, got {self.refresh_s}", field="refresh")


@dataclass
class ClusterResult:
    """Per-request outcomes over the cluster (``combined``) and which replica served each request."""

    router: str
    combined: SimResult
    replica: np.ndarray
    replicas: list[SimResult]
    epochs: int
    wall_s: float

    def replica_load(self) -> np.ndarray:
        """Tokens (prompt + output) routed to each replica."""
        tokens = (self.combined.prompt_len + self.combined.output_len).astype(np.float64)
        return np.bincount(self.replica, weights=tokens, minlength=len(self.replicas))

    def summary(self, warmup_s: float = 0.0) -> dict[str, Any]:
        """``SimResult.summary`` over every request (or those arriving after ``warmup_s``), TTFT
        percentiles, and imbalance (max/mean load)."""
        row = self.combined.summary(warmup_s)
        measured = self.combined.measured(warmup_s)
        ttft = (self.combined.first_token - self.combined.arrival)[measured]
        load = self.replica_load()
        row.update(
            {
                "p50_ttft_s": float(np.median(ttft)) if ttft.size else None,
                "p99_ttft_s": float(np.percentile(ttft, 99)) if ttft.size else None,
                "imbalance": float(load.max() / load.mean()) if load.mean() > 0 else None,
                "replicas": len(self.replicas),
                "router": self.router,
                "epochs": self.epochs,
                "sim_wall_s": round(self.wall_s, 3),
            }
        )
        return row


def simulate_cluster(
    workload: Workload,
    policy: Policy,
    profile: EngineProfile,
    cluster: ClusterConfig | None = None,
    config: SimConfig | None = None,
) -> ClusterResult:
    """Replay ``workload`` through ``cluster.replicas`` engines of ``profile``, each under ``policy``."""
    cluster = cluster or ClusterConfig()
    started = time.perf_counter()
    router = make_router(cluster.router, cluster.replicas, cluster.seed)
    if router.needs_cost and workload.dist is None:
        raise InputError(f"router {router.name} needs a predictor (not 'none')", field="predictor")
    engines = Engine.replicas(workload, policy, profile, cluster.replicas, config)
    if router.uses_stats and cluster.replicas > 1:
        replica, epochs = _route_by_epoch(workload, router, engines, cluster)
    else:
        replica = _route_up_front(workload, router, engines)
        epochs = 0
    return _collect(router, engines, replica, epochs, time.perf_counter() - started)


def _route_up_front(workload: Workload, router: Router, engines: list[Engine]) -> np.ndarray:
    n = len(workload)
    stats = ReplicaStats.zeros(len(engines))
    replica = router.route(stats, np.zeros(n), np.zeros(n))
    for k, engine in enumerate(engines):
        engine.submit(np.flatnonzero(replica == k).tolist())
        engine.advance_until(math.inf)
    return replica


def _route_by_epoch(
    workload: Workload, router: Router, engines: list[Engine], cluster: ClusterConfig
) -> tuple[np.ndarray, int]:
    """Route each epoch's arrivals from the stats at its start, then advance every replica to its end."""
    n, m = len(workload), len(engines)
    shared = engines[0]
    arrival, rejected, finish, gen = shared.arrival, shared.rejected, shared.finish, shared.gen
    blocks0 = -(-shared.prompt // shared.bs)
    table: KeyCache | None = None
    cost0 = np.zeros(n)
    if router.needs_cost:
        estimator = ExpectedRemainingCost(shared.policy.cost, cluster.cost_refresh_tokens)
        table = workload_keys(estimator, workload, chunk=shared.config.key_chunk)
        cost0 = table.keys(np.arange(n), np.zeros(n, dtype=np.int64))
    survival0 = None
    if router.needs_curve:
        survival0 = np.broadcast_to(batch_curve(workload.dist), (n, OVERLAP_GRID.size))  # type: ignore[arg-type]
    replica = np.full(n, -1, dtype=np.int64)
    active = np.zeros(0, dtype=np.int64)
    dt = cluster.refresh_s
    start = float(arrival[0]) if n else 0.0
    i = epochs = 0
    while i < n:
        epoch = math.floor((float(arrival[i]) - start) / dt)
        begin = start + epoch * dt
        for engine in engines:
            if engine.now < begin:
                engine.horizon = begin
                engine.advance_until(begin)
        end = begin + dt
        j = int(np.searchsorted(arrival, end, side="left"))
        stats = _snapshot(engines, active, replica, table, gen, m)
        rows = np.arange(i, j)
        if survival0 is not None:
            stats.curve = _curves(workload, engines[0].finish, active, replica, gen, m)
        chosen = router.route(
            stats, cost0[rows], blocks0[rows], None if survival0 is None else survival0[rows]
        )
        replica[rows] = chosen
        order = np.argsort(chosen, kind="stable")
        bounds = np.searchsorted(chosen[order], np.arange(m + 1))
        for k in range(m):
            if bounds[k + 1] > bounds[k]:
                engines[k].submit(rows[order[bounds[k] : bounds[k + 1]]].tolist())
        active = np.concatenate([active[np.isinf(finish[active])], rows[~rejected[rows]]])
        for engine in engines:
            if engine.now < end:
                engine.horizon = end
                engine.advance_until(end)
        i, epochs = j, epochs + 1
    for engine in engines:
        engine.horizon = math.inf
        engine.advance_until(math.inf)
    return replica, epochs


def _snapshot(
    engines: list[Engine],
    active: np.ndarray,
    replica: np.ndarray,
    table: KeyCache | None,
    gen: np.ndarray,
    m: int,
) -> ReplicaStats:
    """The replicas' stats now: outstanding requests, KV blocks in use, predicted outstanding cost."""
    outstanding = np.array([e.remaining for e in engines], dtype=np.float64)
    kv = np.array([e.num_blocks - e.free for e in engines], dtype=np.float64)
    cost = np.zeros(m)
    if table is not None and active.size:
        live = active[np.isinf(engines[0].finish[active])]
        cost = np.bincount(replica[live], weights=table.keys(live, gen[live]), minlength=m)
    return ReplicaStats(outstanding, kv, cost)


def _curves(
    workload: Workload, finish: np.ndarray, active: np.ndarray, replica: np.ndarray, gen: np.ndarray, m: int
) -> np.ndarray:
    """``(m, G)``: each replica's batch curve, summed over its unfinished requests at their current ages."""
    out = np.zeros((m, OVERLAP_GRID.size))
    live = active[np.isinf(finish[active])] if active.size else active
    if live.size:
        np.add.at(out, replica[live], batch_curve(workload.dist[live], gen[live].astype(np.float64)))  # type: ignore[index]
    return out


def _collect(
    router: Router, engines: list[Engine], replica: np.ndarray, epochs: int, wall_s: float
) -> ClusterResult:
    parts = [engine.result() for engine in engines]
    first = parts[0]
    combined = SimResult(
        policy=first.policy,
        arrival=first.arrival,
        prompt_len=first.prompt_len,
        output_len=first.output_len,
        generated=first.generated,
        first_token=first.first_token,
        finish=first.finish,
        rejected=first.rejected,
        preemptions=first.preemptions,
        memory_preemptions=sum(p.memory_preemptions for p in parts),
        policy_preemptions=sum(p.policy_preemptions for p in parts),
        steps=sum(p.steps for p in parts),
        iterations=sum(p.iterations for p in parts),
        admit_order=[i for p in parts for i in p.admit_order],
        max_blocks_used=max(p.max_blocks_used for p in parts),
        num_blocks=first.num_blocks,
        wall_s=wall_s,
        busy_s=sum(p.busy_s for p in parts),
        host_s=sum(p.host_s for p in parts),
    )
    return ClusterResult(router.name, combined, replica, parts, epochs, wall_s)


def run_cluster_policies(
    workload: Workload,
    policies: list[Policy],
    routers: list[str],
    profile: EngineProfile,
    cluster: ClusterConfig,
    config: SimConfig | None = None,
) -> dict[str, dict[str, Any]]:
    """Every router × policy on the same workload; summaries keyed ``router/policy``."""
    from dataclasses import replace

    rows = {}
    for name in routers:
        for policy in policies:
            result = simulate_cluster(
                workload, policy, profile, replace(cluster, router=name), guarded_config(policy, config)
            )
            rows[f"{name}/{policy.name}"] = result.summary()
    return rows
