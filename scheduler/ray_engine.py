"""Ray Serve application: N replicas of vLLM with the sagepred plug-in behind a chosen request router.

- :class:`SagepredEngine` (one per replica): an :class:`~sagepred.scheduler.engine_loop.EngineLoop`;
  ``generate(body)`` runs one request, ``record_routing_stats()`` reports the plug-in's predicted
  outstanding work (what :class:`~sagepred.scheduler.ray_router.PredictedCostRouter` ranks by).
- :class:`Ingress`: ``POST /v1/completions`` (non-streaming; the body fields :mod:`.engine_loop` reads,
  answered in the OpenAI completions shape), ``GET /sagepred/router`` (the router's decisions) and
  ``GET /sagepred/replicas``; it calls the engine through a handle, so the router runs in the ingress.
- :func:`generate_with_retry`: a request whose replica dies is sent again (another replica, or the
  restarted one) up to ``retries`` times, then fails with :class:`ReplicaLostError`; nothing is lost
  silently.

This module imports Ray (the extra ``ray``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from fastapi import FastAPI, HTTPException
from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.config import RequestRouterConfig
from ray.serve.handle import DeploymentHandle

from sagepred.scheduler.engine_loop import EngineLoop, EngineSettings, RequestError
from sagepred.scheduler.ray_config import RAY_ROUTERS, RayServeConfig
from sagepred.scheduler.ray_router import router_decisions

log = logging.getLogger("sagepred.serving")

REPLICA_ERRORS = (RayActorError, ActorUnavailableError)
_warned_death = False


class ReplicaLostError(RuntimeError):
    """A request whose replica died on every try."""


class SagepredEngine:
    """One replica: vLLM with the sagepred plug-in, reporting its predicted load as routing stats."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = EngineSettings(**settings)
        try:
            self.name = serve.get_replica_context().replica_id.unique_id
        except Exception:
            self.name = f"pid{os.getpid()}"
        self.loop = EngineLoop.start(self.settings)
        self.stats_delay_s = 0.0

    async def generate(self, body: Any) -> dict[str, Any]:
        """Run one request to completion; its result carries this replica's name."""
        result = await asyncio.wrap_future(self.loop.submit(body))
        return {**result, "replica": self.name}

    async def record_routing_stats(self) -> dict[str, Any]:
        if self.stats_delay_s:
            await asyncio.sleep(self.stats_delay_s)
        return {**self.loop.load().to_stats(), "replica": self.name}

    def set_stats_delay(self, seconds: float) -> str:
        """Fault injection: delay every ``record_routing_stats`` answer by this long (0: off); returns
        this replica's name."""
        self.stats_delay_s = float(seconds)
        return self.name

    def info(self) -> dict[str, Any]:
        """This replica's name, process, current load and the plug-in's counters."""
        load = self.loop.load()
        return {
            "replica": self.name,
            "pid": os.getpid(),
            "completed": self.loop.completed,
            "load": load.to_stats()["sagepred"],
            "scheduler": self.loop.scheduler.sagepred_stats(),
        }

    def check_health(self) -> None:
        if self.loop.failure is not None:
            raise RuntimeError(f"the engine stopped: {self.loop.failure}")


async def generate_with_retry(handle: DeploymentHandle, body: Any, retries: int = 3) -> dict[str, Any]:
    """``handle.generate(body)``, sent again when its replica dies (at most ``retries`` more times)."""
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            result = await handle.generate.remote(body)
            return {**result, "attempts": attempt + 1}
        except REPLICA_ERRORS as err:
            last = err
            global _warned_death
            level, _warned_death = (logging.DEBUG if _warned_death else logging.WARNING), True
            log.log(
                level,
                "sagepred: a replica died under a request; resending (up to %d tries, logged once)",
                retries + 1,
            )
            await asyncio.sleep(0.5 * (attempt + 1))  # the router learns of the death meanwhile
    request_id = body.get("id") if isinstance(body, dict) else None
    raise ReplicaLostError(
        f"request {request_id!r} lost its replica on all {retries + 1} tries; last error: "
        f"{type(last).__name__}: {str(last).splitlines()[0] if str(last) else ''}"
    )


api = FastAPI(title="sagepred on Ray Serve")


@serve.ingress(api)
class Ingress:
    """HTTP front: completions in, routed to the engine replicas by the configured router."""

    def __init__(self, engine: DeploymentHandle, retries: int = 3, served_model: str = "") -> None:
        self.engine = engine
        self.retries = retries
        self.served_model = served_model

    @api.post("/v1/completions")
    async def completions(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await generate_with_retry(self.engine, body, self.retries)
        except ReplicaLostError as err:
            raise HTTPException(status_code=503, detail=str(err)) from None
        except Exception as err:  # a RequestError raised in the replica arrives wrapped
            cause = getattr(err, "cause", err)
            if isinstance(cause, RequestError):
                raise HTTPException(status_code=400, detail=str(cause)) from None
            raise
        return {
            "id": f"cmpl-{result['id']}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body.get("model", self.served_model),
            "choices": [
                {
                    "index": 0,
                    "text": result["text"],
                    "finish_reason": result["finish_reason"],
                    "logprobs": None,
                }
            ],
            "usage": {"completion_tokens": result["output_tokens"]},
            "sagepred": {"replica": result["replica"], "attempts": result["attempts"]},
        }

    @api.get("/sagepred/router")
    async def router(self) -> dict[str, Any]:
        return {"decisions": router_decisions()}

    @api.get("/health")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}


def engine_deployment(settings: EngineSettings, config: RayServeConfig) -> Any:
    """The engine deployment, bound to its settings (an application on its own, or the ingress's child)."""
    router_config = RequestRouterConfig(
        request_router_class=RAY_ROUTERS[config.router],
        request_router_kwargs={"stale_after_s": config.stale_after_s, "score": config.route_score}
        if config.router == "predicted-cost"
        else {},
        request_routing_stats_period_s=config.stats_period_s,
        request_routing_stats_timeout_s=config.stats_timeout_s,
    )
    deployment = serve.deployment(SagepredEngine, name="SagepredEngine").options(
        num_replicas=config.replicas,
        max_ongoing_requests=config.max_ongoing_requests,
        request_router_config=router_config,
        ray_actor_options={"num_cpus": config.replica_cpus},
        health_check_period_s=2.0,
        health_check_timeout_s=30.0,
    )
    return deployment.bind(settings.to_dict())


def build_app(settings: EngineSettings, config: RayServeConfig) -> Any:
    """Ingress + engine replicas: the application ``sagepred serve --replicas`` runs."""
    ingress = serve.deployment(Ingress, name="Ingress").options(
        num_replicas=1, ray_actor_options={"num_cpus": 0}
    )
    return ingress.bind(engine_deployment(settings, config), config.retries, settings.model)
