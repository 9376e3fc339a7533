"""The engine's step time learnt online, and from it the price of a preemption by recompute.

vLLM v1 preempts by recompute: a preempted request's blocks are freed and, when it is admitted again,
its prompt and every token it generated are prefilled again, in chunks within the step's token budget.
What that costs is the extra time of the steps that carry those tokens. :class:`OnlineStepModel` fits
``t_step = base + per_token · batched_tokens + per_kv · kv_tokens_read`` by recursive least squares
(exponentially forgetting old steps) over the steps the engine actually runs, so the marginal
seconds of one recomputed token is ``per_token`` (plus the context it attends over) measured on
*this* engine, not taken from a profile. It also accumulates the recompute the engine has paid:
``recompute_tokens`` re-prefilled and their estimated seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class OnlineStepModel:
    """Recursive least squares of step time on ``(1, batched tokens, KV tokens read)``."""

    forgetting: float = field(
        default=0.999, metadata={"help": "weight kept by the previous steps per new step"}
    )
    min_steps: int = field(default=32, metadata={"help": "steps observed before the fit is trusted"})
    steps: int = 0
    recompute_tokens: int = 0
    recompute_s: float = 0.0
    _theta: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    _p: list[list[float]] = field(
        default_factory=lambda: [[1e2, 0.0, 0.0], [0.0, 1e-2, 0.0], [0.0, 0.0, 1e-6]]
    )

    def observe(
        self, batched_tokens: int, kv_tokens: int, seconds: float, recomputed_tokens: int = 0
    ) -> None:
        """One engine step: its tokens, the KV it read, its wall time, and how many of its tokens re-prefill
        preempted requests."""
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        # the 3x3 update in plain floats: numpy's per-call overhead was most of the plug-in's step time
        x = (1.0, float(batched_tokens), float(kv_tokens))
        p, theta, lam = self._p, self._theta, self.forgetting
        px = [p[i][0] * x[0] + p[i][1] * x[1] + p[i][2] * x[2] for i in range(3)]
        gain_den = lam + x[0] * px[0] + x[1] * px[1] + x[2] * px[2]
        gain = [v / gain_den for v in px]
        error = seconds - (x[0] * theta[0] + x[1] * theta[1] + x[2] * theta[2])
        self._theta = [theta[i] + gain[i] * error for i in range(3)]
        self._p = [[(p[i][j] - gain[i] * px[j]) / lam for j in range(3)] for i in range(3)]
        self.steps += 1
        if recomputed_tokens > 0:
            self.recompute_tokens += int(recomputed_tokens)
            self.recompute_s += float(recomputed_tokens) * self.per_token_s

    @property
    def ready(self) -> bool:
        """Whether enough steps were seen and the per-token coefficient is positive."""
        return self.steps >= self.min_steps and self._theta[1] > 0

    @property
    def per_token_s(self) -> float:
        return float(max(self._theta[1], 0.0))

    @property
    def per_kv_token_s(self) -> float:
        return float(max(self._theta[2], 0.0))

    @property
    def step_base_s(self) -> float:
        return float(max(self._theta[0], 0.0))

    def recompute_cost_s(self, context_tokens: int) -> float:
        """Seconds of engine time to re-prefill ``context_tokens``: each token's matmuls plus the context it
        attends over (causal: about half the context per token on average)."""
        n = float(context_tokens)
        return self.per_token_s * n + self.per_kv_token_s * n * (n + 1) / 2

    def to_dict(self) -> dict[str, float | int | bool]:
        return {
            "steps": self.steps,
            "ready": self.ready,
            "step_base_s": self.step_base_s,
            "per_token_s": self.per_token_s,
            "per_kv_token_s": self.per_kv_token_s,
            "recompute_tokens": self.recompute_tokens,
            "recompute_s": self.recompute_s,
        }
