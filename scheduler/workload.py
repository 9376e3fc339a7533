"""Workloads: arrival times joined with real records (prompt, true length) and predictions.

Each request takes a record (cycling through a seeded permutation of the records, so every prompt
is used once before any repeats), one of the record's sampled lengths as its true length (chosen at
random), and a predicted length distribution from a predictor. The ``samples`` predictor uses the
record's *other* samples: a perfectly calibrated predictor up to sampling noise, which separates
the quality of a policy from the quality of a predictor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.errors import InputError
from sagepred.eval.baselines import get_baseline
from sagepred.loading import PredictorSpec, load_predictor, parse_spec
from sagepred.records import LengthRecord, estimate_prompt_tokens

PredictFn = Callable[[Sequence[LengthRecord], np.ndarray], LengthDistribution]
"""``(records, index of the sample taken as truth per record) → distribution per record``."""

SAMPLES_EDGES = log_bin_edges(160, 32768.0)


@dataclass
class Workload:
    """Requests in arrival order: what the simulator replays."""

    arrival: np.ndarray
    prompt_len: np.ndarray
    output_len: np.ndarray
    dist: LengthDistribution | None = None
    record_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.arrival = np.asarray(self.arrival, dtype=np.float64)
        self.prompt_len = np.asarray(self.prompt_len, dtype=np.int64)
        self.output_len = np.asarray(self.output_len, dtype=np.int64)
        n = len(self.arrival)
        if (
            len(self.prompt_len) != n
            or len(self.output_len) != n
            or (self.dist is not None and len(self.dist) != n)
        ):
            raise ValueError("arrival, prompt_len, output_len and dist need one entry per request")
        if n and (np.any(np.diff(self.arrival) < 0) or self.arrival[0] < 0):
            raise ValueError("arrivals must be non-negative and sorted")
        if np.any(self.prompt_len < 1) or np.any(self.output_len < 1):
            raise ValueError("prompt and output lengths must be positive")

    def __len__(self) -> int:
        return len(self.arrival)

    @property
    def mean_output_len(self) -> float:
        return float(self.output_len.mean())


def prompt_tokens(record: LengthRecord) -> int:
    """The record's prompt length, or :func:`~sagepred.records.estimate_prompt_tokens` when it has none."""
    if record.prompt_len:
        return int(record.prompt_len)
    return estimate_prompt_tokens(record.prompt_text)


def samples_predictor(
    records: Sequence[LengthRecord], truth_index: np.ndarray, edges: np.ndarray = SAMPLES_EDGES
) -> LengthDistribution:
    """Each record's samples other than the one taken as truth, as a histogram over ``edges``."""
    others = []
    for record, t in zip(records, truth_index, strict=True):
        if record.num_samples < 2:
            raise InputError(
                f"the 'samples' predictor needs records with two or more sampled lengths; "
                f"record {record.record_id!r} has {record.num_samples}",
                field="predictor",
            )
        lens = record.lengths
        others.append(np.delete(lens, int(t)))
    return LengthDistribution.from_samples(others, edges=edges)


def exact_predictor(records: Sequence[LengthRecord], truth_index: np.ndarray) -> LengthDistribution:
    """Each request's own sampled length as a certain distribution: what a policy does with perfect
    knowledge (no predictor reaches it; the gap to ``samples`` is the length's spread given the prompt)."""
    lengths = np.array(
        [max(int(r.output_lens[int(t)]), 1) for r, t in zip(records, truth_index, strict=True)],
        dtype=np.float64,
    )
    knots = np.stack([lengths - 0.5, lengths], axis=1)
    return LengthDistribution(knots, np.tile([0.0, 1.0], (len(lengths), 1)))


def resolve_predictor(
    spec: str | PredictorSpec,
    fit_records: Sequence[LengthRecord] = (),
    pool: Sequence[LengthRecord] = (),
    zoo_source: str | None = None,
) -> PredictFn | None:
    """A :data:`PredictFn` for any spec :func:`sagepred.loading.parse_spec` reads (``None`` for ``none``).

    ``samples`` uses each record's other samples, ``exact`` the request's own length; ``baseline:NAME`` is fitted on ``fit_records``; a
    predictions file is matched to records by id (every record of ``pool`` must have one); a checkpoint
    folder, zoo name or Hub id predicts from the prompt text.
    """
    parsed = spec if isinstance(spec, PredictorSpec) else parse_spec(spec, zoo_source)
    if parsed.kind == "none":
        return None
    if parsed.kind == "samples":
        return lambda records, truth: samples_predictor(records, truth)
    if parsed.kind == "exact":
        return exact_predictor
    if parsed.kind == "baseline":
        if not fit_records:
            raise InputError("a baseline predictor needs records to fit on", field="predictor")
        baseline = get_baseline(parsed.value).fit(list(fit_records))
        return lambda records, truth: baseline.predict_records(list(records))
    model = load_predictor(parsed, zoo_source=zoo_source)
    if parsed.kind == "predictions":
        if pool:
            model.predict_records(pool)
        return lambda records, truth: model.predict_records(records)
    return lambda records, truth: model.predict([r.prompt_text for r in records])


def build_workload(
    arrivals: np.ndarray,
    records: Sequence[LengthRecord],
    predictor: PredictFn | None = None,
    seed: int = 0,
) -> Workload:
    """Join sorted ``arrivals`` with records: a true length per request and its prediction."""
    if not records:
        raise InputError("no records to draw requests from", field="records")
    arrivals = np.sort(np.asarray(arrivals, dtype=np.float64))
    n = len(arrivals)
    rng = np.random.default_rng(seed)
    reps = -(-n // len(records))
    order = np.concatenate([rng.permutation(len(records)) for _ in range(reps)])[:n]
    chosen = [records[i] for i in order]
    truth = np.array([rng.integers(r.num_samples) for r in chosen])
    output_len = np.array([r.output_lens[t] for r, t in zip(chosen, truth, strict=True)], dtype=np.int64)
    prompt_len = np.array([prompt_tokens(r) for r in chosen], dtype=np.int64)
    dist = None
    if predictor is not None:
        unique, inverse = np.unique(np.stack([order, truth], axis=1), axis=0, return_inverse=True)
        distinct = predictor([records[i] for i in unique[:, 0]], unique[:, 1])
        dist = distinct[np.asarray(inverse).reshape(-1)]
    return Workload(arrivals, prompt_len, np.maximum(output_len, 1), dist, [r.record_id for r in chosen])
