"""Ray Serve request router that sends each request to the replica where its predicted work costs least.

Use it through ``RequestRouterConfig(request_router_class=PREDICTED_COST_ROUTER,
request_routing_stats_period_s=…)`` on a deployment whose ``record_routing_stats`` returns
:meth:`~sagepred.scheduler.routing_cost.ReplicaLoad.to_stats` (``SagepredEngine`` in
:mod:`.ray_engine` does). Each request is priced from the distribution in its body's ``vllm_xargs``
(the same fields the vLLM plug-in reads) and replicas are scored by
:func:`~sagepred.scheduler.routing_cost.rank_replicas` (``score``: ``overlap``, the expected decode
steps it would share with the replica's requests, by default; or ``cost``, predicted outstanding
cost). Between stats refreshes the router adds what it has sent to each replica's report. Without a prediction, or
when any replica's stats are missing or older than ``stale_after_s`` (a ``record_routing_stats`` call
that timed out leaves them old), it falls back to Ray's default: two random replicas, the shorter queue.
Each cause is logged once per router, and counted in :attr:`PredictedCostRouter.decisions`.

This module imports Ray (the extra ``ray``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections import Counter
from typing import Any

from ray.serve.request_router import PendingRequest, ReplicaID, RequestRouter, RunningReplica

from sagepred.scheduler.ray_config import PREDICTED_COST_ROUTER  # noqa: F401 (re-exported)
from sagepred.scheduler.routing_cost import SCORES, ReplicaLoad, RequestPrice, rank_replicas, request_price

log = logging.getLogger("sagepred.serving")

_ROUTERS: weakref.WeakSet[PredictedCostRouter] = weakref.WeakSet()
_ROUTERS_LOCK = threading.Lock()


def routers_in_process() -> list[PredictedCostRouter]:
    """The predicted-cost routers living in this process (one per deployment handle that routed)."""
    with _ROUTERS_LOCK:
        return list(_ROUTERS)


def router_decisions() -> dict[str, int]:
    """Decisions of every predicted-cost router in this process, summed: ``predicted-cost`` and
    ``fallback:<cause>`` counts."""
    total: Counter[str] = Counter()
    for router in routers_in_process():
        total.update(router.decisions)
    return dict(total)


def request_body(pending_request: PendingRequest | None) -> Any:
    """The request body a call carries: its first positional argument or its ``body`` keyword."""
    if pending_request is None:
        return None
    if pending_request.args:
        return pending_request.args[0]
    return pending_request.kwargs.get("body")


class PredictedCostRouter(RequestRouter):
    """Ranks replicas by predicted work (``overlap`` or ``cost``); falls back to power of two choices on
    queue length."""

    def initialize_state(self, stale_after_s: float = 2.0, score: str = "overlap", **kwargs: Any) -> None:
        """``request_router_kwargs``: ``stale_after_s``, the age past which a replica's stats are not
        used; ``score``, ``overlap`` or ``cost`` (:func:`~sagepred.scheduler.routing_cost.rank_replicas`)."""
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        self.stale_after_s = float(stale_after_s)
        self.score = score
        self.decisions: Counter[str] = Counter()
        self._logged: set[str] = set()
        self._sent: dict[ReplicaID, dict[str, tuple[float, RequestPrice]]] = {}
        self._prices: dict[str, RequestPrice] = {}
        # Ray may unpickle this class by value (a copy of this module's globals): register with the
        # imported module so routers_in_process() sees every router of the process.
        import sagepred.scheduler.ray_router as module

        with module._ROUTERS_LOCK:
            module._ROUTERS.add(self)

    def _fallback(self, cause: str, candidates: list[RunningReplica]) -> list[list[RunningReplica]]:
        self.decisions[f"fallback:{cause}"] += 1
        if cause not in self._logged:
            self._logged.add(cause)
            log.warning(
                "sagepred router: %s; routing by queue length (power of two choices) while it lasts "
                "(logged once)",
                {
                    "no-prediction": "a request carries no prediction",
                    "missing-stats": "a replica has reported no sagepred routing stats yet",
                    "stale-stats": f"a replica's routing stats are older than {self.stale_after_s} s "
                    "(its stats call timed out or it is overloaded)",
                }[cause],
            )
        if len(candidates) <= 2:
            return [list(candidates)]
        return [random.sample(list(candidates), 2)]

    async def choose_replicas(
        self, candidate_replicas: list[RunningReplica], pending_request: PendingRequest | None = None
    ) -> list[list[RunningReplica]]:
        if not candidate_replicas:
            return []
        if not hasattr(self, "decisions"):
            self.initialize_state()
        loads = {r.replica_id: ReplicaLoad.from_stats(r.routing_stats) for r in candidate_replicas}
        known = next((load for load in loads.values() if load is not None), None)
        price = None
        if known is not None:
            price = request_price(request_body(pending_request), known.cost_model)
        sent = {rid: list(reqs.values()) for rid, reqs in self._sent.items()}
        ranking = rank_replicas(loads, sent, price, time.time(), self.stale_after_s, self.score)
        if ranking.cause is not None:
            return self._fallback(ranking.cause, candidate_replicas)
        self.decisions["predicted-cost"] += 1
        if pending_request is not None and price is not None:
            if len(self._prices) > 100_000:  # requests ranked but never dispatched (cancelled)
                self._prices.clear()
            self._prices[pending_request.metadata.internal_request_id] = price
        by_id = {r.replica_id: r for r in candidate_replicas}
        return [[by_id[rid]] for rid in ranking.order]

    def on_request_routed(self, pending_request: PendingRequest, replica_id: ReplicaID, result: Any) -> None:
        if not hasattr(self, "decisions"):
            return
        rid = pending_request.metadata.internal_request_id
        price = self._prices.pop(rid, None)
        if price is not None:
            self._sent.setdefault(replica_id, {})[rid] = (time.time(), price)

    def on_request_completed(self, replica_id: ReplicaID, internal_request_id: str) -> None:
        if not hasattr(self, "decisions"):
            return
        self._prices.pop(internal_request_id, None)
        self._sent.get(replica_id, {}).pop(internal_request_id, None)

    def on_replica_actor_died(self, replica_id: ReplicaID) -> None:
        super().on_replica_actor_died(replica_id)
        if hasattr(self, "_sent"):
            self._sent.pop(replica_id, None)

    def outstanding_sent(self) -> dict[str, float]:
        """Predicted cost this router has sent to each replica and not seen completed (by replica id)."""
        return {str(rid): sum(p.cost for _, p in reqs.values()) for rid, reqs in self._sent.items()}
