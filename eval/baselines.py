"""The published predictors as baselines, behind one interface: ``fit(records)``, ``predict(prompts)``.

=============  ==========================================================================================
``global``     one histogram of every training sample (what a scheduler knows with no predictor)
``length``     histograms conditioned on prompt-length bins (quantile bins of ``prompt_len``)
``sagesched``  SageSched's semantic history: the lengths of past prompts with cosine ≥ 0.8 over a
               window of the last 10,000 records, padded with the global histogram when too few
``regressor``  SSJF/TRAIL-style point model: embedding + prompt length → ridge on log length, made a
               distribution with its cross-validated residual spread
``ltr``        LTR-style learning to rank (ListMLE on embeddings); only its Kendall τ is comparable
=============  ==========================================================================================

Every baseline returns a :class:`~sagepred.distribution.LengthDistribution` with one row per prompt.
Censored training samples enter the histograms at their observed value (a lower bound).
The prompt-length feature is the record's ``prompt_len`` (target-model tokens); where it is missing
the encoder's token count stands in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sagepred.distribution import LengthDistribution, histogram_probs, log_bin_edges
from sagepred.errors import InputError
from sagepred.fusion import evidence_counts, history_only
from sagepred.history import HistoryConfig, HistoryIndex
from sagepred.records import LengthRecord

QUANTILE_GRID = np.round(np.linspace(0.01, 0.99, 99), 2)
QUERY_CHUNK = 256
"""SageSched queries per search (bounds the ``(queries, neighbours, samples)`` arrays)."""


# ---------------------------------------------------------------------------- shared pieces
class _EncoderFeatures:
    """Embeddings (cached on disk) and prompt-length features from one lazily loaded encoder."""

    _shared: ClassVar[dict[str, Any]] = {}

    def __init__(self, encoder: str | None = None, cache_dir: str | None = None) -> None:
        self.encoder_name = encoder
        self.cache_dir = cache_dir

    @property
    def encoder(self) -> Any:
        from sagepred.encoders import DEFAULT_ENCODER, TextEncoder

        name = self.encoder_name or DEFAULT_ENCODER
        if name not in self._shared:
            self._shared[name] = TextEncoder(name)
        return self._shared[name]

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        from sagepred.encoders import EmbeddingCache

        return EmbeddingCache(self.cache_dir).encode(self.encoder, list(prompts), progress=True)

    def prompt_lengths(self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None) -> np.ndarray:
        """``prompt_lens`` where given, else the encoder's token count."""
        lens = list(prompt_lens) if prompt_lens is not None else [None] * len(prompts)
        if len(lens) != len(prompts):
            raise ValueError(f"{len(lens)} prompt lengths for {len(prompts)} prompts")
        missing = [i for i, n in enumerate(lens) if n is None]
        if missing:
            counts = self.encoder.count_tokens([prompts[i] for i in missing])
            for i, count in zip(missing, counts, strict=True):
                lens[i] = count
        return np.asarray(lens, dtype=np.float64)


def _check_records(records: Sequence[LengthRecord]) -> None:
    if len(records) == 0:
        raise InputError("no training records (the training data set is empty)", field="output_lens")
    if any(not r.output_lens for r in records):
        raise InputError("a training record has no output lengths", field="output_lens")


def _pooled(records: Sequence[LengthRecord]) -> np.ndarray:
    return np.concatenate([r.lengths for r in records])


def _texts(records: Sequence[LengthRecord]) -> list[str]:
    return [r.prompt_text for r in records]


class Baseline:
    """The predictor interface every baseline implements."""

    name: ClassVar[str]
    description: ClassVar[str]
    comparable: ClassVar[tuple[str, ...] | None] = None
    """The metrics that mean something for this baseline (``None``: all of them)."""

    def fit(self, records: Sequence[LengthRecord]) -> Baseline:
        """Learn from training records; returns ``self``."""
        raise NotImplementedError

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        """One predicted distribution per prompt."""
        raise NotImplementedError

    def predict_records(self, records: Sequence[LengthRecord]) -> LengthDistribution:
        """:meth:`predict` on the prompts and prompt lengths of ``records``."""
        return self.predict(_texts(records), [r.prompt_len for r in records])

    def _require_fit(self, attribute: str) -> None:
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"the {self.name!r} baseline must be fitted before predict")


# ---------------------------------------------------------------------------- global, length
@dataclass
class GlobalConfig:
    """Settings of the global histogram."""

    num_bins: int = field(default=64, metadata={"help": "log-spaced bins up to max_length"})
    max_length: float = 32768.0


class GlobalHistogram(Baseline):
    """The same histogram (of every training sample) for every prompt."""

    name = "global"
    description = "global histogram of all training samples"

    def __init__(self, config: GlobalConfig | None = None) -> None:
        self.config = config or GlobalConfig()
        self.edges = log_bin_edges(self.config.num_bins, self.config.max_length)
        self.probs: np.ndarray | None = None

    def fit(self, records: Sequence[LengthRecord]) -> GlobalHistogram:
        _check_records(records)
        self.probs = histogram_probs(_pooled(records), self.edges)
        return self

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        self._require_fit("probs")
        return LengthDistribution.tiled_histogram(self.probs, self.edges, len(prompts))


@dataclass
class LengthBinsConfig:
    """Settings of the prompt-length-conditioned histogram."""

    num_length_bins: int = field(default=10, metadata={"help": "quantile bins of the prompt length"})
    prior_strength: float = field(default=5.0, metadata={"help": "global-histogram pseudo-samples per bin"})
    num_bins: int = 64
    max_length: float = 32768.0
    encoder: str | None = None


class PromptLengthHistogram(Baseline):
    """A histogram per prompt-length bin (quantile bins), smoothed towards the global histogram."""

    name = "length"
    description = "histogram conditioned on prompt-length bins"

    def __init__(self, config: LengthBinsConfig | None = None) -> None:
        self.config = config or LengthBinsConfig()
        self.edges = log_bin_edges(self.config.num_bins, self.config.max_length)
        self.features = _EncoderFeatures(self.config.encoder)
        self.cuts: np.ndarray | None = None
        self.probs: np.ndarray | None = None

    def fit(self, records: Sequence[LengthRecord]) -> PromptLengthHistogram:
        _check_records(records)
        plen = self.features.prompt_lengths(_texts(records), [r.prompt_len for r in records])
        levels = np.linspace(0, 1, self.config.num_length_bins + 1)[1:-1]
        self.cuts = np.unique(np.quantile(plen, levels))
        bins = np.searchsorted(self.cuts, plen, side="right")
        prior = histogram_probs(_pooled(records), self.edges)
        samples = [
            np.concatenate([records[i].lengths for i in np.flatnonzero(bins == b)] or [np.zeros(0)])
            for b in range(self.cuts.shape[0] + 1)
        ]
        dist = LengthDistribution.from_samples(
            samples, self.edges, prior=prior, prior_strength=self.config.prior_strength
        )
        self.probs = dist.segment_probs()
        return self

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        self._require_fit("probs")
        bins = np.searchsorted(self.cuts, self.features.prompt_lengths(prompts, prompt_lens), side="right")
        return LengthDistribution.from_histogram(self.probs[bins], self.edges)


# ---------------------------------------------------------------------------- SageSched
@dataclass
class SageSchedConfig:
    """The paper's semantic-history predictor."""

    window: int = field(default=10_000, metadata={"help": "most recent training records kept (FIFO)"})
    threshold: float = field(default=0.8, metadata={"help": "cosine similarity a neighbour needs"})
    min_samples: int = field(default=10, metadata={"help": "pad with the global histogram up to this many"})
    num_bins: int = 64
    max_length: float = 32768.0
    encoder: str | None = None


class SemanticHistory(Baseline):
    """SageSched: empirical histogram of the lengths of similar past prompts, global padding.

    The window is a :class:`~sagepred.history.HistoryIndex` with no cap on neighbours (``top_k=None``:
    every past prompt with cosine ≥ threshold counts, as in the paper) and the prediction is
    :func:`~sagepred.fusion.history_only` of the neighbours' unweighted counts, the same code as
    ``FusedPredictor`` in ``history`` mode.
    """

    name = "sagesched"
    description = "SageSched semantic history (cosine >= 0.8 neighbours, global fallback)"

    def __init__(self, config: SageSchedConfig | None = None) -> None:
        self.config = config or SageSchedConfig()
        self.edges = log_bin_edges(self.config.num_bins, self.config.max_length)
        self.features = _EncoderFeatures(self.config.encoder)
        self.history: HistoryIndex | None = None
        self.prior: np.ndarray | None = None
        self.neighbour_counts: np.ndarray | None = None

    def fit(self, records: Sequence[LengthRecord]) -> SemanticHistory:
        _check_records(records)
        kept = list(records)[-self.config.window :]
        embeddings = np.ascontiguousarray(self.features.embed(_texts(kept)), dtype=np.float32)
        self.history = HistoryIndex(
            HistoryConfig(
                capacity=self.config.window,
                threshold=self.config.threshold,
                top_k=None,
                max_samples=max(r.num_samples for r in kept),
                dim=embeddings.shape[1],
            )
        )
        # censored samples count at their observed value, like every baseline's histogram
        self.history.observe_many(embeddings, [r.output_lens for r in kept], None, [0.0] * len(kept))
        self.prior = histogram_probs(_pooled(kept), self.edges)
        return self

    @property
    def embeddings(self) -> np.ndarray:
        """The window's prompt embeddings, oldest first."""
        self._require_fit("history")
        return self.history.snapshot()["embeddings"]

    def neighbours(self, queries: np.ndarray) -> list[np.ndarray]:
        """Window positions (oldest first) of the entries with cosine ≥ threshold, per query, best first."""
        self._require_fit("history")
        found = self.history.query(np.asarray(queries, dtype=np.float32))
        return [found.ids[i][found.valid[i]] for i in range(len(found))]

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        self._require_fit("history")
        queries = self.features.embed(prompts)
        parts, counts = [], []
        for start in range(0, len(prompts), QUERY_CHUNK):
            found = self.history.query(queries[start : start + QUERY_CHUNK])
            evidence = evidence_counts(found, self.edges, similarity_power=0.0)
            parts.append(history_only(evidence, self.edges, self.prior, self.config.min_samples))
            counts.append(found.counts())
        self.neighbour_counts = np.concatenate(counts)
        return LengthDistribution.concat(parts)


# ---------------------------------------------------------------------------- point regressor
@dataclass
class RegressorConfig:
    """SSJF/TRAIL-style point regressor on the prompt embedding."""

    alphas: tuple[float, ...] = field(
        default=(0.1, 1.0, 10.0, 100.0), metadata={"help": "ridge penalties tried"}
    )
    folds: int = field(default=5, metadata={"help": "cross-validation folds for the residual spread"})
    max_length: float = 32768.0
    encoder: str | None = None
    seed: int = 0


class PointRegressor(Baseline):
    """Ridge regression of log length on [embedding, log prompt length]; residual spread as the distribution."""

    name = "regressor"
    description = "SSJF/TRAIL-style regressor (embedding + prompt length -> log length) x residual spread"

    def __init__(self, config: RegressorConfig | None = None) -> None:
        self.config = config or RegressorConfig()
        self.features = _EncoderFeatures(self.config.encoder)
        self.model: Any = None
        self.residual_quantiles: np.ndarray | None = None

    def _design(self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None) -> np.ndarray:
        plen = np.log1p(self.features.prompt_lengths(prompts, prompt_lens))
        return np.concatenate([self.features.embed(prompts), plen[:, None]], axis=1)

    def fit(self, records: Sequence[LengthRecord]) -> PointRegressor:
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import KFold, cross_val_predict

        _check_records(records)
        x = self._design(_texts(records), [r.prompt_len for r in records])
        target = np.array([np.log(np.maximum(r.lengths, 1.0)).mean() for r in records])
        self.model = RidgeCV(alphas=self.config.alphas).fit(x, target)
        folds = KFold(min(self.config.folds, len(records)), shuffle=True, random_state=self.config.seed)
        held_out = cross_val_predict(RidgeCV(alphas=self.config.alphas), x, target, cv=folds)
        residuals = np.concatenate(
            [np.log(np.maximum(r.lengths, 1.0)) - p for r, p in zip(records, held_out, strict=True)]
        )
        self.residual_quantiles = np.quantile(residuals, QUANTILE_GRID)
        return self

    def predict_log_mean(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> np.ndarray:
        """The point prediction: expected log length."""
        self._require_fit("model")
        return self.model.predict(self._design(prompts, prompt_lens))

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        point = self.predict_log_mean(prompts, prompt_lens)
        values = np.exp(point[:, None] + self.residual_quantiles[None, :])
        return LengthDistribution.from_quantiles(
            values, QUANTILE_GRID, min_length=0.0, max_length=self.config.max_length
        )


# ---------------------------------------------------------------------------- learning to rank
@dataclass
class RankerConfig:
    """LTR-style listwise ranker (ListMLE) on embeddings."""

    list_size: int = field(default=32, metadata={"help": "prompts per sampled list"})
    steps: int = field(default=400, metadata={"help": "optimisation steps"})
    lr: float = 1e-2
    weight_decay: float = 1e-4
    hidden: int = field(default=0, metadata={"help": "hidden units (0: linear scorer)"})
    window: float = field(
        default=0.15, metadata={"help": "half-width of the percentile slice of the global histogram"}
    )
    num_bins: int = 64
    max_length: float = 32768.0
    encoder: str | None = None
    seed: int = 0


class ListwiseRanker(Baseline):
    """LTR: a scorer trained with ListMLE to order prompts by output length.

    Its distribution is only a ranking device: the score's percentile among the training scores
    picks a slice of the global histogram's quantile function, so the predicted means keep the
    ranker's order. Only Kendall τ is comparable with other predictors.
    """

    name = "ltr"
    description = "LTR-style listwise ranker (only Kendall tau is comparable)"
    comparable = ("kendall_tau",)

    def __init__(self, config: RankerConfig | None = None) -> None:
        self.config = config or RankerConfig()
        self.features = _EncoderFeatures(self.config.encoder)
        self.scorer: Any = None
        self.train_scores: np.ndarray | None = None
        self.global_dist: LengthDistribution | None = None

    def _design(self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None) -> np.ndarray:
        plen = np.log1p(self.features.prompt_lengths(prompts, prompt_lens))
        return np.concatenate([self.features.embed(prompts), (plen[:, None] - 5.0) / 2.0], axis=1).astype(
            np.float32
        )

    def fit(self, records: Sequence[LengthRecord]) -> ListwiseRanker:
        import torch

        _check_records(records)
        x = torch.as_tensor(self._design(_texts(records), [r.prompt_len for r in records]))
        target = torch.as_tensor([r.mean_length for r in records], dtype=torch.float32)
        generator = torch.Generator().manual_seed(self.config.seed)
        torch.manual_seed(self.config.seed)
        dim = x.shape[1]
        if self.config.hidden:
            scorer = torch.nn.Sequential(
                torch.nn.Linear(dim, self.config.hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(self.config.hidden, 1),
            )
        else:
            scorer = torch.nn.Linear(dim, 1)
        optimiser = torch.optim.AdamW(
            scorer.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        size = min(self.config.list_size, x.shape[0])
        for _ in range(self.config.steps):
            idx = torch.randperm(x.shape[0], generator=generator)[:size]
            order = torch.argsort(target[idx], descending=True)
            scores = scorer(x[idx][order]).squeeze(-1)
            # ListMLE: −log P(true order | scores) under the Plackett–Luce model
            tail_logsumexp = torch.logcumsumexp(scores.flip(0), dim=0).flip(0)
            loss = (tail_logsumexp - scores).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.scorer = scorer.eval()
        with torch.no_grad():
            self.train_scores = np.sort(scorer(x).squeeze(-1).numpy())
        edges = log_bin_edges(self.config.num_bins, self.config.max_length)
        self.global_dist = LengthDistribution.from_histogram(
            histogram_probs(_pooled(records), edges)[None, :], edges
        )
        return self

    def score(self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None) -> np.ndarray:
        """Ranking scores (higher: longer output)."""
        import torch

        self._require_fit("scorer")
        with torch.no_grad():
            return self.scorer(torch.as_tensor(self._design(prompts, prompt_lens))).squeeze(-1).numpy()

    def predict(
        self, prompts: Sequence[str], prompt_lens: Sequence[int | None] | None = None
    ) -> LengthDistribution:
        scores = self.score(prompts, prompt_lens)
        pct = (np.searchsorted(self.train_scores, scores) + 0.5) / (self.train_scores.shape[0] + 1)
        w = self.config.window
        low = np.clip(pct - w, 0.0, 1.0 - 2 * w)
        levels = low[:, None] + 2 * w * QUANTILE_GRID[None, :]
        values = self.global_dist.quantile(levels.reshape(1, -1)).reshape(levels.shape)
        return LengthDistribution.from_quantiles(values, QUANTILE_GRID, max_length=self.config.max_length)


# ---------------------------------------------------------------------------- registry
BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls
    for cls in (GlobalHistogram, PromptLengthHistogram, SemanticHistory, PointRegressor, ListwiseRanker)
}


def get_baseline(name: str, **config: Any) -> Baseline:
    """A fresh, unfitted baseline by name (``global``, ``length``, ``sagesched``, ``regressor``, ``ltr``).

    Keyword arguments override fields of that baseline's config dataclass.
    """
    key = name.strip().lower()
    if key not in BASELINES:
        raise InputError(
            f"unknown baseline {name!r}; choose one of: {', '.join(BASELINES)}", field="baseline"
        )
    cls = BASELINES[key]
    if not config:
        return cls()
    config_type = {
        "global": GlobalConfig,
        "length": LengthBinsConfig,
        "sagesched": SageSchedConfig,
        "regressor": RegressorConfig,
        "ltr": RankerConfig,
    }[key]
    try:
        return cls(config_type(**config))
    except TypeError as err:
        raise InputError(f"bad settings for baseline {name!r}: {err}", field="baseline") from None
