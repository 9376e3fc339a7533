"""Settings of the Ray Serve deployment (no Ray import: the CLI checks them before Ray is loaded)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from sagepred.errors import InputError, SagepredError

PREDICTED_COST_ROUTER = "sagepred.scheduler.ray_router.PredictedCostRouter"
"""Import path for ``RequestRouterConfig(request_router_class=…)``."""

RAY_ROUTERS = {
    "predicted-cost": PREDICTED_COST_ROUTER,
    "pow2": "ray.serve._private.request_router.pow_2_router.PowerOfTwoChoicesRequestRouter",
}
"""``--router`` names: sagepred's, and Ray Serve's default (power of two choices on queue length)."""


@dataclass(frozen=True)
class RayServeConfig:
    """How many replicas, which router, how fresh its stats are, and what each replica may take."""

    replicas: int = field(default=2, metadata={"help": "engine replicas"})
    router: str = field(default="predicted-cost", metadata={"help": "predicted-cost or pow2 (Ray's default)"})
    route_score: str = field(
        default="overlap",
        metadata={
            "help": "predicted-cost router's score: overlap (expected decode steps shared with each "
            "replica's requests) or cost (predicted outstanding cost)"
        },
    )
    stats_period_s: float = field(
        default=0.25, metadata={"help": "seconds between Ray's record_routing_stats calls per replica"}
    )
    stats_timeout_s: float = field(
        default=1.0, metadata={"help": "a record_routing_stats call longer than this fails (stats stay old)"}
    )
    stale_after_s: float = field(
        default=2.0, metadata={"help": "the router ignores stats older than this and routes by queue length"}
    )
    max_ongoing_requests: int = field(
        default=256,
        metadata={"help": "requests a replica takes at once (high: the queue forms in the engine, ordered)"},
    )
    replica_cpus: float = field(default=1.0, metadata={"help": "Ray CPUs reserved per replica"})
    retries: int = field(default=3, metadata={"help": "resends of a request whose replica died"})
    name: str = field(default="sagepred", metadata={"help": "Ray Serve application name"})

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise InputError(f"expected at least 1 replica, got {self.replicas}", field="--replicas")
        if self.router not in RAY_ROUTERS:
            raise InputError(
                f"unknown router {self.router!r}; expected one of {', '.join(RAY_ROUTERS)}", field="--router"
            )
        if self.route_score not in ("overlap", "cost"):
            raise InputError(
                f"unknown route score {self.route_score!r}; expected overlap or cost", field="--route-score"
            )
        for name in ("stats_period_s", "stats_timeout_s", "stale_after_s", "replica_cpus"):
            if not getattr(self, name) > 0:
                raise InputError(f"expected a positive number, got {getattr(self, name)!r}", field=name)
        if self.retries < 0:
            raise InputError(f"expected 0 or more, got {self.retries}", field="retries")
        if self.max_ongoing_requests < 1:
            raise InputError(
                f"expected at least 1, got {self.max_ongoing_requests}", field="max_ongoing_requests"
            )


def check_ray() -> None:
    """Raise a one-line :class:`SagepredError` naming the extra when Ray Serve cannot be imported."""
    try:
        found = (
            importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.serve") is not None
        )
        if found:
            import ray.serve  # noqa: F401
    except ImportError as err:
        found, reason = False, str(err)
    else:
        reason = "No module named 'ray'"
    if not found:
        raise SagepredError(
            f"--replicas runs on Ray Serve, which is not installed here ({reason}); install the extra 'ray' "
            "(pip install 'sagepred[ray]', i.e. ray[serve]==2.60.0)"
        )
