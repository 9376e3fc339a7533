"""``sagepred train`` end to end: recipe → data → trainer → evaluation → checkpoint + card → MLflow."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.distribution import LengthDistribution, histogram_probs, log_bin_edges
from sagepred.errors import InputError
from sagepred.instruction_adjust import released_settings
from sagepred.metrics import score_samples, summarise_scores
from sagepred.predictor import LengthPredictor, PredictorConfig
from sagepred.records import LengthRecord
from sagepred.targets import family_tokenizer
from sagepred.tracking import DEFAULT_TRACKING_URI, MlflowTracker, holdout_fingerprint, registered_model_name
from sagepred.training.data import load_training_data
from sagepred.training.embed_at_scale import ArrowEmbeddingStore, EmbedConfig, use_disk_embeddings
from sagepred.training.recipes import load_recipe
from sagepred.training.trainer import Trainer, seed_everything


@dataclass
class TrainOptions:
    """What ``sagepred train`` was asked for; ``None`` means the recipe's default."""

    model: str = field(metadata={"help": "target model: recipe name or alias"})
    data: str | None = field(default=None, metadata={"help": "records source overriding the recipe's"})
    output: str | None = field(
        default=None, metadata={"help": "checkpoint folder (default outputs/<recipe>-<head>)"}
    )
    head: str | None = field(default=None, metadata={"help": "'histogram' or 'quantile'"})
    lora: bool = field(default=False, metadata={"help": "LoRA-tune the encoder"})
    epochs: int | None = field(default=None, metadata={"help": "maximum epochs (LoRA epochs with --lora)"})
    encoder: str | None = field(default=None, metadata={"help": "encoder id or folder"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    train_split: str | None = field(default=None, metadata={"help": "source split to train on"})
    eval_split: str | None = field(default=None, metadata={"help": "source split to evaluate on"})
    tracking_uri: str = field(default=DEFAULT_TRACKING_URI, metadata={"help": "MLflow tracking URI"})
    track: bool = field(default=True, metadata={"help": "log to MLflow"})
    progress: bool = True
    disk_embeddings: str = field(
        default="auto",
        metadata={
            "help": "frozen-encoder embeddings in the Arrow store on disk (sagepred.training.embed_at_scale): "
            "'on', 'off', or 'auto' (on from 50,000 training prompts)"
        },
    )
    dropout: bool = field(
        default=True, metadata={"help": "dropout while LoRA-tuning (off: deterministic steps)"}
    )
    embed_workers: int = field(
        default=1, metadata={"help": "Dataset.map worker processes embedding into the disk store"}
    )


def _quiet(_message: str) -> None:
    """Notes from processes other than the main one are dropped (each would repeat them)."""


def _global_baseline(train: list[LengthRecord], n: int) -> LengthDistribution:
    edges = log_bin_edges()
    probs = histogram_probs(np.concatenate([r.lengths for r in train]), edges)
    return LengthDistribution.tiled_histogram(probs, edges, n)


def evaluate_predictions(dist: LengthDistribution, records: list[LengthRecord]) -> dict[str, Any]:
    """Metrics of ``dist`` on ``records`` (the evaluation package's definitions)."""
    from sagepred.metrics import compute_metrics

    return compute_metrics(dist, records)


def log_report(tracker: MlflowTracker, scores: Any, metrics: dict[str, Any], title: str) -> None:
    """The evaluation report's plots and ``metrics.json`` as the run's ``report/`` artifacts."""
    import json
    import tempfile

    from sagepred.plots import write_plots

    if not tracker.enabled:
        return
    with tempfile.TemporaryDirectory(prefix="sagepred-report-") as folder:
        write_plots(scores, Path(folder), title)
        (Path(folder) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        tracker.log_artifacts(folder, artifact_path="report")


def run_training(options: TrainOptions, notify: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, evaluate and save a predictor; returns a summary (paths, metrics, timings)."""
    recipe = load_recipe(options.model)
    if options.train_split or options.eval_split:
        recipe.data = dataclasses.replace(
            recipe.data,
            train_split=options.train_split or recipe.data.train_split,
            eval_split=options.eval_split or recipe.data.eval_split,
            protocol="",  # the recipe's note describes its own protocol, not the one asked for here
        )
    from sagepred.encoders import trainable_encoder
    from sagepred.training.distributed import describe, launched_processes, make_accelerator

    if launched_processes() > 1 and not options.lora:
        raise InputError(
            "a multi-process launch trains the LoRA mode (--lora); frozen-encoder training runs in one "
            "process (parallel embedding: --disk-embeddings on --embed-workers N)",
            field="--lora",
        )
    accelerator = make_accelerator()
    is_main = accelerator is None or bool(accelerator.is_main_process)
    data = load_training_data(recipe, options.data, seed=options.seed, notify=notify if is_main else _quiet)
    section = recipe.predictor
    encoder = options.encoder or section.encoder
    if options.lora and (trainable := trainable_encoder(encoder)) != encoder:
        if is_main:
            notify(
                f"LoRA tunes a float32 encoder: {trainable} (the recipe's {encoder} is int8, inference only)"
            )
        encoder = trainable
    head = dataclasses.replace(section.head, kind=options.head) if options.head else section.head
    predictor_config = PredictorConfig(
        target_model=recipe.target_model,
        encoder=encoder,
        encoder_max_length=section.encoder_max_length,
        head=head,
        lora=section.lora if options.lora else None,
        instructions=released_settings() if head.kind == "histogram" else None,
        tokenizer=recipe.data.tokenizer or family_tokenizer(recipe.target_model),
    )
    training_config = dataclasses.replace(recipe.training, seed=options.seed)
    if not options.dropout:
        training_config = dataclasses.replace(training_config, dropout=False)
    if options.epochs is not None:
        field_name = "lora_epochs" if options.lora else "epochs"
        training_config = dataclasses.replace(training_config, **{field_name: options.epochs})
    mode = "lora" if options.lora else "frozen"
    output = Path(options.output or f"outputs/{recipe.name}-{predictor_config.head.kind}-{mode}")

    disk = use_disk_embeddings(options.disk_embeddings, len(data.train))
    cache = ArrowEmbeddingStore(config=EmbedConfig(num_proc=options.embed_workers)) if disk else None
    tracker = MlflowTracker(options.tracking_uri, enabled=options.track and is_main)
    tracker.start(
        run_name=f"{recipe.name}-{predictor_config.head.kind}-{mode}",
        params={
            "recipe": recipe.name,
            "target_model": recipe.target_model,
            "mode": mode,
            "predictor": predictor_config.to_dict(),
            "training": training_config.to_dict(),
            "data": data.provenance,
        },
        tags={"sagepred.target_model": recipe.target_model},
    )
    status = "FAILED"
    try:
        seed_everything(options.seed)  # the head's and the adapter's initial weights
        predictor = LengthPredictor.untrained(predictor_config)
        trainer = Trainer(
            predictor,
            training_config,
            cache=cache,
            accelerator=accelerator,
            progress=options.progress and is_main,
            on_epoch=lambda e: tracker.log_metrics(
                {"train_loss": e.train_loss, "val_loss": e.val_loss}, step=e.epoch
            ),
        )
        result = trainer.fit(data.train)
        if not is_main:  # the main process evaluates and writes the checkpoint, once
            status = "FINISHED"
            return {"checkpoint": str(output), "rank": int(accelerator.process_index), "metrics": None}
        tic = time.perf_counter()
        dist = predictor.predict([r.prompt_text for r in data.eval], progress=options.progress)
        predict_seconds = time.perf_counter() - tic
        scores = score_samples(dist, data.eval)
        metrics = summarise_scores(scores, data.eval)
        baseline = evaluate_predictions(_global_baseline(data.train, len(data.eval)), data.eval)
        card_metrics = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
        card_metrics["pinball"] = metrics.get("pinball")
        card_metrics["baseline_global"] = {
            k: baseline[k] for k in ("crps", "kendall_tau", "coverage_80") if k in baseline
        }
        predictor.config.metrics = card_metrics
        predictor.config.data = data.provenance
        predictor.config.training = {
            "mode": mode,
            "seed": options.seed,
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "train_seconds": round(result.seconds, 1),
            "processes": describe(accelerator)["processes"],
            "embeddings": "disk" if disk else "memory",
            **{
                k: v
                for k, v in training_config.to_dict().items()
                if (k.startswith("lora") == options.lora)
                or k in ("batch_size", "learning_rate", "weight_decay", "patience", "early_stopping_fraction")
            },
        }
        predictor.save_pretrained(output)
        tracker.log_metrics({f"eval_{k}": v for k, v in metrics.items()})
        tracker.log_metrics({f"baseline_global_{k}": v for k, v in card_metrics["baseline_global"].items()})
        log_report(tracker, scores, metrics, f"{recipe.name} ({predictor_config.head.kind}, {mode})")
        holdout = holdout_fingerprint(data.eval)
        tracker.log_params({"holdout_sha256": holdout})
        model_name = registered_model_name(recipe.target_model)
        version = tracker.log_checkpoint(
            output, register_as=model_name, holdout_sha256=holdout, crps=metrics["crps"]
        )
        champion = tracker.update_champion(model_name, version) if version is not None else None
        if champion is not None:
            notify(champion.reason)
        status = "FINISHED"
    finally:
        tracker.end(status)
    return {
        "recipe": recipe.name,
        "target_model": recipe.target_model,
        "mode": mode,
        "head": predictor_config.head.kind,
        "checkpoint": str(output),
        "data": data.provenance,
        "train_seconds": round(result.seconds, 2),
        "distributed": describe(accelerator),
        "embeddings": "disk" if disk else "memory",
        "predict_seconds_per_prompt": predict_seconds / max(len(data.eval), 1),
        "best_epoch": result.best_epoch,
        "metrics": metrics,
        "baseline_global": baseline,
        "mlflow": {
            "tracking_uri": options.tracking_uri,
            "run_id": tracker.run_id,
            "registered_model": model_name,
            "model_version": version,
            "champion": champion.champion if champion else None,
            "champion_moved": champion.moved if champion else None,
            "champion_reason": champion.reason if champion else None,
            "holdout_sha256": holdout,
        }
        if options.track
        else None,
    }
