"""Window-level evidence learned online: the prior of the fusion rule corrected by recent outcomes.

The prior is not the raw head but ``R ∘ M`` with ``M = (1 − λ)·F_head + λ·G``: ``G`` is the window's
global histogram, ``λ`` is fitted by maximum likelihood on the recent outcomes (each scored before it
joined the window), and ``R`` is the smoothed empirical CDF of the PIT values ``M(y)`` of those
outcomes, shrunk towards the identity (online recalibration, Kuleshov et al. 2018). Together they
correct a head whose training mix differs from the traffic even for prompts without neighbours
(λ → 1 for an uninformative head, → 0 for a good one); before any outcome the prior is the head itself.

:class:`WindowPrior` keeps the outcomes (thread-safe) and caches ``R`` and ``λ`` between them; the
functions here are the math.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

import numpy as np

from sagepred.calibration import PIT_GRID, apply_map
from sagepred.distribution import LengthDistribution, bin_index

PIT_BANDWIDTH = 0.02


def recalibration_map(pits: np.ndarray, strength: float) -> np.ndarray:
    """``R`` on :data:`PIT_GRID`: the smoothed empirical CDF of ``pits`` shrunk towards the identity.

    ``R(u) = (strength · u + Σ_i K(u − u_i)) / (strength + n)`` with ``K`` a linear ramp of width
    :data:`PIT_BANDWIDTH`; monotone, ``R(0) = 0``, ``R(1) = 1``.
    """
    pits = np.asarray(pits, dtype=np.float64)
    ramp = np.clip((PIT_GRID[:, None] - pits[None, :]) / PIT_BANDWIDTH + 0.5, 0.0, 1.0).sum(axis=1)
    out = (strength * PIT_GRID + ramp) / (strength + pits.size)
    out[0], out[-1] = 0.0, 1.0
    return np.maximum.accumulate(out)


def recalibrate(dist: LengthDistribution, mapping: np.ndarray) -> LengthDistribution:
    """``R ∘ F`` with ``R`` given on :data:`PIT_GRID`, evaluated at ``dist``'s knots (linear between them)."""
    return apply_map(dist, PIT_GRID, mapping)


def pit_value(dist: LengthDistribution, length: float, censored: bool) -> float:
    """``F(length)`` for one-row ``dist``; a censored outcome takes the middle of ``[F(c), 1]``."""
    value = float(dist.cdf(float(length))[0])
    return 0.5 * (value + 1.0) if censored else value


def mixture_weight(head_probs: np.ndarray, window_probs: np.ndarray, iterations: int = 30) -> float:
    """The weight ``λ`` maximising ``Σ log((1 − λ)·a_i + λ·b_i)`` (EM; 0 without data)."""
    a = np.maximum(np.asarray(head_probs, dtype=np.float64), 1e-12)
    b = np.maximum(np.asarray(window_probs, dtype=np.float64), 1e-12)
    if a.size == 0:
        return 0.0
    lam = 0.5
    for _ in range(iterations):
        lam = float(np.mean(lam * b / ((1.0 - lam) * a + lam * b)))
    return lam


def outcome_prob(probs: np.ndarray, edges: np.ndarray, length: float, censored: bool) -> float:
    """Probability of an outcome's bin (``P(L ≥ c)`` for a censored one) under bin probabilities."""
    b = int(bin_index([length], edges)[0])
    return float(probs[b:].sum() if censored else probs[b])


class WindowPrior:
    """The recent outcomes' PIT values (for ``R``) and likelihood pairs (for ``λ``), thread-safe.

    Args:
        window: most recent outcomes kept.
        strength: pseudo-observations of the identity in ``R`` (the head taken as calibrated).
    """

    def __init__(self, window: int, strength: float) -> None:
        self.strength = strength
        self._pits: deque[float] = deque(maxlen=window)
        self._pairs: deque[tuple[float, float]] = deque(maxlen=window)
        self._count = 0
        self._lock = threading.Lock()
        self._map_cache: tuple[int, np.ndarray] | None = None
        self._lambda_cache: tuple[int, float] | None = None

    def record(self, pits: Iterable[float], pairs: Iterable[tuple[float, float]] = ()) -> None:
        """Add outcomes: their PIT values and ``(P_head, P_window)`` likelihood pairs."""
        values = [float(v) for v in pits]
        pairs = [(float(a), float(b)) for a, b in pairs]
        with self._lock:
            self._pits.extend(values)
            self._pairs.extend(pairs)
            self._count += len(values)

    def mapping(self) -> np.ndarray | None:
        """``R`` on :data:`PIT_GRID` from the kept PITs; ``None`` before any."""
        with self._lock:
            if not self._pits:
                return None
            if self._map_cache is None or self._map_cache[0] != self._count:
                self._map_cache = (
                    self._count,
                    recalibration_map(np.fromiter(self._pits, float), self.strength),
                )
            return self._map_cache[1]

    def weight(self) -> float:
        """``λ``: the weight of the window's global histogram fitted on the kept pairs (0 before any)."""
        with self._lock:
            if not self._pairs:
                return 0.0
            if self._lambda_cache is None or self._lambda_cache[0] != self._count:
                pairs = np.asarray(self._pairs)
                self._lambda_cache = (self._count, mixture_weight(pairs[:, 0], pairs[:, 1]))
            return self._lambda_cache[1]

    def state(self) -> dict[str, list]:
        """``{"pits": [...], "pairs": [[a, b], ...]}``, taken together (what ``fusion.json`` stores)."""
        with self._lock:
            return {"pits": list(self._pits), "pairs": [list(p) for p in self._pairs]}

    @property
    def pits(self) -> list[float]:
        """The PIT values kept (oldest first)."""
        with self._lock:
            return list(self._pits)

    @property
    def pairs(self) -> list[tuple[float, float]]:
        """The likelihood pairs kept (oldest first)."""
        with self._lock:
            return list(self._pairs)
