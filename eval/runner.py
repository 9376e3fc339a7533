"""What ``sagepred eval`` and ``sagepred compare`` share: loading data, building predictors, scoring.

A predictor spec is any form :func:`sagepred.loading.parse_spec` reads: a checkpoint folder, zoo name
or Hub id (loaded by :func:`sagepred.loading.load_predictor`), a predictions file from ``sagepred
predict`` (matched to the records by id), or ``baseline:NAME`` — a baseline fitted on training records
(``--train-data``, or the recipe's training data of ``--model``). Training prompts that also appear in
the evaluation data are dropped before fitting, so a baseline never sees the prompts it is scored on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.loading import MODEL_KINDS, load_predictor, parse_spec
from sagepred.metrics import SampleScores, score_samples, summarise_scores
from sagepred.records import LengthRecord
from sagepred.targets import data_model_name


# ---------------------------------------------------------------------------- data
def target_data_model(model: str | None) -> str | None:
    """The model name inside multi-model sources for ``--model`` (:func:`sagepred.targets.data_model_name`)."""
    return data_model_name(model)


def load_data(source: str, model: str | None = None, split: str | None = None) -> list[LengthRecord]:
    """Records from ``source`` for target ``model`` (recipe name or data-model name), one split.

    Any source :func:`sagepred.importers.load_records` reads; an empty result is an :class:`InputError`.
    """
    from sagepred.importers import load_records

    data_model = target_data_model(model)
    records = load_records(source, model=data_model, split=split)
    if not records:
        where = ", ".join(f"{k} {v!r}" for k, v in (("model", data_model), ("split", split)) if v)
        raise InputError(f"no records{' for ' + where if where else ''} (the data set is empty)", path=source)
    return records


def recipe_training_records(model: str) -> list[LengthRecord]:
    """The training records of ``model``'s recipe (``sagepred.training``)."""
    try:
        from sagepred.training.data import load_training_data
        from sagepred.training.recipes import load_recipe
    except ImportError as err:
        raise InputError(f"recipes are unavailable ({err}); pass --train-data", field="train-data") from None
    return load_training_data(load_recipe(model), notify=lambda _msg: None).train


def drop_overlap(
    train: Sequence[LengthRecord], evaluation: Sequence[LengthRecord]
) -> tuple[list[LengthRecord], int]:
    """Training records whose prompt is not in ``evaluation``, and how many were dropped."""
    seen = {r.prompt_text for r in evaluation}
    kept = [r for r in train if r.prompt_text not in seen]
    return kept, len(train) - len(kept)


# ---------------------------------------------------------------------------- predictors
@dataclass
class Candidate:
    """A predictor under evaluation with its label and what is comparable about it."""

    label: str
    predictor: Any
    kind: str
    comparable: tuple[str, ...] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, records: Sequence[LengthRecord]) -> LengthDistribution:
        if self.kind == "predictions":
            return self.predictor.predict_records(records)
        prompts = [r.prompt_text for r in records]
        return self.predictor.predict(prompts, [r.prompt_len for r in records])


def build_candidate(
    spec: str,
    evaluation: Sequence[LengthRecord],
    train_records: Callable[[], list[LengthRecord]] | None = None,
    zoo_source: str | None = None,
) -> Candidate:
    """The predictor ``spec`` names (:func:`sagepred.loading.parse_spec`), ready to score ``evaluation``.

    A checkpoint folder, zoo name or Hub id is loaded; a predictions file is matched to the records
    by id; ``baseline:NAME`` is fitted on ``train_records()`` without the evaluation prompts.
    """
    parsed = parse_spec(spec, zoo_source)
    if parsed.kind == "baseline":
        return _baseline_candidate(parsed.text, parsed.value, evaluation, train_records)
    predictor = load_predictor(parsed, zoo_source=zoo_source, accept=(*MODEL_KINDS, "predictions"))
    if parsed.kind == "predictions":
        return Candidate(spec, predictor, "predictions", None, {"predictions": parsed.value})
    config = predictor.config
    info = {
        "checkpoint": spec,
        "target_model": config.target_model,
        "encoder": config.encoder,
        "lora": config.lora is not None,
    }
    if parsed.kind == "zoo":
        info["zoo_checkpoint"] = parsed.value
    return Candidate(spec, predictor, "checkpoint", None, info)


def _baseline_candidate(
    spec: str,
    name: str,
    evaluation: Sequence[LengthRecord],
    train_records: Callable[[], list[LengthRecord]] | None,
) -> Candidate:
    from sagepred.eval.baselines import get_baseline

    baseline = get_baseline(name)
    if train_records is None:
        raise InputError(
            f"{spec} needs training data: pass --train-data PATH or --model TARGET", field="train-data"
        )
    train, dropped = drop_overlap(train_records(), evaluation)
    if not train:
        raise InputError("no training records left after removing the evaluation prompts", field="train-data")
    start = time.perf_counter()
    baseline.fit(train)
    info = {
        "train_records": len(train),
        "train_samples": sum(r.num_samples for r in train),
        "train_dropped_overlap": dropped,
        "fit_seconds": round(time.perf_counter() - start, 2),
        "description": baseline.description,
    }
    return Candidate(spec, baseline, "baseline", baseline.comparable, info)


# ---------------------------------------------------------------------------- scoring
@dataclass
class Evaluation:
    """One predictor scored on one data set."""

    candidate: Candidate
    metrics: dict[str, Any]
    scores: SampleScores
    predict_seconds: float

    def summary(self) -> dict[str, Any]:
        """``metrics`` plus the predictor's label, kind, comparability and provenance."""
        return {
            "predictor": self.candidate.label,
            "kind": self.candidate.kind,
            "comparable_metrics": list(self.candidate.comparable) if self.candidate.comparable else "all",
            "info": self.candidate.info,
            "predict_seconds": round(self.predict_seconds, 2),
            **self.metrics,
        }


def evaluate(candidate: Candidate, records: Sequence[LengthRecord]) -> Evaluation:
    """Predict every record's distribution and compute the metrics."""
    start = time.perf_counter()
    dist = candidate.predict(records)
    elapsed = time.perf_counter() - start
    scores = score_samples(dist, records)
    return Evaluation(candidate, summarise_scores(scores, records), scores, elapsed)
