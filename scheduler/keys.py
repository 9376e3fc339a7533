"""When a request's policy key is recomputed: one rule, one cache, for the simulator and the plug-in.

A policy's key, preemption value and preemption age limit for a request depend on what it knows of
the request (arrival, prompt, prediction) and on the request's *key bucket*: ``age // refresh_tokens``
(always bucket 0 for a policy whose keys ignore age; every token for a per-token policy such as the
oracle). Each bucket's entries are computed at the bucket's first age, so a key never depends on
when it was asked for, and they are recomputed only when the bucket changes or the prediction is
replaced (the caller drops its entries then). Starvation is the serving queue's concern
(:class:`~sagepred.scheduler.serving.KeyBook`): it orders starved requests ahead of every key.

:class:`KeyCache` holds that rule and computes entries in large batches. The simulator knows every
request's length up front and fills the cache for every bucket at once (:meth:`KeyCache.fill`); the
plug-in asks for the buckets of the requests it serves as they age (:meth:`KeyCache.compute`) and
keeps each request's entry on the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sagepred.scheduler.policies import Policy, RequestState

StateFn = Callable[[np.ndarray, np.ndarray], RequestState]
"""``(rows, ages) -> RequestState`` of those rows of the caller's requests at those ages."""


@dataclass(frozen=True)
class KeyEntries:
    """Keys, preemption values and preemption age limits of a batch, ``(n,)`` each."""

    keys: np.ndarray
    values: np.ndarray
    limits: np.ndarray


class KeyCache:
    """A policy's keys per request and key bucket, computed in batches of ``chunk`` rows.

    ``value_policy`` prices preemption (default: the policy itself); a non-preemptive policy's values
    are its keys and its age limits infinite.
    """

    def __init__(self, policy: Policy, value_policy: Policy | None = None, chunk: int = 8192) -> None:
        self.policy = policy
        self.value_policy = value_policy or policy
        self.chunk = chunk
        self.computations = 0
        """Rows computed so far (each request's bucket once while it is cached)."""
        self._offsets: np.ndarray | None = None
        self._filled: KeyEntries | None = None
        self._state: StateFn | None = None

    @property
    def refresh_tokens(self) -> int | None:
        return self.policy.refresh_tokens

    @property
    def per_token(self) -> bool:
        """Whether keys change every token (then :meth:`fill` stores nothing and lookups compute)."""
        return self.refresh_tokens == 1

    def bucket(self, ages: np.ndarray | int) -> np.ndarray:
        """The key bucket of each age (``0`` for a policy whose keys ignore age)."""
        ages = np.asarray(ages, dtype=np.int64)
        if self.refresh_tokens is None:
            return np.zeros_like(ages)
        return ages // self.refresh_tokens

    def bucket_of(self, age: int) -> int:
        """:meth:`bucket` of one age, in plain integers (the plug-in asks per request and step)."""
        return 0 if self.refresh_tokens is None else int(age) // self.refresh_tokens

    def bucket_age(self, buckets: np.ndarray | int) -> np.ndarray:
        """The age at which a bucket's entries are computed: its first age."""
        buckets = np.asarray(buckets, dtype=np.int64)
        return (buckets * (self.refresh_tokens or 0)).astype(np.float64)

    def compute(self, rows: np.ndarray, ages: np.ndarray, state: StateFn) -> KeyEntries:
        """Entries of ``rows`` in the buckets of ``ages`` (computed at each bucket's first age)."""
        return self._evaluate(np.asarray(rows), self.bucket_age(self.bucket(ages)), state)

    def _evaluate(self, rows: np.ndarray, at: np.ndarray, state: StateFn) -> KeyEntries:
        keys = np.empty(rows.size)
        preemptive = self.policy.preemptive
        values = np.empty(rows.size) if preemptive else keys
        limits = np.empty(rows.size) if preemptive else np.full(rows.size, np.inf)
        for start in range(0, rows.size, self.chunk):
            part = slice(start, start + self.chunk)
            s = state(rows[part], at[part])
            keys[part] = self.policy.keys(s)
            if preemptive:
                values[part] = self.value_policy.preempt_values(s)
                limits[part] = self.policy.preempt_age_limit(s)
        self.computations += rows.size
        return KeyEntries(keys, values, limits)

    def fill(self, lengths: np.ndarray, state: StateFn) -> None:
        """Compute every bucket that requests ``0 … n−1`` of known ``lengths`` reach, in one pass.

        Afterwards :meth:`keys`, :meth:`values` and :meth:`limits` look entries up by row and age.
        """
        self._state = state
        lengths = np.asarray(lengths, dtype=np.int64)
        n = lengths.size
        if self.per_token:
            return
        counts = self.bucket(np.maximum(lengths - 1, 0)) + 1
        self._offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        rows = np.repeat(np.arange(n), counts)
        buckets = np.arange(rows.size) - np.repeat(self._offsets, counts)
        self._filled = self._evaluate(rows, self.bucket_age(buckets), state)

    def _filled_state(self) -> tuple[StateFn, KeyEntries | None, np.ndarray | None]:
        if self._state is None:
            raise RuntimeError("KeyCache.fill() first")
        return self._state, self._filled, self._offsets

    def keys(self, rows: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """Keys of filled ``rows`` at ``ages``."""
        state, filled, offsets = self._filled_state()
        if filled is None or offsets is None:
            return self.policy.keys(state(rows, np.asarray(ages, dtype=np.float64)))
        return filled.keys[offsets[rows] + self.bucket(ages)]

    def values(self, rows: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """Preemption values of filled ``rows`` at ``ages``."""
        state, filled, offsets = self._filled_state()
        if filled is None or offsets is None:
            if not self.policy.preemptive:
                return self.keys(rows, ages)
            return self.value_policy.preempt_values(state(rows, np.asarray(ages, dtype=np.float64)))
        return filled.values[offsets[rows] + self.bucket(ages)]

    def limits(self, rows: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """Preemption age limits of filled ``rows`` at ``ages``."""
        state, filled, offsets = self._filled_state()
        if filled is None or offsets is None:
            if not self.policy.preemptive:
                return np.full(len(rows), np.inf)
            return self.policy.preempt_age_limit(state(rows, np.asarray(ages, dtype=np.float64)))
        return filled.limits[offsets[rows] + self.bucket(ages)]
