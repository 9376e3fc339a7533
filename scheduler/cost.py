"""The hybrid cost model: what serving a request of ``I`` prompt and ``O`` output tokens costs.

``C(I, O) = a·(I + O) + b·(O²/2 + I·O)``. The first term is per-token work (prefill and the decode
matmuls), the second the KV memory-time and attention reads, which grow with the context every
decode step attends over. ``CostModel.paper()`` is SageSched's ``O²/2 + I·O`` (``a = 0, b = 1``);
``CostModel.from_profile`` calibrates ``a`` and ``b`` in seconds from an engine profile.

A predicted length distribution becomes a cost distribution by pushing its knots through ``C`` (exact
at the knots); the *remaining* cost of a request that has generated ``age`` tokens is
``C(I, age + R) − C(I, age)`` with ``R`` the remaining length given ``L > age``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.scheduler.profile import EngineProfile


@dataclass(frozen=True)
class CostModel:
    """``C(I, O) = a·(I + O) + b·(O²/2 + I·O)``, vectorised."""

    a: float = field(default=0.0, metadata={"help": "weight of the per-token term I + O"})
    b: float = field(default=1.0, metadata={"help": "weight of the KV memory-time term O²/2 + I·O"})
    prefill_weight: float = field(
        default=1.0, metadata={"help": "cost of recomputing one context token, in units of b (see recompute)"}
    )
    name: str = field(default="paper", metadata={"help": "label for reports"})
    per_second: float = field(
        default=1.0,
        metadata={"help": "cost units in one second of engine time (the tail guard's aging is in seconds)"},
    )

    def __post_init__(self) -> None:
        if self.a < 0 or self.b < 0 or self.a + self.b <= 0:
            raise ValueError("cost weights must be non-negative and not both zero")

    @classmethod
    def paper(cls, profile: EngineProfile | None = None) -> CostModel:
        """SageSched's ``O²/2 + I·O`` (units: KV-token reads).

        With a profile, a recomputed token is priced at ``per_token_s / per_kv_token_s`` KV reads
        (the time of one prefill token over the time of one KV read), and a second of engine time at
        ``1 / per_kv_token_s`` units; without one, both at one.
        """
        if profile is None:
            return cls(a=0.0, b=1.0, prefill_weight=1.0, name="paper")
        weight = profile.per_token_s / profile.per_kv_token_s
        return cls(a=0.0, b=1.0, prefill_weight=weight, name="paper", per_second=1.0 / profile.per_kv_token_s)

    @classmethod
    def from_profile(cls, profile: EngineProfile) -> CostModel:
        """Weights in seconds of engine time.

        ``a`` is one token's share of a full step (its matmuls plus the step's fixed cost split over
        ``max_num_seqs`` sequences), ``b`` the time to read one KV token. Recomputing a context token
        costs a prefill token, ``per_token_s``; ``prefill_weight`` expresses it in units of ``b``.
        """
        a = profile.per_token_s + profile.step_base_s / profile.max_num_seqs
        b = profile.per_kv_token_s
        return cls(a=a, b=b, prefill_weight=profile.per_token_s / b, name=f"calibrated:{profile.name}")

    def cost(self, prompt_len: np.ndarray | float, output_len: np.ndarray | float) -> np.ndarray:
        """``C(I, O)`` elementwise."""
        i = np.asarray(prompt_len, dtype=np.float64)
        o = np.asarray(output_len, dtype=np.float64)
        return self.a * (i + o) + self.b * (0.5 * o * o + i * o)

    def remaining(
        self, prompt_len: np.ndarray | float, age: np.ndarray | float, output_len: np.ndarray | float
    ) -> np.ndarray:
        """``C(I, O) − C(I, age)``: the cost still to pay of a request that ends at ``output_len``."""
        return self.cost(prompt_len, output_len) - self.cost(prompt_len, age)

    def recompute(self, context_len: np.ndarray | float) -> np.ndarray:
        """Cost of re-prefilling ``context_len`` tokens after a preemption by recompute: ``b·prefill_weight·n``."""
        return self.b * self.prefill_weight * np.asarray(context_len, dtype=np.float64)

    def cost_distribution(
        self, dist: LengthDistribution, prompt_len: np.ndarray | float
    ) -> LengthDistribution:
        """Distribution of ``C(I, L)`` for ``L ~ dist`` (one prompt length per row)."""
        i = np.broadcast_to(np.asarray(prompt_len, dtype=np.float64).reshape(-1), (len(dist),))[:, None]
        return dist.map_support(lambda o: self.cost(i, o))

    def remaining_cost_distribution(
        self, dist: LengthDistribution, prompt_len: np.ndarray | float, age: np.ndarray | float
    ) -> LengthDistribution:
        """Distribution of ``C(I, age + R) − C(I, age)``, ``R`` the remaining length given ``L > age``."""
        n = len(dist)
        i = np.broadcast_to(np.asarray(prompt_len, dtype=np.float64).reshape(-1), (n,))[:, None]
        a = np.broadcast_to(np.asarray(age, dtype=np.float64).reshape(-1), (n,))
        remaining = dist.condition(a)
        a = a[:, None]
        return remaining.map_support(lambda r: self.cost(i, a + r) - self.cost(i, a))


COST_MODELS = ("calibrated", "paper")


def cost_model(kind: str, profile: EngineProfile) -> CostModel:
    """``calibrated`` (weights from the profile, seconds) or ``paper`` (``O²/2 + I·O``, recompute priced by the profile)."""
    if kind == "calibrated":
        return CostModel.from_profile(profile)
    if kind == "paper":
        return CostModel.paper(profile)
    raise InputError(f"unknown cost model {kind!r}; choose {' or '.join(COST_MODELS)}", field="cost")
