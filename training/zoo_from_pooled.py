"""Zoo checkpoints exported from one pooled model: every target's checkpoint is the pooled head bound to
that target (:meth:`~sagepred.pooled.PooledPredictor.export_target`), so the zoo keeps its per-target
format (a small histogram head over the frozen encoder) while every entry gets the pooled model's
shared training, its length-instruction adjustment, a static recalibration (given enough validation
samples) and its training-prompt digests.

Per target (a recipe of the zoo):

* records: the recipe's own data (the same loader ``sagepred train --model NAME`` uses), split **by
  prompt** exactly as the pooled model was (seeded hash of the prompt text, the pooled checkpoint's
  ``eval_fraction`` and ``seed``), so no held-out prompt was seen for any target; a held-out prompt
  that the pooled model trained on (the recipe's text differs from the pooled data's) stops the build,
  except for a near-duplicate or two (same text up to case and spacing as a training prompt), which
  are dropped from the held-out set and listed in its provenance;
* the exported head refined on the target's own training prompts, early stopping on its validation
  prompts (the pooled model's early-stopping split); kept as exported when no epoch lowers the
  validation loss;
* recalibration (isotonic on PIT, no distance widening: its reference set would add 1.5 MB per
  checkpoint) on the target's validation prompts, the pooled model's early-stopping split, when they
  hold at least :data:`MIN_CALIBRATION_SAMPLES` samples, shrunk toward the identity by a pseudo-count
  of prompts that the build chooses once for all such targets by cross-fitting on their validation
  halves (:func:`~sagepred.calibration.choose_pseudo_count`); a target with fewer (an AlpacaEval model has
  about 60) keeps its data source's map from the pooled checkpoint, fitted on the pooled model's
  validation predictions of every target of that source
  (:func:`~sagepred.training.pooled.fit_source_calibrations`);
* metrics on the held-out prompts with the shipped (float16) weights, beside the global histogram of
  the target's training records; ``sagepred eval --checkpoint NAME --data holdout`` rebuilds the same
  held-out records from the card's provenance.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sagepred.calibration import Calibration, CalibrationConfig, sample_pits
from sagepred.contamination import overlap_mask, prompt_digest, prompt_hashes
from sagepred.distribution import LengthDistribution
from sagepred.encoders import EmbeddingCache
from sagepred.errors import InputError
from sagepred.metrics import compute_metrics
from sagepred.pooled import PooledPredictor
from sagepred.predictor import LengthPredictor
from sagepred.records import LengthRecord, prompt_split
from sagepred.training.data import load_training_data
from sagepred.training.pooled import (
    build_rows,
    global_histogram,
    load_pooled_records,
)
from sagepred.training.recipes import Recipe
from sagepred.training.trainer import Trainer, TrainingConfig

EXPORT_MODE = "pooled-export"
MIN_CALIBRATION_SAMPLES = 400
"""Validation samples below which no recalibration is fitted: the 10% tail's binomial standard error is
0.015 at 400 samples, the precision the ±0.03 coverage goal needs (AlpacaEval targets have about 60)."""


@dataclass
class PooledSplit:
    """How the pooled model split its prompts (read from its ``config.json`` training settings)."""

    eval_fraction: float = field(default=0.2, metadata={"help": "share of prompts held out for every target"})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "share of training prompts for early stopping (and recalibration)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of both splits"})

    @classmethod
    def of(cls, pooled: PooledPredictor) -> PooledSplit:
        training = pooled.config.training
        return cls(
            float(training.get("eval_fraction", 0.2)),
            float(training.get("validation_fraction", 0.1)),
            int(training.get("seed", 0)),
        )

    def training_prompts(self, prompts: Sequence[str]) -> list[str]:
        """The ``prompts`` this split trains or early-stops on (the held-out share left out)."""
        held = prompt_split(prompts, self.eval_fraction, self.seed)
        return [p for p, h in zip(prompts, held, strict=True) if not h]

    def divide(
        self, records: list[LengthRecord]
    ) -> tuple[list[LengthRecord], list[LengthRecord], list[LengthRecord]]:
        """``(fit, validation, held-out)`` records of one target, by prompt."""
        texts = [r.prompt_text for r in records]
        held = prompt_split(texts, self.eval_fraction, self.seed)
        validation = prompt_split(texts, self.validation_fraction, self.seed, salt="validation")
        fit = [r for r, h, v in zip(records, held, validation, strict=True) if not h and not v]
        val = [r for r, h, v in zip(records, held, validation, strict=True) if not h and v]
        test = [r for r, h in zip(records, held, strict=True) if h]
        return fit, val, test


def refine_settings(seed: int) -> TrainingConfig:
    """Head training from the exported weights: a third of the from-scratch learning rate, same patience."""
    return TrainingConfig(learning_rate=3e-4, seed=seed, calibrate=False)


def pooled_training_prompts(pooled: PooledPredictor, data_dir: Path | None = None) -> np.ndarray:
    """Digests of every prompt the pooled model trained or early-stopped on (its data rebuilt and split
    as it was)."""
    rows = build_rows(load_pooled_records(data_dir))
    if [t.name for t in rows.targets] != pooled.target_names:
        raise InputError(
            "the data's targets differ from the pooled checkpoint's; rebuild it with `sagepred train --model all`",
            field="--from-pooled",
        )
    return prompt_hashes(PooledSplit.of(pooled).training_prompts(rows.prompts))


def shipped_copy(
    predictor: LengthPredictor, dtype: torch.dtype
) -> tuple[LengthPredictor, dict[str, torch.Tensor]]:
    """``predictor`` with its head rounded to ``dtype`` (as the zoo ships it), and that state."""
    state = {k: v.detach().cpu().to(dtype).contiguous() for k, v in predictor.head.state_dict().items()}
    shipped = LengthPredictor(copy.deepcopy(predictor.config), encoder=predictor.encoder)
    shipped.head.load_state_dict({k: v.float() for k, v in state.items()})
    shipped.calibration, shipped.train_prompt_hashes = predictor.calibration, predictor.train_prompt_hashes
    shipped.eval()
    return shipped, state


def _features(
    predictor: LengthPredictor, records: list[LengthRecord], cache: EmbeddingCache
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(embeddings, encoder token counts, prompt texts)`` of ``records`` (embeddings through the cache)."""
    texts = [r.prompt_text for r in records]
    counts = np.asarray(predictor.encoder.count_tokens(texts), dtype=np.float32)
    return cache.encode(predictor.encoder, texts), counts, texts


@dataclass
class RefinedExport:
    """A target's head exported from the pooled model and refined, with its splits: the first half of
    :func:`export_for_recipe` (calibration and measurement are the second, :func:`finish_export`)."""

    recipe: Recipe
    predictor: LengthPredictor
    fit: list[LengthRecord]
    validation: list[LengthRecord]
    held: list[LengthRecord]
    excluded: list[str]
    refined: dict[str, Any] | None
    provenance: dict[str, Any]

    _raw_validation: tuple[LengthDistribution, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def validation_samples(self) -> int:
        return sum(r.num_samples for r in self.validation)

    @property
    def own_map(self) -> bool:
        """Whether its validation prompts hold enough samples for a recalibration map of its own."""
        return self.validation_samples >= MIN_CALIBRATION_SAMPLES

    def raw_validation(self, cache: EmbeddingCache) -> tuple[LengthDistribution, np.ndarray]:
        """The uncalibrated predictions of its validation prompts and their embeddings (computed once:
        the shrinkage choice and the map's fit both read them)."""
        if self._raw_validation is None:
            x_val, n_val, texts = _features(self.predictor, self.validation, cache)
            raw = self.predictor.predict_from_features(x_val, n_val, calibrated=False, prompts=texts)
            self._raw_validation = (raw, x_val)
        return self._raw_validation


def refined_export(
    pooled: PooledPredictor,
    recipe: Recipe,
    trained_on: np.ndarray,
    cache: EmbeddingCache,
    refine: bool = True,
) -> RefinedExport:
    """``recipe``'s target exported from ``pooled`` and (with ``refine``) trained further on its own training
    prompts, early stopping on its validation prompts (the export itself is kept when no epoch beats it)."""
    data = load_training_data(recipe, notify=lambda _m: None)
    records = data.train + data.eval
    split = PooledSplit.of(pooled)
    fit, validation, held = split.divide(records)
    overlap = overlap_mask([r.prompt_text for r in held], trained_on)
    if overlap.sum() > max(2, 0.01 * len(held)):
        raise InputError(
            f"{recipe.name}: {int(overlap.sum())} of {len(held)} held-out prompts were in the pooled model's "
            "training data (the recipe's prompt text differs from the pooled data's); its metrics would not "
            "be held out",
            field="--from-pooled",
        )
    # A near-duplicate (same text up to case and spacing) of a training prompt is not held out.
    excluded = sorted({prompt_digest(r.prompt_text).hex() for r, o in zip(held, overlap, strict=True) if o})
    held = [r for r, o in zip(held, overlap, strict=True) if not o]
    predictor = pooled.export_target(recipe.target_model, field="--from-pooled")
    refined = None
    if refine:
        refined = Trainer(predictor, refine_settings(split.seed), cache=cache, progress=False).refine(
            fit, validation
        )
    predictor.train_prompt_hashes = trained_on
    return RefinedExport(recipe, predictor, fit, validation, held, excluded, refined, data.provenance)


def validation_pits(export: RefinedExport, cache: EmbeddingCache) -> tuple[np.ndarray, np.ndarray]:
    """PIT values of the export's uncalibrated predictions on its validation samples, and each sample's
    prompt (the input of :func:`~sagepred.calibration.choose_pseudo_count`)."""
    raw, _ = export.raw_validation(cache)
    prompt = np.repeat(np.arange(len(export.validation)), [r.num_samples for r in export.validation])
    return sample_pits(raw, export.validation), prompt


def export_for_recipe(
    pooled: PooledPredictor,
    recipe: Recipe,
    trained_on: np.ndarray,
    cache: EmbeddingCache,
    dtype: torch.dtype = torch.float16,
    pooled_label: str = "pooled",
    refine: bool = True,
    pseudo_count: float = CalibrationConfig().pseudo_count,
) -> tuple[LengthPredictor, dict[str, torch.Tensor], dict[str, Any]]:
    """The zoo checkpoint of ``recipe``'s target exported from ``pooled``: ``(predictor, shipped weights,
    build facts)``. ``trained_on`` holds the digests of the pooled model's training prompts.

    :func:`refined_export`, then :func:`finish_export` with the map's ``pseudo_count``.
    """
    export = refined_export(pooled, recipe, trained_on, cache, refine)
    return finish_export(pooled, export, cache, dtype, pooled_label, pseudo_count)


def finish_export(
    pooled: PooledPredictor,
    export: RefinedExport,
    cache: EmbeddingCache,
    dtype: torch.dtype = torch.float16,
    pooled_label: str = "pooled",
    pseudo_count: float = CalibrationConfig().pseudo_count,
    choice: dict[str, Any] | None = None,
) -> tuple[LengthPredictor, dict[str, torch.Tensor], dict[str, Any]]:
    """Calibrate, round to ``dtype`` and measure a refined export: ``(predictor, shipped weights, build facts)``.

    A target whose validation prompts hold enough samples gets a map of its own, shrunk toward the
    identity by ``pseudo_count`` pseudo-prompts (weighed against its validation prompts; ``choice``,
    how that count was chosen, is recorded with it); one with fewer keeps the export's: its data
    source's map in the pooled checkpoint.
    """
    recipe, predictor, split = export.recipe, export.predictor, PooledSplit.of(pooled)
    fit, validation, held = export.fit, export.validation, export.held
    excluded, refined, samples = export.excluded, export.refined, export.validation_samples
    if export.own_map:
        raw_val, x_val = export.raw_validation(cache)
        x_fit = cache.encode(predictor.encoder, [r.prompt_text for r in fit])
        predictor.calibration = Calibration.fit(
            raw_val,
            validation,
            x_val,
            x_fit,
            CalibrationConfig(widen=False, pseudo_count=pseudo_count),
            seed=split.seed,
            units=len(validation),
        )
        if choice is not None:
            predictor.calibration.fitted["pseudo_count_choice"] = choice
        calibration = predictor.calibration.fitted
    elif predictor.calibration is not None:
        calibration = {"own_samples": samples, **predictor.calibration.fitted}
    else:
        calibration = {"skipped": f"{samples} validation samples, fewer than {MIN_CALIBRATION_SAMPLES}"}
    shipped, state = shipped_copy(predictor, dtype)
    baseline = compute_metrics(global_histogram(fit + validation, len(held)), held)
    x_held, n_held, held_texts = _features(shipped, held, cache)
    raw_metrics, metrics = (
        compute_metrics(
            shipped.predict_from_features(x_held, n_held, calibrated=calibrated, prompts=held_texts), held
        )
        for calibrated in (False, True)
    )
    shipped.config.data = {
        **export.provenance,
        "eval_split": (
            f"by prompt: the pooled model's seeded hash-based {split.eval_fraction:.0%} of prompts, "
            f"held out for every target (seed {split.seed})"
        ),
        "holdout": {
            "by": "prompt",
            "fraction": split.eval_fraction,
            "seed": split.seed,
            "salt": "pooled",
            "excluded": excluded,
        },
        "train_records": len(fit) + len(validation),
        "train_samples": sum(r.num_samples for r in fit + validation),
        "eval_records": len(held),
        "eval_samples": sum(r.num_samples for r in held),
    }
    shipped.config.training = {
        "mode": EXPORT_MODE,
        "pooled": {
            "checkpoint": pooled_label,
            "targets": len(pooled.target_names),
            "target": pooled.config.targets[pooled.target_index(recipe.target_model)].name,
            **{k: pooled.config.training.get(k) for k in ("best_epoch", "epochs_run", "seed", "target_dim")},
        },
        "refined": refined,
        "calibration": calibration,
        "weights_dtype": str(dtype).removeprefix("torch."),
    }
    facts = {
        "name": recipe.name,
        "mode": EXPORT_MODE,
        "source": pooled.config.targets[pooled.target_index(recipe.target_model)].source,
        "held_out_prompts": len(held),
        "validation_prompts": len(validation),
        "crps": metrics["crps"],
        "crps_uncalibrated": raw_metrics["crps"],
        "crps_global": baseline["crps"],
        "crps_ratio": metrics["crps"] / baseline["crps"],
        "kendall_tau": metrics.get("kendall_tau"),
        "coverage_80": metrics.get("coverage_80"),
        "coverage_80_ci95": metrics.get("coverage_80_ci95"),
        "coverage_80_uncalibrated": raw_metrics.get("coverage_80"),
        "refined": refined,
    }
    return shipped, state, {"metrics": metrics, "baseline": baseline, "facts": facts}
