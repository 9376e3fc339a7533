"""Semantic history: a bounded window of served requests searched by prompt-embedding similarity.

This is SageSched's predictor state as a component (arXiv 2603.07917): the last ``capacity`` served
requests, each an L2-normalised prompt embedding with the output length(s) observed for it (and
whether each was censored at ``max_tokens``) and the time it was observed. A query returns, per
prompt, the most similar past requests with cosine similarity ≥ ``threshold`` (at most ``top_k``).

* Storage is a ring buffer of preallocated arrays: :meth:`HistoryIndex.observe` is O(1) amortised
  (the buffers grow by doubling up to ``capacity``, then the oldest entry is overwritten: FIFO).
* Search is exact inner product on the ring buffer: a numpy matrix product and partial sort by
  default, or faiss's flat kernel (the one ``IndexFlatIP.search`` runs) with ``backend='faiss'``;
  both give the same neighbours. On the reference 2-core CPU numpy was 1.5–4× faster than faiss-cpu
  for 384-d vectors at every window and batch measured (``benchmarks/history_latency.py`` times both).
* Every public method takes one lock, so observers and queries on several threads are safe.
* :meth:`HistoryIndex.save` / :meth:`HistoryIndex.load`: ``history.safetensors`` (arrays, oldest
  first) + ``history.json`` (settings and the tensors' sha256), each written atomically; nothing
  is pickled. A torn pair (files from two different saves) is refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.checkpoint import check_version, read_json, read_tensors, require_files
from sagepred.errors import CheckpointError

HISTORY_FORMAT_VERSION = 1
HISTORY_WEIGHTS_NAME = "history.safetensors"
HISTORY_CONFIG_NAME = "history.json"
BACKENDS = ("auto", "faiss", "numpy")
FAISS_BLAS_THRESHOLD = 20  # faiss searches batches this large with BLAS, smaller ones query by query


@dataclass
class HistoryConfig:
    """Settings of the semantic history window (paper defaults: 10,000 entries, cosine 0.8)."""

    capacity: int = field(default=10_000, metadata={"help": "most recent requests kept (FIFO eviction)"})
    threshold: float = field(default=0.8, metadata={"help": "cosine similarity a neighbour needs"})
    top_k: int | None = field(
        default=64,
        metadata={
            "help": "most neighbours returned per query; None: every neighbour above the threshold (the paper's "
            "rule, used by the 'sagesched' baseline). The serving default 64 bounds the work per request"
        },
    )
    max_samples: int = field(default=10, metadata={"help": "output lengths stored per entry"})
    dim: int = field(default=384, metadata={"help": "embedding size (all-MiniLM-L6-v2: 384)"})
    backend: str = field(
        default="numpy",
        metadata={
            "help": "'numpy' (default), 'faiss' (faiss-cpu's flat kernel) or 'auto' (faiss when importable)"
        },
    )
    search_threads: int = field(
        default=1,
        metadata={
            "help": "faiss OpenMP threads for batches under 20 queries (1 avoids fork/join overhead; 0 = faiss default)"
        },
    )

    def __post_init__(self) -> None:
        if (
            self.capacity < 1
            or (self.top_k is not None and self.top_k < 1)
            or self.max_samples < 1
            or self.dim < 1
        ):
            raise ValueError("capacity, top_k (or None), max_samples and dim must be positive")
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {self.threshold}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Neighbours:
    """Search results for a batch of ``n`` queries, at most ``k`` neighbours each (best first).

    Attributes:
        similarity: ``(n, k)`` cosine similarities (0 where ``valid`` is False).
        lengths: ``(n, k, S)`` observed lengths (NaN where absent).
        censored: ``(n, k, S)`` censoring flags.
        valid: ``(n, k)`` whether the slot holds a neighbour.
        ids: ``(n, k)`` insertion numbers of the neighbours (−1 where absent).
    """

    similarity: np.ndarray
    lengths: np.ndarray
    censored: np.ndarray
    valid: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return self.similarity.shape[0]

    def counts(self) -> np.ndarray:
        """Neighbours found per query, ``(n,)``."""
        return self.valid.sum(axis=1)

    def sample_mask(self) -> np.ndarray:
        """``(n, k, S)``: True where a neighbour's length sample exists."""
        return self.valid[:, :, None] & ~np.isnan(self.lengths)


def _faiss_module() -> Any | None:
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def exact_search(
    queries: np.ndarray, database: np.ndarray, k: int, backend: str = "auto", threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` inner products of ``queries`` against ``database`` rows: ``(scores, rows)``, −1 where none.

    Ties are broken by the lower row. ``backend`` 'faiss' runs faiss's flat inner-product kernel
    (no index copy), batches under 20 queries on ``threads`` OpenMP threads (0: faiss's default);
    'numpy' a matrix product and a partial sort.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    nq, nb = queries.shape[0], database.shape[0]
    scores = np.full((nq, k), -np.inf, dtype=np.float32)
    rows = np.full((nq, k), -1, dtype=np.int64)
    if nb == 0 or nq == 0:
        return scores, rows
    kk = min(k, nb)
    faiss = _faiss_module() if backend in ("auto", "faiss") else None
    if backend == "faiss" and faiss is None:
        raise ImportError("backend 'faiss' needs faiss-cpu (pip install faiss-cpu)")
    if faiss is not None:
        before = faiss.omp_get_max_threads()
        if threads > 0 and nq < FAISS_BLAS_THRESHOLD:
            faiss.omp_set_num_threads(threads)
        try:
            d, i = faiss.knn(
                queries, np.ascontiguousarray(database, dtype=np.float32), kk, faiss.METRIC_INNER_PRODUCT
            )
        finally:
            faiss.omp_set_num_threads(before)
        scores[:, :kk], rows[:, :kk] = d, i
        return scores, rows
    sims = queries @ np.asarray(database, dtype=np.float32).T
    part = (
        np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        if kk < nb
        else np.broadcast_to(np.arange(nb), (nq, nb))
    )
    top = np.take_along_axis(sims, part, axis=1)
    order = np.lexsort((part, -top), axis=1)
    scores[:, :kk] = np.take_along_axis(top, order, axis=1)
    rows[:, :kk] = np.take_along_axis(part, order, axis=1)
    return scores, rows


class HistoryIndex:
    """A thread-safe FIFO window of (embedding, lengths, censoring, time) with exact similarity search."""

    def __init__(self, config: HistoryConfig | None = None) -> None:
        self.config = config or HistoryConfig()
        self._lock = threading.RLock()
        self._allocated = 0
        self._embeddings = np.zeros((0, self.config.dim), dtype=np.float32)
        self._lengths = np.zeros((0, self.config.max_samples), dtype=np.float32)
        self._censored = np.zeros((0, self.config.max_samples), dtype=bool)
        self._times = np.zeros(0, dtype=np.float64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._size = 0
        self._head = 0  # next slot to write once full (the oldest entry)
        self._total = 0  # entries ever observed (insertion numbers)

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        with self._lock:
            return self._size

    @property
    def total_observed(self) -> int:
        """Entries ever observed (including evicted ones); changes with every :meth:`observe`."""
        with self._lock:
            return self._total

    def _grow(self, needed: int) -> None:
        target = min(self.config.capacity, max(needed, 2 * self._allocated, 64))
        if target <= self._allocated:
            return

        def resize(array: np.ndarray, fill: Any) -> np.ndarray:
            out = np.full((target, *array.shape[1:]), fill, dtype=array.dtype)
            out[: array.shape[0]] = array
            return out

        self._embeddings = resize(self._embeddings, 0.0)
        self._lengths = resize(self._lengths, np.nan)
        self._censored = resize(self._censored, False)
        self._times = resize(self._times, 0.0)
        self._ids = resize(self._ids, -1)
        self._allocated = target

    def _order(self) -> np.ndarray:
        """Slots from oldest to newest."""
        if self._size < self.config.capacity:
            return np.arange(self._size)
        return (np.arange(self._size) + self._head) % self.config.capacity

    # ------------------------------------------------------------------ writing
    def observe(
        self,
        embedding: np.ndarray,
        lengths: float | Sequence[float],
        censored: bool | Sequence[bool] = False,
        timestamp: float | None = None,
    ) -> int:
        """Add one finished request; returns its insertion number. Evicts the oldest entry when full."""
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.config.dim:
            raise ValueError(f"embedding has {vector.shape[0]} values, the history holds {self.config.dim}")
        lens = np.atleast_1d(np.asarray(lengths, dtype=np.float32))
        flags = np.broadcast_to(np.atleast_1d(np.asarray(censored, dtype=bool)), lens.shape)
        if lens.ndim != 1 or lens.size == 0 or lens.size > self.config.max_samples:
            raise ValueError(f"an entry holds 1 to {self.config.max_samples} lengths, got {lens.size}")
        if np.any(~np.isfinite(lens)) or np.any(lens < 0):
            raise ValueError("output lengths must be finite and non-negative")
        stamp = time.time() if timestamp is None else float(timestamp)
        with self._lock:
            if self._size < self.config.capacity:
                slot = self._size
                if slot >= self._allocated:
                    self._grow(slot + 1)
                self._size += 1
            else:
                slot = self._head
                self._head = (self._head + 1) % self.config.capacity
            self._embeddings[slot] = vector
            self._lengths[slot] = np.nan
            self._lengths[slot, : lens.size] = lens
            self._censored[slot] = False
            self._censored[slot, : lens.size] = flags
            self._times[slot] = stamp
            self._ids[slot] = self._total
            self._total += 1
            return self._total - 1

    def observe_many(
        self,
        embeddings: np.ndarray,
        lengths: Sequence[Sequence[float]],
        censored: Sequence[Sequence[bool]] | None = None,
        timestamps: Sequence[float] | None = None,
    ) -> None:
        """:meth:`observe` for each row, in order (one lock acquisition)."""
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if len(lengths) != embeddings.shape[0]:
            raise ValueError(f"{len(lengths)} length lists for {embeddings.shape[0]} embeddings")
        with self._lock:
            if self._size + embeddings.shape[0] > self._allocated:
                self._grow(self._size + embeddings.shape[0])
            for i, vector in enumerate(embeddings):
                self.observe(
                    vector,
                    lengths[i],
                    False if censored is None else censored[i],
                    None if timestamps is None else timestamps[i],
                )

    def clear(self) -> None:
        """Forget every entry (settings are kept)."""
        with self._lock:
            self.__init__(self.config)

    # ------------------------------------------------------------------ reading
    def query(
        self, embeddings: np.ndarray, top_k: int | None = None, threshold: float | None = None
    ) -> Neighbours:
        """Neighbours of each query embedding with cosine ≥ ``threshold``, at most ``top_k``, best first.

        ``top_k`` defaults to the config's; when that is ``None`` every neighbour above the threshold is
        returned (``k`` is the largest such count in the batch).
        """
        queries = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if queries.shape[1] != self.config.dim:
            raise ValueError(f"queries have {queries.shape[1]} values, the history holds {self.config.dim}")
        limit = self.config.threshold if threshold is None else float(threshold)
        with self._lock:
            cap = top_k or self.config.top_k
            k = int(cap) if cap is not None else self._most_above(queries, limit)
            scores, slots = exact_search(
                queries, self._embeddings[: self._size], k, self.config.backend, self.config.search_threads
            )
            valid = (slots >= 0) & (scores >= limit)
            safe = np.where(valid, slots, 0)
            if self._size == 0:
                lengths = np.full((*slots.shape, self.config.max_samples), np.nan, dtype=np.float32)
                censored = np.zeros(lengths.shape, dtype=bool)
                ids = np.full(slots.shape, -1, dtype=np.int64)
            else:
                lengths = self._lengths[safe]
                censored = self._censored[safe]
                ids = self._ids[safe]
        lengths = np.where(valid[:, :, None], lengths, np.nan)
        return Neighbours(
            similarity=np.where(valid, scores, 0.0).astype(np.float32),
            lengths=lengths,
            censored=censored & valid[:, :, None],
            valid=valid,
            ids=np.where(valid, ids, -1),
        )

    def _most_above(self, queries: np.ndarray, limit: float, chunk: int = 1024) -> int:
        """The largest number of entries with similarity ≥ ``limit`` to any query (at least 1)."""
        database = self._embeddings[: self._size]
        most = 0
        for start in range(0, queries.shape[0], chunk):
            sims = queries[start : start + chunk] @ database.T
            most = max(most, int((sims >= limit).sum(axis=1).max(initial=0)))
        return max(most, 1)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the window's arrays, oldest first: ``embeddings``, ``lengths``, ``censored``, ``times``, ``ids``."""
        with self._lock:
            order = self._order()
            return {
                "embeddings": self._embeddings[order].copy(),
                "lengths": self._lengths[order].copy(),
                "censored": self._censored[order].copy(),
                "times": self._times[order].copy(),
                "ids": self._ids[order].copy(),
            }

    def all_lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored length sample and its censoring flag (flattened, oldest first)."""
        with self._lock:
            lengths = self._lengths[: self._size].reshape(-1)
            censored = self._censored[: self._size].reshape(-1)
            keep = ~np.isnan(lengths)
            return lengths[keep].astype(np.float64), censored[keep].copy()

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``history.safetensors`` and ``history.json`` into ``directory`` (each atomically)."""
        from safetensors.numpy import save

        from sagepred.io import atomic_write_bytes, atomic_write_text

        directory = Path(directory)
        state = self.snapshot()
        with self._lock:
            total = self._total
        tensors = {
            "embeddings": np.ascontiguousarray(state["embeddings"]),
            "lengths": np.ascontiguousarray(state["lengths"]),
            "censored": np.ascontiguousarray(state["censored"].astype(np.uint8)),
            "times": np.ascontiguousarray(state["times"]),
            "ids": np.ascontiguousarray(state["ids"]),
        }
        payload = save(tensors, metadata={"sagepred_history_format": str(HISTORY_FORMAT_VERSION)})
        meta = {
            "format_version": HISTORY_FORMAT_VERSION,
            "config": self.config.to_dict(),
            "size": int(state["ids"].shape[0]),
            "total_observed": int(total),
            "tensors_sha256": hashlib.sha256(payload).hexdigest(),
        }
        atomic_write_bytes(directory / HISTORY_WEIGHTS_NAME, payload)
        atomic_write_text(directory / HISTORY_CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, config: HistoryConfig | None = None) -> HistoryIndex:
        """Read a saved history; ``config`` overrides the saved settings (e.g. another threshold).

        A smaller ``capacity`` keeps the newest entries. Missing, corrupt or mismatched files raise
        :class:`~sagepred.errors.CheckpointError`.
        """
        directory = Path(directory)
        meta_path, tensor_path = require_files(
            directory, HISTORY_CONFIG_NAME, HISTORY_WEIGHTS_NAME, what="a saved history"
        )
        meta = read_json(meta_path)
        check_version(meta, HISTORY_FORMAT_VERSION, meta_path, what="history format")
        tensors = read_tensors(tensor_path, framework="numpy", sha256=meta.get("tensors_sha256"))
        try:
            saved_config = HistoryConfig(**meta["config"])
            embeddings, lengths = tensors["embeddings"], tensors["lengths"]
            censored, times, ids = tensors["censored"].astype(bool), tensors["times"], tensors["ids"]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{directory}: malformed saved history ({err})") from None
        config = config or saved_config
        if embeddings.shape[1] != config.dim or lengths.shape[1] > config.max_samples:
            raise CheckpointError(
                f"{tensor_path}: entries of dim {embeddings.shape[1]} with {lengths.shape[1]} samples do not fit "
                f"a history of dim {config.dim} with {config.max_samples}"
            )
        index = cls(config)
        keep = slice(max(0, embeddings.shape[0] - config.capacity), None)
        with index._lock:
            n = embeddings[keep].shape[0]
            index._grow(n)
            index._embeddings[:n] = embeddings[keep]
            index._lengths[:n, : lengths.shape[1]] = lengths[keep]
            index._censored[:n, : censored.shape[1]] = censored[keep]
            index._times[:n] = times[keep]
            index._ids[:n] = ids[keep]
            index._size = n
            index._head = 0
            index._total = int(meta.get("total_observed", n))
        return index
