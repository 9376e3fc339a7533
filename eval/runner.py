"""What ``sagepred eval`` and ``sagepred compare`` share: loading data, building predictors, scoring.

A predictor spec is either a checkpoint folder (or Hub id) loaded with
:meth:`sagepred.predictor.LengthPredictor.from_pretrained`, or ``baseline:NAME`` — a baseline fitted on
training records (``--train-data``, or the recipe's training data of ``--model``). Training prompts
that also appear in the evaluation data are dropped before fitting, so a baseline never sees the
prompts it is scored on.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagepred.eval.metrics import SampleScores, score_samples, summarise_scores

from sagepred.distribution import LengthDistribution
from sagepred.errors import InputError
from sagepred.records import LengthRecord, read_jsonl_records

BASELINE_PREFIX = "baseline:"
CASTILLO_CAP = 14_999


# ---------------------------------------------------------------------------- data
def target_data_model(model: str | None) -> str | None:
    """The model name inside multi-model sources for ``--model`` (via its recipe when there is one)."""
    if model is None:
        return None
    try:
        from sagepred.training.recipes import load_recipe
    except ImportError:
        return model
    try:
        recipe = load_recipe(model)
    except InputError:
        return model
    return recipe.data.model or recipe.target_model


def _castillo_fallback(source: Path, model: str | None, split: str | None) -> list[LengthRecord]:
    folder = source if source.is_dir() else source.parent
    csv_path = source if source.is_file() else folder / "castillo_samples.csv"
    prompts_path = folder / "castillo_prompts.jsonl"
    if not csv_path.is_file() or not prompts_path.is_file():
        raise InputError("not a CASTILLO folder (need castillo_samples.csv and castillo_prompts.jsonl)", path=source)
    with prompts_path.open(encoding="utf-8") as handle:
        prompts = {row["prompt_id"]: row["prompt_text"] for row in map(json.loads, handle)}
    records = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if (model and row["model"] != model) or (split and row["split"] != split):
                continue
            lens = [int(float(row[f"out_{i}"])) for i in range(10)]
            records.append(LengthRecord(
                prompt=prompts[row["prompt_id"]], output_lens=tuple(max(n, 1) for n in lens),
                censored=tuple(n >= CASTILLO_CAP for n in lens), prompt_len=int(float(row["input_size"])),
                target_model=row["model"], record_id=row["prompt_id"], dataset=row["dataset"],
                category=row["category"], split=row["split"],
            ))
    return records


def load_data(source: str, model: str | None = None, split: str | None = None) -> list[LengthRecord]:
    """Records from ``source`` for target ``model`` (recipe name or data-model name), one split.

    Uses :func:`sagepred.importers.load_records`; until that module exists, JSONL files and CASTILLO
    folders are read directly. An empty result is an :class:`InputError`.
    """
    data_model = target_data_model(model)
    try:
        from sagepred.importers import load_records
    except ModuleNotFoundError as err:
        if err.name != "sagepred.importers":
            raise
        path = Path(source)
        if not path.exists():
            raise InputError("data not found", path=source) from None
        if path.suffix == ".jsonl":
            records = [r for r in read_jsonl_records(path) if split is None or r.split == split]
        else:
            records = _castillo_fallback(path, data_model, split)
    else:
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


def drop_overlap(train: Sequence[LengthRecord], evaluation: Sequence[LengthRecord]) -> tuple[list[LengthRecord], int]:
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
        prompts = [r.prompt_text for r in records]
        return self.predictor.predict(prompts, [r.prompt_len for r in records])


def build_candidate(
    spec: str,
    evaluation: Sequence[LengthRecord],
    train_records: Callable[[], list[LengthRecord]] | None = None,
) -> Candidate:
    """A checkpoint (folder or Hub id) or ``baseline:NAME`` fitted on ``train_records()``."""
    if spec.startswith(BASELINE_PREFIX):
        from sagepred.eval.baselines import get_baseline

        baseline = get_baseline(spec[len(BASELINE_PREFIX):])
        if train_records is None:
            raise InputError(f"{spec} needs training data: pass --train-data PATH or --model TARGET",
                             field="train-data")
        train, dropped = drop_overlap(train_records(), evaluation)
        if not train:
            raise InputError("no training records left after removing the evaluation prompts", field="train-data")
        start = time.perf_counter()
        baseline.fit(train)
        info = {"train_records": len(train), "train_samples": sum(r.num_samples for r in train),
                "train_dropped_overlap": dropped, "fit_seconds": round(time.perf_counter() - start, 2),
                "description": baseline.description}
        return Candidate(spec, baseline, "baseline", baseline.comparable, info)
    from sagepred.predictor import LengthPredictor

    predictor = LengthPredictor.from_pretrained(spec)
    config = getattr(predictor, "config", None)
    info = {"checkpoint": spec}
    if config is not None:
        info.update(target_model=config.target_model, encoder=config.encoder, lora=config.lora is not None)
    return Candidate(spec, predictor, "checkpoint", None, info)


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
