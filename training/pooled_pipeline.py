"""``sagepred train --model all`` and ``sagepred train --model NEW --init POOLED`` end to end.

* :func:`run_pooled_training`: every target with data (CASTILLO, AlpacaEval, ``--data`` JSONL) →
  a by-prompt split → the pooled head → held-out metrics per target beside each target's global
  histogram → ``save_pretrained`` (metrics in ``config.json``) → MLflow.
* :func:`run_new_target`: a pooled checkpoint + a few records of a new target → its embedding and
  temperature (:func:`~sagepred.training.pooled.fit_new_target`) → a pooled checkpoint that knows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.encoders import POOLED_ENCODER, trainable_encoder
from sagepred.errors import InputError
from sagepred.pooled import PooledPredictor, TargetInfo
from sagepred.tracking import DEFAULT_TRACKING_URI, MlflowTracker
from sagepred.training.pooled import (
    FewShotSettings,
    PooledTrainingConfig,
    build_rows,
    evaluate_targets,
    fit_new_target,
    load_pooled_records,
    predict_rows,
    prompt_features,
    prompt_split,
    train_pooled,
)

POOLED_NAMES = ("all", "pooled")
"""``--model`` values that train the pooled model."""


@dataclass
class PooledOptions:
    """What ``sagepred train --model all`` was asked for."""

    data: str | None = field(default=None, metadata={"help": "extra JSONL records (grouped by target_model)"})
    output: str | None = field(default=None, metadata={"help": "checkpoint folder (default outputs/pooled)"})
    epochs: int | None = field(default=None, metadata={"help": "maximum epochs"})
    members: int | None = field(
        default=None, metadata={"help": "ensemble members of the head (default PooledTrainingConfig's)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of splits and training"})
    data_dir: str | None = field(
        default=None, metadata={"help": "the real-data folder (default ../shared/data)"}
    )
    tracking_uri: str = field(default=DEFAULT_TRACKING_URI, metadata={"help": "MLflow tracking URI"})
    track: bool = field(default=True, metadata={"help": "log to MLflow"})
    encoder: str = field(
        default=POOLED_ENCODER, metadata={"help": "encoder spec (sagepred.encoders.load_encoder), frozen"}
    )


def summarise_targets(per_target: dict[str, dict[str, Any]], sources: dict[str, str]) -> dict[str, Any]:
    """Means per source of CRPS / global, τ and cov80 over the targets in ``per_target``."""
    out: dict[str, Any] = {}
    for source in sorted(set(sources.values())):
        names = [n for n in per_target if sources.get(n) == source]
        if not names:
            continue

        def mean(key: str, names: list[str] = names) -> float | None:
            values = [per_target[n][key] for n in names if per_target[n].get(key) is not None]
            return float(np.mean(values)) if values else None

        out[source] = {
            "targets": len(names),
            "crps_ratio": mean("crps_ratio"),
            "crps_ratio_max": max(per_target[n]["crps_ratio"] for n in names),
            "kendall_tau": mean("kendall_tau"),
            "coverage_80": mean("coverage_80"),
            "pit_ks": mean("pit_ks"),
        }
    return out


def run_pooled_training(options: PooledOptions, notify: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, evaluate and save the pooled predictor; returns a summary."""
    from sagepred.encoders import load_encoder

    config = PooledTrainingConfig(seed=options.seed)
    if options.epochs is not None:
        config = replace(config, epochs=options.epochs)
    if options.members is not None:
        config = replace(config, members=options.members)
    groups = load_pooled_records(Path(options.data_dir) if options.data_dir else None, extra=options.data)
    rows = build_rows(groups)
    notify(
        f"{len(rows.targets)} targets, {len(rows.prompts)} prompts, {len(rows.records)} (prompt, target) rows"
    )
    encoder = load_encoder(options.encoder)
    features = prompt_features(encoder, rows.prompts, progress=True)
    held = prompt_split(rows.prompts, config.eval_fraction, config.seed)[rows.prompt_index]
    train, test = rows.select(~held), rows.select(held)
    output = Path(options.output or "outputs/pooled")
    tracker = MlflowTracker(options.tracking_uri, enabled=options.track)
    tracker.start(
        run_name="pooled",
        params={"mode": "pooled", "training": config.to_dict()},
        tags={"sagepred.kind": "pooled"},
    )
    status = "FAILED"
    try:
        result = train_pooled(train, features, config, options.encoder, notify=notify)
        predictor = result.predictor
        tic = time.perf_counter()
        per_target = evaluate_targets(predict_rows(predictor, test, features), test, train)
        sources = {t.name: t.source for t in rows.targets}
        summary = summarise_targets(per_target, sources)
        predictor.config.metrics = {"summary": summary, "per_target": per_target}
        predictor.config.data = {
            "sources": sorted(set(sources.values())),
            "targets": len(rows.targets),
            "prompts": len(rows.prompts),
            "train_rows": len(train.records),
            "eval_rows": len(test.records),
            "split": f"by prompt: a seeded hash-based {config.eval_fraction:.0%} of prompts held out for every target (seed {config.seed})",
        }
        predictor.save_pretrained(output)
        for source, values in summary.items():
            tracker.log_metrics({f"{source}_{k}": v for k, v in values.items() if v is not None})
        status = "FINISHED"
    finally:
        tracker.end(status)
    return {
        "checkpoint": str(output),
        "targets": len(rows.targets),
        "train_seconds": round(result.seconds, 1),
        "eval_seconds": round(time.perf_counter() - tic, 1),
        "best_epoch": result.best_epoch,
        "instructions": vars(predictor.config.instructions),
        "summary": summary,
        "per_target": per_target,
        "run_id": tracker.run_id if options.track else None,
    }


@dataclass
class NewTargetOptions:
    """What ``sagepred train --model NEW --data FILE --init POOLED`` was asked for."""

    model: str = field(metadata={"help": "the new target's name"})
    data: str = field(metadata={"help": "its records (JSONL or any records source)"})
    init: str = field(metadata={"help": "the pooled checkpoint to extend"})
    output: str | None = field(
        default=None, metadata={"help": "checkpoint folder (default outputs/pooled+NAME)"}
    )
    seed: int = field(default=0, metadata={"help": "seed"})


def run_new_target(options: NewTargetOptions, notify: Callable[[str], None] = print) -> dict[str, Any]:
    """Add a target to a pooled checkpoint from a few records; returns a summary."""
    from sagepred.importers import load_records
    from sagepred.pooled import is_pooled_checkpoint
    from sagepred.targets import same_target, tokenizer_for
    from sagepred.training.pooled import _target_name

    if not is_pooled_checkpoint(options.init):
        raise InputError(
            f"{options.init}: not a pooled checkpoint (train one with --model all)", field="--init"
        )
    pooled = PooledPredictor.from_pretrained(options.init)
    records = load_records(options.data, model=options.model)
    mine = [r for r in records if not r.target_model or same_target(r.target_model, options.model)]
    if not mine:
        raise InputError(f"no records of target {options.model!r}", path=options.data, field="target_model")
    if len(mine) < 20:
        notify(f"only {len(mine)} records: 20 or more give a steadier fit")
    name, aliases = _target_name(options.model)
    caps = [r.max_tokens for r in mine if r.max_tokens]
    info = TargetInfo(
        name=name,
        target_model=options.model,
        source="few-shot",
        tokenizer=tokenizer_for(options.model),
        max_tokens=float(max(caps)) if caps else None,
        aliases=aliases,
    )
    texts = [r.prompt_text for r in mine]
    features = prompt_features(pooled.encoder, texts)
    tic = time.perf_counter()
    grown = fit_new_target(
        pooled,
        info,
        mine,
        features.embeddings.numpy(),
        features.counts.numpy(),
        FewShotSettings(seed=options.seed),
    )
    seconds = time.perf_counter() - tic
    output = Path(options.output or f"outputs/pooled+{name}")
    grown.save_pretrained(output)
    added = grown.config.targets[-1]
    return {
        "checkpoint": str(output),
        "target": added.name,
        "records": len(mine),
        "verbosity": round(added.verbosity, 3),
        "fit_seconds": round(seconds, 2),
        "targets": len(grown.config.targets),
    }


@dataclass
class PooledFineTuneOptions:
    """What ``sagepred train --model all --finetune MODE`` was asked for."""

    mode: str = field(default="full", metadata={"help": "full or lora"})
    output: str | None = field(
        default=None, metadata={"help": "checkpoint folder (default outputs/pooled-finetuned)"}
    )
    init: str | None = field(
        default=None, metadata={"help": "frozen pooled checkpoint to start from (trained here if none)"}
    )
    max_prompts: int | None = field(default=None, metadata={"help": "fine-tune on a subset of prompts"})
    epochs: int = field(default=1, metadata={"help": "fine-tuning epochs"})
    warm_epochs: int = field(
        default=5, metadata={"help": "head epochs on frozen embeddings before (no --init)"}
    )
    refit_epochs: int = field(
        default=PooledTrainingConfig.epochs,
        metadata={
            "help": "maximum head epochs on the tuned embeddings (the frozen model's schedule: cosine over "
            "them, early stopping on the validation prompts)"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of splits and training"})
    data_dir: str | None = field(default=None, metadata={"help": "the real-data folder"})
    encoder: str = field(
        default=trainable_encoder(POOLED_ENCODER),
        metadata={"help": "encoder spec to fine-tune (float32: a quant=int8 spec is refused)"},
    )


def run_pooled_finetune(
    options: PooledFineTuneOptions, notify: Callable[[str], None] = print
) -> dict[str, Any]:
    """Frozen pooled head → encoder fine-tuned on the pooled loss → head refitted → held-out metrics → saved.

    The split is :func:`run_pooled_training`'s (same seed: the same held-out prompts), so the two
    checkpoints' ``metrics`` compare directly.
    """
    import torch

    from sagepred.encoders import load_encoder
    from sagepred.training.pooled import PromptFeatures
    from sagepred.training.pooled_finetune import PooledFineTuneConfig, finetune_pooled

    if trainable_encoder(options.encoder) != options.encoder:
        raise InputError(
            f"{options.encoder}: dynamic int8 is inference only; fine-tune {trainable_encoder(options.encoder)}",
            field="encoder",
        )
    config = PooledTrainingConfig(seed=options.seed)
    groups = load_pooled_records(Path(options.data_dir) if options.data_dir else None)
    rows = build_rows(groups)
    held = prompt_split(rows.prompts, config.eval_fraction, config.seed)[rows.prompt_index]
    train, test = rows.select(~held), rows.select(held)
    sources = {t.name: t.source for t in rows.targets}
    encoder = load_encoder(options.encoder)
    frozen_features = prompt_features(encoder, rows.prompts)
    if options.init:
        pooled = PooledPredictor.from_pretrained(options.init, encoder=encoder)
        if pooled.config.embedding_dim != encoder.dim:
            raise InputError(
                f"{options.init}: its head reads {pooled.config.embedding_dim}-number embeddings "
                f"({pooled.config.encoder}); {options.encoder} gives {encoder.dim}: pass --encoder "
                f"{trainable_encoder(pooled.config.encoder)}",
                field="--init",
            )
        if pooled.target_names != [t.name for t in rows.targets]:
            raise InputError(f"{options.init}: its targets differ from the data's", field="--init")
    else:
        warm = replace(config, epochs=options.warm_epochs)
        pooled = train_pooled(train, frozen_features, warm, options.encoder, notify=notify).predictor
        pooled._encoder = encoder
    frozen = summarise_targets(
        evaluate_targets(predict_rows(pooled, test, frozen_features), test, train), sources
    )
    notify(f"frozen: {frozen}")
    tune = PooledFineTuneConfig(
        mode=options.mode, epochs=options.epochs, max_prompts=options.max_prompts, seed=options.seed
    )
    log = finetune_pooled(pooled, train, tune, notify=notify)
    tic = time.perf_counter()
    tuned = encoder.encode_uncached(rows.prompts, batch_size=64)
    features = PromptFeatures(torch.from_numpy(tuned), frozen_features.counts)
    notify(f"re-embedded {len(rows.prompts)} prompts in {time.perf_counter() - tic:.0f} s")
    joint = summarise_targets(evaluate_targets(predict_rows(pooled, test, features), test, train), sources)
    notify(f"fine-tuned, joint head: {joint}")
    refit_config = replace(config, epochs=options.refit_epochs)
    refit = train_pooled(train, features, refit_config, options.encoder, notify=notify).predictor
    refit._encoder = encoder
    refit.config.encoder_max_length = tune.max_length
    refit.config.encoder_bundled = True
    per_target = evaluate_targets(predict_rows(refit, test, features), test, train)
    summary = summarise_targets(per_target, sources)
    notify(f"fine-tuned, refitted head: {summary}")
    refit.config.training = {**refit.config.training, "finetune": {**log, "log": log["log"][-5:]}}
    refit.config.metrics = {
        "summary": summary,
        "per_target": per_target,
        "frozen_summary": frozen,
        "joint_head_summary": joint,
    }
    refit.config.data = {
        "targets": len(rows.targets),
        "prompts": len(rows.prompts),
        "split": f"by prompt: a seeded hash-based {config.eval_fraction:.0%} of prompts held out for every target (seed {config.seed})",
    }
    output = Path(options.output or "outputs/pooled-finetuned")
    refit.save_pretrained(output, include_encoder=True)
    return {
        "checkpoint": str(output),
        "finetune_seconds": round(log["seconds"]),
        "summary": summary,
        "frozen": frozen,
        "joint": joint,
    }
