"""Fusing the trained head with the semantic history: the head is the prior, neighbours the evidence.

For a prompt with head CDF ``F_head`` and neighbours ``i`` (similarity ``s_i``, observed length
samples ``y_ij``) the fused distribution is the mixture

    F = (α · F_head + Σ_ij w_i · G_ij) / (α + Σ_ij w_i),     w_i = s_i ** similarity_power,

where ``α`` is ``prior_strength`` (the head's weight in pseudo-samples) and ``G_ij`` puts the sample's
mass uniformly on its histogram bin — on a histogram head this is exactly Dirichlet pseudo-counts on
the bins. A censored sample (``y ≥ c``) spreads its mass over the bins from ``c``'s upwards in
proportion to the head's own mass there. For a quantile head the mixture is taken on the union of the
head's knots and the bin edges, so it stays exact. A prompt with no neighbour gets the head's
distribution unchanged (the prior: see below).

Window-level evidence: by default (``shrink_to_window``, ``recalibrate``) the prior is not the raw head but
``R ∘ M`` with ``M = (1 − λ)·F_head + λ·G``: ``G`` is the window's global histogram, ``λ`` is fitted
by maximum likelihood on the recent outcomes (each scored before it joined the window), and ``R`` is
the smoothed empirical CDF of the PIT values ``M(y)`` of those outcomes, shrunk towards the identity
(online recalibration, Kuleshov et al. 2018). Together they correct a head whose training mix
differs from the traffic even for prompts without neighbours (λ → 1 for an uninformative head, → 0 for
a good one); before any outcome (or with ``recalibrate=False, shrink_to_window=False``) the prior is
the head itself.

``mode="history"`` is SageSched's predictor alone: the neighbours' (weighted) histogram, padded up
to ``min_samples`` with the global histogram of the window (or a given padding histogram).
:class:`FusedPredictor` wraps a head and a :class:`~sagepred.history.HistoryIndex` behind the
``predict(prompts, prompt_lens=None)`` interface, learning online through ``observe``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.distribution import (
    DEFAULT_MAX_LENGTH,
    LengthDistribution,
    bin_index,
    histogram_probs,
    log_bin_edges,
)
from sagepred.history import HistoryConfig, HistoryIndex, Neighbours

MODES = ("fused", "history", "head")
FUSION_CONFIG_NAME = "fusion.json"


@dataclass
class FusionConfig:
    """How neighbours update the head's distribution."""

    mode: str = field(
        default="fused", metadata={"help": "'fused' (head prior + history), 'history' (paper) or 'head'"}
    )
    prior_strength: float = field(default=4.0, metadata={"help": "the head's weight, in pseudo-samples"})
    similarity_power: float = field(
        default=1.0, metadata={"help": "neighbour weight = similarity ** power (0 = uniform)"}
    )
    min_samples: float = field(
        default=10.0, metadata={"help": "history mode: pad with the global histogram up to this"}
    )
    recalibrate: bool = field(
        default=True,
        metadata={
            "help": "fused: recalibrate the head with the PITs of recent outcomes (window-level evidence)"
        },
    )
    recalibration_window: int = field(default=1000, metadata={"help": "most recent PIT values kept"})
    recalibration_strength: float = field(
        default=50.0,
        metadata={"help": "pseudo-observations of the identity map (the head taken as calibrated)"},
    )
    shrink_to_window: bool = field(
        default=True,
        metadata={
            "help": "fused: mix the window's global histogram into the prior, weight fitted online by likelihood"
        },
    )
    num_bins: int = field(default=64, metadata={"help": "evidence bins when there is no histogram head"})
    max_length: float = field(
        default=DEFAULT_MAX_LENGTH, metadata={"help": "largest length of the evidence bins"}
    )

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.prior_strength <= 0:
            raise ValueError("prior_strength must be positive (the head's weight)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence_counts(
    neighbours: Neighbours,
    edges: np.ndarray,
    similarity_power: float = 1.0,
    tail_probs: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, K)`` weighted sample counts per bin.

    A censored sample's weight goes to the bins from its own upwards, in proportion to ``tail_probs``
    (``(n, K)`` or ``(K,)``, e.g. the head's bin probabilities); uniformly over them when absent or zero.
    """
    n, num_bins = len(neighbours), edges.shape[0] - 1
    counts = np.zeros((n, num_bins))
    mask = neighbours.sample_mask()
    if not mask.any():
        return counts
    weight = np.power(np.maximum(neighbours.similarity.astype(np.float64), 0.0), similarity_power)
    rows, slots, samples = np.nonzero(mask)
    lengths = neighbours.lengths[rows, slots, samples].astype(np.float64)
    w = weight[rows, slots]
    bins = bin_index(lengths, edges)
    cens = neighbours.censored[rows, slots, samples]
    np.add.at(counts, (rows[~cens], bins[~cens]), w[~cens])
    if cens.any():
        shape = np.broadcast_to(np.ones(num_bins) if tail_probs is None else tail_probs, (n, num_bins))
        for r, b, wt in zip(rows[cens], bins[cens], w[cens], strict=True):
            tail = np.asarray(shape[r, b:], dtype=np.float64)
            tail = tail if tail.sum() > 0 else np.ones_like(tail)
            counts[r, b:] += wt * tail / tail.sum()
    return counts


def bin_probs(dist: LengthDistribution, edges: np.ndarray) -> np.ndarray:
    """``(n, K)`` probability of each bin under ``dist`` (through its CDF at the edges)."""
    cdf = dist.cdf(np.asarray(edges, dtype=np.float64)[None, :])
    cdf[:, -1] = 1.0
    return np.maximum(np.diff(cdf, axis=1), 0.0)


def fuse(
    head: LengthDistribution, evidence: np.ndarray, edges: np.ndarray, prior_strength: float
) -> LengthDistribution:
    """The mixture ``(α · head + evidence) / (α + W)``; rows with no evidence are the head exactly.

    ``evidence`` is ``(n, K)`` weighted counts on the bins ``edges`` (uniform within a bin). With no
    evidence at all ``head`` itself is returned. For a quantile head in a batch where some rows have
    evidence, the others keep their knots and CDF values (padded with copies of the last knot), so
    ``cdf`` and ``quantile`` are bit-identical to the head's and moments agree to rounding.
    """
    edges = np.asarray(edges, dtype=np.float64)
    evidence = np.atleast_2d(np.asarray(evidence, dtype=np.float64))
    n = len(head)
    total = evidence.sum(axis=1)
    has = total > 0
    if not has.any():
        return head
    knots, cdf = head.row_knots, head.row_cdf
    cum_evidence = np.concatenate([np.zeros((n, 1)), np.cumsum(evidence, axis=1)], axis=1)
    alpha = float(prior_strength)
    if knots.shape[1] == edges.shape[0] and np.allclose(knots, edges[None, :], rtol=1e-6, atol=1e-6):
        fused = (alpha * cdf + cum_evidence) / (alpha + np.where(has, total, 1.0))[:, None]
        fused[:, -1] = 1.0
        out_cdf = np.where(has[:, None], np.minimum(fused, 1.0), cdf)
        return LengthDistribution(head.knots, out_cdf, kind=head.kind if not has.any() else "histogram")
    # general heads (quantile knots per row): mix on the union of the head's knots and the bin edges
    union = np.concatenate([knots, np.broadcast_to(edges, (n, edges.shape[0]))], axis=1)
    order = np.argsort(union, axis=1, kind="stable")
    union = np.take_along_axis(union, order, axis=1)
    head_at_edges = head.cdf(edges[None, :])
    head_at_union = np.take_along_axis(np.concatenate([cdf, head_at_edges], axis=1), order, axis=1)
    evid = LengthDistribution(edges[None, :], cum_evidence / np.where(has, total, 1.0)[:, None])
    evid_at_union = evid.cdf(union)
    fused = (alpha * head_at_union + total[:, None] * evid_at_union) / (alpha + total)[:, None]
    fused = np.minimum(np.maximum.accumulate(fused, axis=1), 1.0)
    fused[:, -1] = 1.0
    pad = union.shape[1] - knots.shape[1]
    head_knots = np.concatenate([knots, np.repeat(knots[:, -1:], pad, axis=1)], axis=1)
    head_cdf = np.concatenate([cdf, np.repeat(cdf[:, -1:], pad, axis=1)], axis=1)
    out_knots = np.where(has[:, None], union, head_knots)
    out_cdf = np.where(has[:, None], fused, head_cdf)
    return LengthDistribution(out_knots, out_cdf, kind=head.kind if not has.any() else "mixed")


PIT_GRID = np.linspace(0.0, 1.0, 201)
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
    """``R ∘ F``, evaluated at ``dist``'s knots (linear between them, like ``F``)."""
    return LengthDistribution(dist.knots, np.interp(dist.cdf_at_knots, PIT_GRID, mapping), kind=dist.kind)


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


def history_only(
    evidence: np.ndarray, edges: np.ndarray, padding: np.ndarray, min_samples: float
) -> LengthDistribution:
    """SageSched's predictor: the neighbours' histogram, padded with ``padding`` up to ``min_samples``."""
    evidence = np.atleast_2d(np.asarray(evidence, dtype=np.float64))
    padding = np.asarray(padding, dtype=np.float64)
    padding = (
        padding / padding.sum()
        if padding.sum() > 0
        else np.full(edges.shape[0] - 1, 1.0 / (edges.shape[0] - 1))
    )
    missing = np.maximum(float(min_samples) - evidence.sum(axis=1), 0.0)
    counts = evidence + missing[:, None] * padding[None, :]
    empty = counts.sum(axis=1) <= 0
    counts[empty] = padding
    return LengthDistribution.from_histogram(counts, edges)


class FusedPredictor:
    """A head (optional in history mode) plus a semantic history, behind ``predict`` / ``observe``.

    Args:
        head: a :class:`~sagepred.predictor.LengthPredictor` (or anything with ``encoder`` and
            ``predict_from_features``); required unless ``fusion.mode == "history"``.
        history: the window (a new empty one from ``history_config`` when omitted).
        fusion: how head and neighbours combine.
        encoder: the text encoder when there is no head (default all-MiniLM-L6-v2).
        padding: history mode: bin probabilities used to pad; default the window's global histogram.
    """

    def __init__(
        self,
        head: Any | None = None,
        history: HistoryIndex | None = None,
        fusion: FusionConfig | None = None,
        history_config: HistoryConfig | None = None,
        encoder: Any | None = None,
        padding: np.ndarray | None = None,
    ) -> None:
        self.fusion = fusion or FusionConfig()
        if head is None and self.fusion.mode != "history":
            raise ValueError(f"mode {self.fusion.mode!r} needs a head; use mode='history' without one")
        self.head = head
        self.history = history if history is not None else HistoryIndex(history_config)
        self._encoder = encoder
        self._encoder_lock = threading.Lock()
        self.padding = padding
        self._pits: deque[float] = deque(maxlen=self.fusion.recalibration_window)
        self._pit_lock = threading.Lock()
        self._map_cache: tuple[int, np.ndarray] | None = None
        self._pit_count = 0
        self._pairs: deque[tuple[float, float]] = deque(maxlen=self.fusion.recalibration_window)
        self._lambda_cache: tuple[int, float] | None = None
        self._global_cache: tuple[int, np.ndarray] | None = None
        head_config = getattr(getattr(head, "config", None), "head", None)
        if head_config is not None and head_config.kind == "histogram":
            edges = getattr(getattr(head, "head", None), "edges", None)
            self.edges = (
                edges.detach().cpu().numpy().astype(np.float64)
                if edges is not None
                else log_bin_edges(head_config.num_bins, head_config.max_length)
            )
        else:
            self.edges = log_bin_edges(self.fusion.num_bins, self.fusion.max_length)

    @property
    def encoder(self) -> Any:
        """The head's encoder, or the standalone one (loaded on first use)."""
        if self.head is not None:
            return self.head.encoder
        with self._encoder_lock:
            if self._encoder is None:
                from sagepred.encoders import TextEncoder

                self._encoder = TextEncoder()
            return self._encoder

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        """Prompt embeddings (the encoder runs outside the history's lock)."""
        return self.encoder.encode(list(prompts))

    # ------------------------------------------------------------------ prediction
    def global_histogram(self) -> np.ndarray:
        """Bin probabilities of every length in the window (cached until the next ``observe``)."""
        version = self.history.total_observed
        if self._global_cache is not None and self._global_cache[0] == version:
            return self._global_cache[1]
        lengths, _ = self.history.all_lengths()
        probs = histogram_probs(lengths, self.edges)
        self._global_cache = (version, probs)
        return probs

    def predict_from_features(
        self,
        embeddings: np.ndarray,
        token_counts: np.ndarray | None = None,
        head_dist: LengthDistribution | None = None,
        neighbours: Neighbours | None = None,
    ) -> LengthDistribution:
        """Distributions from precomputed embeddings (and, optionally, the head's output and the neighbours)."""
        mode = self.fusion.mode
        if mode != "history" and head_dist is None:
            if token_counts is None:
                raise ValueError("the head needs token_counts (or pass head_dist)")
            head_dist = self.head.predict_from_features(embeddings, token_counts)
        if mode == "head":
            return head_dist
        found = neighbours if neighbours is not None else self.history.query(embeddings)
        if mode == "history":
            padding = self.padding if self.padding is not None else self.global_histogram()
            evidence = evidence_counts(found, self.edges, self.fusion.similarity_power, padding)
            return history_only(evidence, self.edges, padding, self.fusion.min_samples)
        head_dist = self.calibrated(self.shrunk(head_dist))
        tail = bin_probs(head_dist, self.edges)
        evidence = evidence_counts(found, self.edges, self.fusion.similarity_power, tail)
        return fuse(head_dist, evidence, self.edges, self.fusion.prior_strength)

    def calibrated(self, head_dist: LengthDistribution) -> LengthDistribution:
        """The head's distribution recalibrated with recent PITs (unchanged before any, or when disabled)."""
        if not self.fusion.recalibrate:
            return head_dist
        with self._pit_lock:
            if not self._pits:
                return head_dist
            if self._map_cache is None or self._map_cache[0] != self._pit_count:
                self._map_cache = (
                    self._pit_count,
                    recalibration_map(np.fromiter(self._pits, float), self.fusion.recalibration_strength),
                )
            mapping = self._map_cache[1]
        return recalibrate(head_dist, mapping)

    def shrunk(self, head_dist: LengthDistribution) -> LengthDistribution:
        """``(1 − λ)·head + λ·G`` on the bins (the head itself while ``λ`` is 0)."""
        lam = self.window_weight()
        if lam <= 0:
            return head_dist
        probs = (1.0 - lam) * bin_probs(head_dist, self.edges) + lam * self.global_histogram()[None, :]
        return LengthDistribution.from_histogram(probs, self.edges)

    def window_weight(self) -> float:
        """``λ``: the weight of the window's global histogram in the prior (0 when disabled or no data)."""
        if not self.fusion.shrink_to_window:
            return 0.0
        with self._pit_lock:
            if not self._pairs:
                return 0.0
            if self._lambda_cache is None or self._lambda_cache[0] != self._pit_count:
                pairs = np.asarray(self._pairs)
                self._lambda_cache = (self._pit_count, mixture_weight(pairs[:, 0], pairs[:, 1]))
            return self._lambda_cache[1]

    def record_outcome(
        self,
        head_dist: LengthDistribution,
        length: float | Sequence[float],
        censored: bool | Sequence[bool] = False,
    ) -> None:
        """Learn from an outcome under the head's one-row prediction: its PIT under the shrunk prior
        (for recalibration) and its likelihood under the head and under the window's histogram (for
        ``λ``), all taken before the outcome joins the window (prequential)."""
        lens = np.atleast_1d(np.asarray(length, dtype=np.float64))
        flags = np.broadcast_to(np.atleast_1d(np.asarray(censored, dtype=bool)), lens.shape)
        mixed = self.shrunk(head_dist)
        values = [pit_value(mixed, n, c) for n, c in zip(lens, flags, strict=True)]
        pairs = []
        if self.fusion.shrink_to_window and len(self.history) > 0:
            head_probs = bin_probs(head_dist, self.edges)[0]
            window_probs = self.global_histogram()
            pairs = [
                (outcome_prob(head_probs, self.edges, n, c), outcome_prob(window_probs, self.edges, n, c))
                for n, c in zip(lens, flags, strict=True)
            ]
        with self._pit_lock:
            self._pits.extend(values)
            self._pairs.extend(pairs)
            self._pit_count += len(values)

    @property
    def pits(self) -> list[float]:
        """The PIT values kept for recalibration (oldest first)."""
        with self._pit_lock:
            return list(self._pits)

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        """Predicted output-length distributions, one row per prompt (``prompt_lens`` is unused)."""
        del prompt_lens
        if len(prompts) == 0:
            raise ValueError("predict needs at least one prompt")
        embeddings = self.embed(prompts)
        counts = (
            None
            if self.head is None
            else np.asarray(self.encoder.count_tokens(list(prompts)), dtype=np.float32)
        )
        return self.predict_from_features(embeddings, counts)

    # ------------------------------------------------------------------ learning online
    def observe(
        self,
        prompt_or_embedding: str | np.ndarray,
        length: float | Sequence[float],
        censored: bool | Sequence[bool] = False,
        timestamp: float | None = None,
        head_dist: LengthDistribution | None = None,
        token_count: float | None = None,
    ) -> int:
        """Record a finished request (thread-safe); returns its insertion number.

        In fused mode with recalibration the head's PIT of the outcome is recorded too: from
        ``head_dist`` (the head's one-row prediction for this request) when given, else from the head
        run on the prompt (a text prompt, or an embedding with its ``token_count``).
        """
        if isinstance(prompt_or_embedding, str):
            vector = self.embed([prompt_or_embedding])[0]
            if token_count is None and self.head is not None:
                token_count = float(self.encoder.count_tokens([prompt_or_embedding])[0])
        else:
            vector = np.asarray(prompt_or_embedding, dtype=np.float32)
        if self.fusion.mode == "fused" and self.fusion.recalibrate:
            if head_dist is None and token_count is not None:
                head_dist = self.head.predict_from_features(
                    vector[None, :], np.array([token_count], dtype=np.float32)
                )
            if head_dist is not None:
                self.record_outcome(head_dist, length, censored)
        return self.history.observe(vector, length, censored, timestamp)

    def warm_start(
        self,
        records: Sequence[Any] | str | Path,
        embeddings: np.ndarray | None = None,
        model: str | None = None,
        split: str | None = None,
    ) -> int:
        """Fill the window from length records, or a records file/folder any importer reads (the paper's
        padding with public data); returns how many. Entries get time 0 and are evicted first."""
        if isinstance(records, str | Path):
            from sagepred.importers import load_records

            records = load_records(str(records), model=model, split=split)
        if embeddings is None:
            embeddings = self.embed([r.prompt_text for r in records])
        cap = self.history.config.max_samples
        self.history.observe_many(
            embeddings,
            [r.output_lens[:cap] for r in records],
            [r.censored[:cap] for r in records],
            [0.0] * len(records),
        )
        return len(records)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Save the history (``history.safetensors`` + ``history.json``) and ``fusion.json`` (settings and
        the recalibration state) into ``directory``.

        ``directory`` may be the head's checkpoint folder: no other file there is touched.
        """
        from sagepred.io import atomic_write_text

        directory = Path(directory)
        self.history.save(directory)
        with self._pit_lock:
            learned = {"pits": list(self._pits), "pairs": [list(p) for p in self._pairs]}
        state = {**self.fusion.to_dict(), **learned}
        atomic_write_text(directory / FUSION_CONFIG_NAME, json.dumps(state, indent=2) + "\n")
        return directory

    @classmethod
    def load(
        cls,
        directory: str | Path,
        head: Any | None = None,
        fusion: FusionConfig | None = None,
        history_config: HistoryConfig | None = None,
    ) -> FusedPredictor:
        """Load a saved history (and fusion settings unless given) from ``directory``."""
        from sagepred.checkpoint import read_json
        from sagepred.errors import CheckpointError

        directory = Path(directory)
        pits: list[float] = []
        pairs: list[tuple[float, float]] = []
        if (directory / FUSION_CONFIG_NAME).is_file():
            state = read_json(directory / FUSION_CONFIG_NAME)
            try:
                pits = [float(v) for v in state.pop("pits", [])]
                pairs = [(float(a), float(b)) for a, b in state.pop("pairs", [])]
                saved = FusionConfig(**state)
            except (TypeError, ValueError, AttributeError) as err:
                raise CheckpointError(
                    f"{directory / FUSION_CONFIG_NAME}: malformed fusion settings ({err})"
                ) from None
            fusion = fusion or saved
        predictor = cls(head=head, history=HistoryIndex.load(directory, history_config), fusion=fusion)
        with predictor._pit_lock:
            predictor._pits.extend(pits)
            predictor._pairs.extend(pairs)
            predictor._pit_count = len(pits)
        return predictor

    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str | Path,
        fusion: FusionConfig | None = None,
        history_config: HistoryConfig | None = None,
    ) -> FusedPredictor:
        """A checkpoint's head plus the history saved beside it (an empty window when there is none)."""
        from sagepred.history import HISTORY_CONFIG_NAME
        from sagepred.predictor import LengthPredictor

        head = LengthPredictor.from_pretrained(checkpoint)
        if (Path(checkpoint) / HISTORY_CONFIG_NAME).is_file():
            return cls.load(checkpoint, head=head, fusion=fusion, history_config=history_config)
        return cls(head=head, fusion=fusion, history_config=history_config)
