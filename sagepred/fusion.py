"""Fusing the trained head with the semantic history: the head is the prior, neighbours the evidence.

The rule itself is :mod:`sagepred.fusion_rule` (``F = (α · F_head + Σ w_i · G_i) / (α + Σ w_i)``, exact
for histogram and quantile heads; a prompt with no neighbour gets the prior unchanged). By default
(``shrink_to_window``, ``recalibrate``) the prior is the head corrected by window-level evidence learned
online (:mod:`sagepred.window_prior`: the window's global histogram mixed in with a weight ``λ``
fitted by likelihood, then recalibrated with the PITs of recent outcomes); before any outcome (or with
both off) the prior is the head itself.

``mode="history"`` is SageSched's predictor alone: the neighbours' (weighted) histogram, padded up
to ``min_samples`` with the global histogram of the window (or a given padding histogram).
:class:`FusedPredictor` wraps a head and a :class:`~sagepred.history.HistoryIndex` behind the
``predict(prompts, prompt_lens=None)`` interface, learning online through ``observe``; its folder
(``history.safetensors``, ``history.json``, ``fusion.json``) is written by ``save_pretrained`` and read
by ``from_pretrained``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.distribution import DEFAULT_MAX_LENGTH, LengthDistribution, histogram_probs, log_bin_edges
from sagepred.fusion_rule import (
    bin_probs,
    evidence_counts,
    fuse,
    fuse_neighbours,
    history_neighbours,
    history_only,
)
from sagepred.history import HistoryConfig, HistoryIndex, Neighbours
from sagepred.window_prior import (
    PIT_BANDWIDTH,
    PIT_GRID,
    WindowPrior,
    mixture_weight,
    outcome_prob,
    pit_value,
    recalibrate,
    recalibration_map,
)

__all__ = [
    "FUSION_CONFIG_NAME",
    "MODES",
    "PIT_BANDWIDTH",
    "PIT_GRID",
    "FusedPredictor",
    "FusionConfig",
    "bin_probs",
    "evidence_counts",
    "fuse",
    "fuse_neighbours",
    "history_neighbours",
    "history_only",
    "mixture_weight",
    "outcome_prob",
    "pit_value",
    "read_fusion_state",
    "recalibrate",
    "recalibration_map",
]

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


def read_fusion_state(path: str | Path) -> tuple[FusionConfig, list[float], list[tuple[float, float]]]:
    """``fusion.json``: the settings and the learned window state (PIT values, likelihood pairs)."""
    from sagepred.checkpoint import read_json
    from sagepred.errors import CheckpointError

    state = read_json(path)
    try:
        pits = [float(v) for v in state.pop("pits", [])]
        pairs = [(float(a), float(b)) for a, b in state.pop("pairs", [])]
        return FusionConfig(**state), pits, pairs
    except (TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path}: malformed fusion settings ({err})") from None


def head_embedding_dim(head: Any | None) -> int | None:
    """The prompt-embedding size ``head`` reads (a new window must hold embeddings of that size), or
    ``None`` when unknown: a per-target checkpoint's ``head.input_dim``, a bound pooled target's
    ``embedding_dim``."""
    pooled = getattr(head, "pooled", None)
    if pooled is not None:
        return int(pooled.config.embedding_dim)
    head_config = getattr(getattr(head, "config", None), "head", None)
    dim = getattr(head_config, "input_dim", None)
    return int(dim) if dim is not None else None


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
        if history is None:
            history_config = history_config or HistoryConfig()
            dim = head_embedding_dim(head)
            if dim is not None and dim != history_config.dim:
                history_config = replace(history_config, dim=dim)
            history = HistoryIndex(history_config)
        self.history = history
        self._encoder = encoder
        self._encoder_lock = threading.Lock()
        self.padding = padding
        self.prior = WindowPrior(self.fusion.recalibration_window, self.fusion.recalibration_strength)
        """The window-level evidence learned from outcomes (``λ`` and the recalibration map)."""
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
        prompts: Sequence[str] | None = None,
    ) -> LengthDistribution:
        """Distributions from precomputed embeddings (and, optionally, the head's output and the neighbours).

        ``prompts`` lets a head that reads length instructions apply them.
        """
        mode = self.fusion.mode
        if mode != "history" and head_dist is None:
            if token_counts is None:
                raise ValueError("the head needs token_counts (or pass head_dist)")
            head_dist = self.head.predict_from_features(embeddings, token_counts, prompts=prompts)
        if mode == "head":
            return head_dist
        found = neighbours if neighbours is not None else self.history.query(embeddings)
        config = self.fusion
        if mode == "history":
            padding = self.padding if self.padding is not None else self.global_histogram()
            return history_neighbours(found, self.edges, padding, config.min_samples, config.similarity_power)
        prior = self.calibrated(self.shrunk(head_dist))
        return fuse_neighbours(prior, found, self.edges, config.prior_strength, config.similarity_power)

    def calibrated(self, head_dist: LengthDistribution) -> LengthDistribution:
        """The head's distribution recalibrated with recent PITs (unchanged before any, or when disabled)."""
        mapping = self.prior.mapping() if self.fusion.recalibrate else None
        return head_dist if mapping is None else recalibrate(head_dist, mapping)

    def shrunk(self, head_dist: LengthDistribution) -> LengthDistribution:
        """``(1 − λ)·head + λ·G`` on the bins (the head itself while ``λ`` is 0)."""
        lam = self.window_weight()
        if lam <= 0:
            return head_dist
        probs = (1.0 - lam) * bin_probs(head_dist, self.edges) + lam * self.global_histogram()[None, :]
        return LengthDistribution.from_histogram(probs, self.edges)

    def window_weight(self) -> float:
        """``λ``: the weight of the window's global histogram in the prior (0 when disabled or no data)."""
        return self.prior.weight() if self.fusion.shrink_to_window else 0.0

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
        self.prior.record(values, pairs)

    @property
    def pits(self) -> list[float]:
        """The PIT values kept for recalibration (oldest first)."""
        return self.prior.pits

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
        return self.predict_from_features(embeddings, counts, prompts=prompts)

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
                text = [prompt_or_embedding] if isinstance(prompt_or_embedding, str) else None
                head_dist = self.head.predict_from_features(
                    vector[None, :], np.array([token_count], dtype=np.float32), prompts=text
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
    def save_pretrained(self, directory: str | Path) -> Path:
        """Save the history (``history.safetensors`` + ``history.json``) and ``fusion.json`` (settings and
        the learned window state) into ``directory``.

        ``directory`` may be the head's checkpoint folder: no other file there is touched.
        """
        from sagepred.io import atomic_write_text

        directory = Path(directory)
        self.history.save(directory)
        state = {**self.fusion.to_dict(), **self.prior.state()}
        atomic_write_text(directory / FUSION_CONFIG_NAME, json.dumps(state, indent=2) + "\n")
        return directory

    save = save_pretrained
    """Alias of :meth:`save_pretrained`."""

    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str | Path,
        fusion: FusionConfig | None = None,
        history_config: HistoryConfig | None = None,
        head: Any | None = None,
    ) -> FusedPredictor:
        """A checkpoint's head (or ``head``, already loaded) plus the history saved beside it (an empty
        window when there is none)."""
        from sagepred.history import HISTORY_CONFIG_NAME
        from sagepred.predictor import LengthPredictor

        if head is None:
            head = LengthPredictor.from_pretrained(checkpoint)
        if (Path(checkpoint) / HISTORY_CONFIG_NAME).is_file():
            return cls.load(checkpoint, head=head, fusion=fusion, history_config=history_config)
        return cls(head=head, fusion=fusion, history_config=history_config)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        head: Any | None = None,
        fusion: FusionConfig | None = None,
        history_config: HistoryConfig | None = None,
    ) -> FusedPredictor:
        """The history saved in ``directory`` (and its fusion settings and learned state, unless ``fusion``
        is given) around ``head`` as passed: no head is loaded, so history mode needs none."""
        directory = Path(directory)
        pits: list[float] = []
        pairs: list[tuple[float, float]] = []
        if (directory / FUSION_CONFIG_NAME).is_file():
            saved, pits, pairs = read_fusion_state(directory / FUSION_CONFIG_NAME)
            fusion = fusion or saved
        predictor = cls(head=head, history=HistoryIndex.load(directory, history_config), fusion=fusion)
        predictor.prior.record(pits, pairs)
        return predictor
