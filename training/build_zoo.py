"""Build the model zoo: train every recipe (frozen encoder, histogram head), evaluate, write checkpoints,
cards and the zoo index.

For each recipe: ``run_training`` (cached embeddings, no MLflow) into a scratch folder; the head's weights
are rounded to the shipped dtype and the held-out metrics are measured again *with the shipped weights*
(rebuilding the hold-out from the checkpoint's provenance, as a user would); the checkpoint (config,
weights, generated card) is written into the packaged zoo, its card copied to ``cards/<name>.md``, and
``index.json`` (files, sizes, sha256, metrics) rewritten in both places. Resumable: finished targets are
skipped unless ``--force``.

    python training/build_zoo.py [TARGET ...] [--force] [--dtype float16] [--index-only]
    python training/build_zoo.py [TARGET ...] --remeasure   # after a change to the prediction code
    python training/build_zoo.py [TARGET ...] --remeasure --count-reading   # refit list_count_weight too
    python training/build_zoo.py --from-pooled outputs/pooled [TARGET ...] [--force]

With ``--from-pooled`` every checkpoint is the pooled model bound to its target
(:mod:`sagepred.training.zoo_from_pooled`) instead of a head trained on the target's data alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sagepred import zoo
from sagepred.calibration import CalibrationConfig, choose_pseudo_count
from sagepred.count_reading import measure_count_reading
from sagepred.encoders import EmbeddingCache
from sagepred.io import atomic_write_text
from sagepred.model_card import render_model_card
from sagepred.predictor import CARD_NAME, CONFIG_NAME, LengthPredictor
from sagepred.training.data import held_out_records
from sagepred.training.pipeline import TrainOptions, run_training
from sagepred.training.pooled import build_rows, load_pooled_records
from sagepred.training.recipes import Recipe, list_recipes, load_recipe
from sagepred.training.zoo_from_pooled import (
    PooledSplit,
    RefinedExport,
    finish_export,
    pooled_training_prompts,
    refined_export,
    shipped_copy,
    validation_pits,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CARD_KEYS = ("crps", "kendall_tau", "coverage_80", "mae_median", "bucket_accuracy", "pit_ks")


@contextlib.contextmanager
def cached_predictions(cache: EmbeddingCache) -> Iterator[None]:
    """Frozen-encoder predictions inside the build reuse the embedding cache (prompts repeat across targets)."""
    original = LengthPredictor.predict

    def predict(
        self: LengthPredictor,
        prompts: Sequence[str],
        prompt_lens: Any = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> Any:
        if self.config.lora is not None:
            return original(self, prompts, prompt_lens, batch_size, progress)
        texts = list(prompts)
        counts = np.asarray(self.encoder.count_tokens(texts), dtype=np.float32)
        embeddings = cache.encode(self.encoder, texts, batch_size=batch_size)
        return self.predict_from_features(embeddings, counts, prompts=texts)

    LengthPredictor.predict = predict  # type: ignore[method-assign]
    try:
        yield
    finally:
        LengthPredictor.predict = original  # type: ignore[method-assign]


@contextlib.contextmanager
def shared_encoders() -> Iterator[None]:
    """Load each frozen encoder once for the whole build (every predictor would otherwise load its own)."""
    import sagepred.predictor as predictor_module

    original = predictor_module.load_encoder
    loaded: dict[tuple[str, int], Any] = {}

    def shared(name: str, max_length: int = 256) -> Any:
        if (name, max_length) not in loaded:
            loaded[(name, max_length)] = original(name, max_length=max_length)
        return loaded[(name, max_length)]

    predictor_module.load_encoder = shared  # type: ignore[assignment]
    try:
        yield
    finally:
        predictor_module.load_encoder = original  # type: ignore[assignment]


def evaluate_checkpoint(
    predictors: list[LengthPredictor], cache: EmbeddingCache
) -> tuple[list[Any], dict[str, Any]]:
    """Every predictor's predictions on the hold-out rebuilt from the first one's provenance, and the
    last one's metrics."""
    from sagepred.metrics import compute_metrics

    records = held_out_records(predictors[0].config.data)
    texts = [r.prompt_text for r in records]
    encoder = predictors[0].encoder
    embeddings = cache.encode(encoder, texts)
    counts = np.asarray(encoder.count_tokens(texts), dtype=np.float32)
    dists = [p.predict_from_features(embeddings, counts, prompts=texts) for p in predictors]
    return dists, compute_metrics(dists[-1], records)


def card_metrics(metrics: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The scalar metrics a card shows, plus pinball losses, per-dataset CRPS and the global baseline."""
    out = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
    out["pinball"] = metrics.get("pinball")
    if metrics.get("coverage_80_ci95") is not None:
        out["coverage_80_ci95"] = metrics["coverage_80_ci95"]
    by_dataset = metrics.get("by_dataset") or {}
    if by_dataset:
        out["by_dataset"] = {
            name: {k: m.get(k) for k in ("n_prompts", "crps", "kendall_tau", "coverage_80") if k in m}
            for name, m in sorted(by_dataset.items())
        }
    out["baseline_global"] = baseline
    return out


def build_one(recipe: Recipe, zoo_dir: Path, dtype: torch.dtype, cache: EmbeddingCache) -> dict[str, Any]:
    """Train, re-measure with shipped weights, and write one checkpoint; returns build facts."""
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"zoo-{recipe.name}-") as scratch:
        with cached_predictions(cache):
            summary = run_training(
                TrainOptions(
                    model=recipe.name, output=str(Path(scratch) / "ckpt"), track=False, progress=False
                ),
                notify=lambda message: print(f"  note: {message}"),
            )
        predictor = LengthPredictor.from_pretrained(summary["checkpoint"])
    train_seconds = time.perf_counter() - tic
    shipped, state = shipped_copy(predictor, dtype)
    (full_dist, dist), metrics = evaluate_checkpoint([predictor, shipped], cache)
    full_metrics = summary["metrics"]
    predictor = shipped
    baseline = {k: summary["baseline_global"].get(k) for k in ("crps", "kendall_tau", "coverage_80")}
    predictor.config.metrics = card_metrics(metrics, baseline)
    predictor.config.training["weights_dtype"] = str(dtype).removeprefix("torch.")
    target = zoo_dir / recipe.name
    predictor.save_pretrained(target, weights=state)  # config.json records the shipped weights' sha256
    check = {
        "dtype": str(dtype).removeprefix("torch."),
        "max_abs_cdf_diff_vs_float32": float(np.max(np.abs(full_dist.cdf_at_knots - dist.cdf_at_knots)))
        if full_dist.cdf_at_knots.shape == dist.cdf_at_knots.shape
        else None,
        "crps_float32": full_metrics["crps"],
        "crps_shipped": metrics["crps"],
        "kendall_tau_float32": full_metrics.get("kendall_tau"),
        "kendall_tau_shipped": metrics.get("kendall_tau"),
    }
    return {
        "name": recipe.name,
        "seconds": round(time.perf_counter() - tic, 1),
        "train_seconds": round(train_seconds, 1),
        "weights_check": check,
    }


def build_exported(
    pooled: Any,
    export: RefinedExport,
    zoo_dir: Path,
    dtype: torch.dtype,
    cache: EmbeddingCache,
    shrinkage: MapShrinkage,
) -> dict[str, Any]:
    """Recalibrate, re-measure with shipped weights and write one refined export; returns build facts."""
    tic = time.perf_counter()
    predictor, state, measured = finish_export(
        pooled, export, cache, dtype, pseudo_count=shrinkage.pseudo_count, choice=shrinkage.choice
    )
    baseline = {k: measured["baseline"].get(k) for k in ("crps", "kendall_tau", "coverage_80")}
    predictor.config.metrics = card_metrics(measured["metrics"], baseline)
    predictor.save_pretrained(zoo_dir / export.recipe.name, weights=state)
    return {**measured["facts"], "seconds": round(time.perf_counter() - tic, 1)}


def remeasure(folder: Path, cache: EmbeddingCache, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure a shipped checkpoint on its hold-out again and rewrite the metrics in its ``config.json``
    (weights and everything else untouched), after a change to code that shapes its predictions (the
    instruction parser, the recalibration); ``facts`` (its build-log entry) gets the same numbers.
    Returns the old and new CRPS, τ and cov80."""
    predictor = LengthPredictor.from_pretrained(folder)
    _, metrics = evaluate_checkpoint([predictor], cache)
    path = folder / CONFIG_NAME
    config = json.loads(path.read_text(encoding="utf-8"))
    before = config["metrics"]
    config["metrics"] = card_metrics(metrics, before["baseline_global"])
    atomic_write_text(path, json.dumps(config, indent=2) + "\n")
    if facts is not None:
        for key in ("crps", "kendall_tau", "coverage_80", "coverage_80_ci95"):
            if key in facts:
                facts[key] = metrics.get(key)
        if "crps_ratio" in facts and facts.get("crps_global"):
            facts["crps_ratio"] = metrics["crps"] / facts["crps_global"]
    keys = ("crps", "kendall_tau", "coverage_80")
    return {"before": {k: before.get(k) for k in keys}, "after": {k: metrics.get(k) for k in keys}}


def count_reading_prompts(data_dir: Path | None = None) -> list[str]:
    """The pooled model's training prompts (its split, seed 0; the zoo's held-out 20% left out): where
    :func:`refit_count_reading` finds the lists whose counts it changes."""
    return PooledSplit().training_prompts(build_rows(load_pooled_records(data_dir)).prompts)


def refit_count_reading(folder: Path, prompts: Sequence[str], cache: EmbeddingCache) -> dict[str, Any] | None:
    """Measure a shipped checkpoint's own reading of list counts on ``prompts`` and write the
    ``list_count_weight`` it implies into its ``config.json`` (:mod:`sagepred.count_reading`); None
    for a checkpoint without an instruction adjustment."""
    predictor = LengthPredictor.from_pretrained(folder)
    settings = predictor.config.instructions
    if settings is None:
        return None
    encoder = predictor.encoder

    def log_medians(texts: list[str]) -> np.ndarray:
        embeddings = cache.encode(encoder, texts)
        counts = np.asarray(encoder.count_tokens(texts), dtype=np.float32)
        return np.log1p(
            predictor.predict_from_features(embeddings, counts, calibrated=False).quantile(0.5).ravel()
        )

    reading = measure_count_reading(log_medians, prompts, settings.list_weight)
    if reading is None:
        return None
    path = folder / CONFIG_NAME
    config = json.loads(path.read_text(encoding="utf-8"))
    config["instructions"].update(
        list_count_weight=round(reading.list_count_weight, 4),
        list_reference_count=round(reading.reference_count, 3),
        list_count_slope=round(reading.slope, 4),
    )
    atomic_write_text(path, json.dumps(config, indent=2) + "\n")
    return reading.to_dict()


@dataclass
class MapShrinkage:
    """The pseudo-count of the per-target maps and how it was chosen."""

    pseudo_count: float = field(
        default=CalibrationConfig().pseudo_count,
        metadata={"help": "identity pseudo-prompts of every own map"},
    )
    choice: dict[str, Any] | None = field(
        default=None, metadata={"help": "choose_pseudo_count's table and targets (None: the default)"}
    )


def choose_map_shrinkage(exports: Sequence[RefinedExport], cache: EmbeddingCache, seed: int) -> MapShrinkage:
    """Cross-fit the pseudo-count on the validation prompts of the exports that fit maps of their own."""
    own = [e for e in exports if e.own_map]
    if not own:
        return MapShrinkage()
    k, table = choose_pseudo_count([validation_pits(e, cache) for e in own], seed=seed)
    return MapShrinkage(
        k,
        {
            "chosen": k,
            "by": "cross-fitted halves of the validation prompts, mean PIT Cramér–von Mises distance",
            "targets": [e.recipe.name for e in own],
            "distance": {key: round(value, 7) for key, value in table.items()},
        },
    )


def _refined_text(refined: dict[str, Any] | None) -> str:
    if not refined:
        return "not refined"
    if refined["kept_initial"]:
        return f"kept as exported (validation loss {refined['val_loss_before']:.4f})"
    return f"refined, validation loss {refined['val_loss_before']:.4f} -> {refined['val_loss_after']:.4f}"


def write_cards_and_index(zoo_dir: Path, cards_dir: Path, build_log: dict[str, Any]) -> dict[str, Any]:
    """Re-render every checkpoint's card from its config, copy it to ``cards/``, and write the index."""
    recipes = {r.name: r for r in list_recipes()}
    entries = []
    for folder in sorted(
        p for p in zoo_dir.iterdir() if (p / CONFIG_NAME).is_file() and not p.name.startswith(".")
    ):
        config = LengthPredictor.from_pretrained(folder).config
        atomic_write_text(folder / CARD_NAME, render_model_card(config))
        shutil.copyfile(folder / CARD_NAME, cards_dir / f"{folder.name}.md")
        recipe = recipes.get(folder.name)
        entries.append(
            zoo.index_entry(
                folder, config, aliases=recipe.aliases if recipe else [], build=build_log.get(folder.name)
            )
        )
    index = zoo.make_index(entries)
    text = json.dumps(index, indent=2) + "\n"
    atomic_write_text(zoo_dir / zoo.INDEX_NAME, text)
    atomic_write_text(cards_dir / zoo.INDEX_NAME, text)
    atomic_write_text(cards_dir / "README.md", zoo_readme(index))
    return index


def zoo_readme(index: dict[str, Any]) -> str:
    """``cards/README.md``: the zoo's table, generated from the index."""

    def fmt(value: Any, spec: str) -> str:
        return format(value, spec) if isinstance(value, int | float) else "—"

    rows = [
        f"| [{e['name']}]({e['name']}.md) | {e['target_model']} | {e['data_source']} | {e['eval_prompts']} | "
        f"{fmt(e['metrics'].get('crps'), '.1f')} | {fmt(e['baseline_global'].get('crps'), '.1f')} | "
        f"{fmt(e['metrics'].get('kendall_tau'), '.3f')} | {fmt(e['metrics'].get('coverage_80'), '.2f')} | "
        f"{e['size_bytes'] / 1e6:.2f} MB |"
        for e in index["checkpoints"]
    ]
    return (
        "# sagepred model zoo\n\nGenerated by `training/build_zoo.py` from `index.json`; do not edit. Every "
        "checkpoint is a histogram head over a frozen encoder (the `encoder` of its card: "
        "`sentence-transformers/all-MiniLM-L6-v2?layers=3&quant=int8` is its first three layers in dynamic "
        "int8), shipped inside the package (`sagepred zoo list`, `sagepred zoo pull NAME`, `sagepred predict "
        "--model NAME`). Checkpoints exported from the pooled model (`--from-pooled`) say so on their card "
        "and read explicit length instructions. Metrics are on each checkpoint's held-out prompts (see its "
        "card for the protocol); the global baseline is one histogram of all training lengths.\n\n"
        "| checkpoint | target model | data | held-out prompts | CRPS | global CRPS | Kendall τ | 80% coverage "
        "| size |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + f"\n\n{len(rows)} checkpoints, {index['total_bytes'] / 1e6:.1f} MB in all.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="recipe names (default: every recipe)")
    parser.add_argument("--zoo-dir", type=Path, default=zoo.PACKAGED_ZOO)
    parser.add_argument("--cards-dir", type=Path, default=REPO_ROOT / "cards")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--force", action="store_true", help="retrain targets that already have a checkpoint")
    parser.add_argument("--index-only", action="store_true", help="only re-render cards and the index")
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="measure the shipped checkpoints (TARGETs, default all) on their hold-outs again and rewrite "
        "their metrics, cards and the index; no training",
    )
    parser.add_argument(
        "--count-reading",
        action="store_true",
        help="with --remeasure: first measure each checkpoint's own reading of list counts and set its "
        "list_count_weight (sagepred.count_reading)",
    )
    parser.add_argument(
        "--from-pooled",
        type=Path,
        default=None,
        help="export every checkpoint from this pooled checkpoint (sagepred train --model all) instead of training",
    )
    args = parser.parse_args()
    if args.remeasure and (args.from_pooled or args.index_only or args.force):
        parser.error(
            "--remeasure re-scores shipped checkpoints; it takes no --from-pooled, --index-only or --force"
        )
    args.zoo_dir.mkdir(parents=True, exist_ok=True)
    args.cards_dir.mkdir(parents=True, exist_ok=True)
    log_path = args.cards_dir / "build_log.json"
    build_log: dict[str, Any] = json.loads(log_path.read_text()) if log_path.is_file() else {}
    recipes = [load_recipe(name) for name in args.targets] if args.targets else list_recipes()
    cache = EmbeddingCache()
    stack = contextlib.ExitStack()
    stack.enter_context(shared_encoders())
    pooled, trained_on = None, None
    if args.from_pooled is not None and not args.index_only:
        from sagepred.pooled import PooledPredictor

        pooled = PooledPredictor.from_pretrained(args.from_pooled)
        trained_on = pooled_training_prompts(pooled)
        for source, payload in pooled.config.calibration.items():
            fitted = payload.get("fitted", {})
            print(
                f"{source}: shared recalibration from {fitted['samples']} validation samples of "
                f"{fitted['targets']} targets, cov80 {fitted['coverage_80_before']:.3f} -> "
                f"{fitted['coverage_80_after']:.3f}",
                flush=True,
            )
    if args.count_reading and not args.remeasure:
        parser.error("--count-reading goes with --remeasure")
    if args.remeasure:
        list_prompts = count_reading_prompts() if args.count_reading else []
        for i, recipe in enumerate(recipes):
            folder = args.zoo_dir / recipe.name
            if not (folder / CONFIG_NAME).is_file():
                continue
            if args.count_reading:
                reading = refit_count_reading(folder, list_prompts, cache)
                print(f"[{i + 1}/{len(recipes)}] {recipe.name}: list counts {reading}", flush=True)
            change = remeasure(folder, cache, build_log.get(recipe.name))
            b, a = change["before"], change["after"]
            print(
                f"[{i + 1}/{len(recipes)}] {recipe.name}: CRPS {b['crps']:.3f} -> {a['crps']:.3f}, "
                f"τ {b['kendall_tau']:.4f} -> {a['kendall_tau']:.4f}, cov80 {b['coverage_80']:.4f} -> "
                f"{a['coverage_80']:.4f}",
                flush=True,
            )
        atomic_write_text(log_path, json.dumps(build_log, indent=2) + "\n")
    todo = [
        r
        for r in (recipes if not (args.index_only or args.remeasure) else [])
        if args.force or not (args.zoo_dir / r.name / CONFIG_NAME).is_file()
    ]
    dtype = getattr(torch, args.dtype)
    if pooled is not None:
        exports = []
        for i, recipe in enumerate(todo):
            print(f"[{i + 1}/{len(todo)}] refining {recipe.name} ({recipe.target_model})", flush=True)
            exports.append(refined_export(pooled, recipe, trained_on, cache))
        shrinkage = choose_map_shrinkage(exports, cache, seed=PooledSplit.of(pooled).seed)
        if shrinkage.choice:
            distances = ", ".join(f"{k}: {v:.2e}" for k, v in shrinkage.choice["distance"].items())
            print(
                f"own maps of {len(shrinkage.choice['targets'])} targets: pseudo-count "
                f"{shrinkage.pseudo_count:g} prompts (cross-fitted PIT distance {distances})",
                flush=True,
            )
        for export in exports:
            facts = build_exported(pooled, export, args.zoo_dir, dtype, cache, shrinkage)
            print(
                f"{export.recipe.name}: {facts['seconds']} s; CRPS {facts['crps']:.2f} = "
                f"{facts['crps_ratio']:.3f}× global (uncalibrated {facts['crps_uncalibrated']:.2f}), "
                f"τ {facts['kendall_tau']:.3f}, cov80 {facts['coverage_80']:.3f} (uncalibrated "
                f"{facts['coverage_80_uncalibrated']:.3f}); " + _refined_text(facts.get("refined")),
                flush=True,
            )
            build_log[export.recipe.name] = facts
            atomic_write_text(log_path, json.dumps(build_log, indent=2) + "\n")
    for i, recipe in enumerate(todo if pooled is None else []):
        print(f"[{i + 1}/{len(todo)}] {recipe.name} ({recipe.target_model})", flush=True)
        facts = build_one(recipe, args.zoo_dir, dtype, cache)
        check = facts["weights_check"]
        print(
            f"  {facts['seconds']} s; CRPS {check['crps_shipped']:.2f} (float32 {check['crps_float32']:.2f}), "
            f"τ {check['kendall_tau_shipped']}",
            flush=True,
        )
        build_log[recipe.name] = facts
        atomic_write_text(log_path, json.dumps(build_log, indent=2) + "\n")
    stack.close()
    index = write_cards_and_index(args.zoo_dir, args.cards_dir, build_log)
    print(f"zoo: {len(index['checkpoints'])} checkpoints, {index['total_bytes'] / 1e6:.1f} MB")
    for line in coverage_report(build_log):
        print(line)


def coverage_report(build_log: dict[str, Any], nominal: float = 0.8, tolerance: float = 0.03) -> list[str]:
    """Per data source: how many checkpoints cover ``nominal ± tolerance``, how many a perfectly
    calibrated predictor would on the same numbers of held-out prompts (binomial, one sample per prompt:
    a floor for sources with several), and how many 95% intervals hold ``nominal``."""
    from scipy.stats import binom

    lines = []
    by_source: dict[str, list[dict[str, Any]]] = {}
    for facts in build_log.values():
        if facts.get("coverage_80") is not None and facts.get("held_out_prompts"):
            by_source.setdefault(facts.get("source", "unknown"), []).append(facts)
    for source, entries in sorted(by_source.items()):
        within = sum(abs(e["coverage_80"] - nominal) <= tolerance + 1e-12 for e in entries)
        expected = 0.0
        for e in entries:
            n = int(e["held_out_prompts"])
            hi, lo = math.floor((nominal + tolerance) * n + 1e-9), math.ceil((nominal - tolerance) * n - 1e-9)
            expected += float(binom.cdf(hi, n, nominal) - binom.cdf(lo - 1, n, nominal))
        intervals = [e["coverage_80_ci95"] for e in entries if e.get("coverage_80_ci95")]
        holding = sum(lo <= nominal <= hi for lo, hi in intervals)
        lines.append(
            f"{source}: {within} of {len(entries)} within {nominal} ± {tolerance} (a calibrated predictor: "
            f"{expected:.1f} expected at one sample per prompt); {holding} of {len(intervals)} 95% intervals "
            f"hold {nominal}"
        )
    return lines


if __name__ == "__main__":
    main()
