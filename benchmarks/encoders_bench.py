"""Encoder options: CPU latency per prompt, and quality of the heads they feed on CASTILLO targets.

Latency: p50/p95 milliseconds per prompt, batches of 32 real CASTILLO prompts, with 1 and 2 torch /
ONNX Runtime threads, for the default encoder in torch, ONNX Runtime float32 and ONNX Runtime int8,
the ``--variants`` of the default encoder (first-k layers, torch dynamic int8: ``?layers=3``,
``?quant=int8``, both) and, when ``--causal-lm`` names one, a causal LM's mid-layer states.

Quality: per target, a histogram head on the frozen default encoder (the old default), the same head
served with int8 ONNX embeddings (the serving path: trained on torch embeddings), per variant the
same head served with the variant's embeddings and a head trained on them, and fine-tuning of
the encoder from that warm-started head — LoRA (r 8 on query/value) and full — with AdamW, a linear
warm-up over the first 10% of steps and a cosine decay, batches of 32. Metrics on the recipe's
held-out prompts: CRPS, CRPS / global histogram, Kendall τ, cov80, PIT-KS (raw head output, no
recalibration, so the encoders are compared as they are).

    .venv/bin/python benchmarks/encoders_bench.py --latency-only
    .venv/bin/python benchmarks/encoders_bench.py --targets llama-3.2-1b --epochs 1
    .venv/bin/python benchmarks/encoders_bench.py --quality-only --modes   # frozen heads and variants only
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sagepred.distribution import LengthDistribution, histogram_probs, log_bin_edges
from sagepred.encoders import DEFAULT_ENCODER, EmbeddingCache, OnnxTextEncoder, TextEncoder, load_encoder
from sagepred.io import atomic_write_text
from sagepred.metrics import compute_metrics
from sagepred.predictor import LengthPredictor, LoraSettings, PredictorConfig
from sagepred.records import LengthRecord
from sagepred.training.data import load_training_data
from sagepred.training.recipes import load_recipe
from sagepred.training.trainer import Trainer, length_targets

RESULTS = Path(__file__).parent / "results" / "encoders.json"
KEYS = ("crps", "kendall_tau", "coverage_80", "pit_ks")


# ---------------------------------------------------------------------------- latency
def castillo_prompts(n: int) -> list[str]:
    from sagepred.paths import default_data_dir

    path = default_data_dir() / "castillo" / "castillo_prompts.jsonl"
    with path.open() as handle:
        prompts = [json.loads(line)["prompt_text"] for line in handle]
    rng = np.random.default_rng(0)
    return [prompts[i] for i in rng.choice(len(prompts), n, replace=False)]


def time_encoder(encoder: TextEncoder, prompts: list[str], batch: int = 32) -> dict[str, float]:
    """Per-prompt milliseconds of each batch of ``batch`` prompts (one warm-up batch first)."""
    encoder.encode_uncached(prompts[:batch], batch_size=batch)
    per_prompt = []
    for start in range(0, len(prompts) - batch + 1, batch):
        tic = time.perf_counter()
        encoder.encode_uncached(prompts[start : start + batch], batch_size=batch)
        per_prompt.append((time.perf_counter() - tic) * 1000.0 / batch)
    values = np.asarray(per_prompt)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "batches": len(per_prompt),
    }


def variant_label(options: str) -> str:
    """``minilm torch layers=3 quant=int8`` for the spec suffix ``?layers=3&quant=int8``."""
    return "minilm torch " + options.lstrip("?").replace("&", " ")


def latency(prompts: list[str], causal: str | None, variants: list[str]) -> list[dict]:
    rows = []
    options: list[tuple[str, object]] = [
        ("minilm torch", lambda: TextEncoder()),
        ("minilm onnx fp32", lambda: OnnxTextEncoder(threads=torch.get_num_threads())),
        ("minilm onnx int8", lambda: OnnxTextEncoder(int8=True, threads=torch.get_num_threads())),
    ]
    options += [(variant_label(v), lambda v=v: load_encoder(DEFAULT_ENCODER + v)) for v in variants]
    if causal:
        options.append((f"causal-lm {causal}", lambda: load_encoder(f"causal-lm:{causal}")))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, build in options:
            encoder = build()
            row = {"encoder": name, "threads": threads, **time_encoder(encoder, prompts)}
            rows.append(row)
            print(
                f"{name:<28} threads {threads}: p50 {row['p50_ms']:.1f} ms  p95 {row['p95_ms']:.1f} ms",
                flush=True,
            )
    return rows


# ---------------------------------------------------------------------------- quality
def global_baseline(train: list[LengthRecord], n: int) -> LengthDistribution:
    edges = log_bin_edges()
    probs = histogram_probs(np.concatenate([r.lengths for r in train]), edges)
    return LengthDistribution.tiled_histogram(probs, edges, n)


def scored(dist: LengthDistribution, records: list[LengthRecord], global_crps: float) -> dict:
    metrics = compute_metrics(dist, records)
    out = {k: metrics[k] for k in KEYS}
    out["crps_vs_global"] = round(metrics["crps"] / global_crps, 4)
    return out


def cosine_lr(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def fine_tune(
    base: LengthPredictor,
    train: list[LengthRecord],
    mode: str,
    epochs: int,
    encoder_lr: float,
    max_length: int,
    batch: int = 32,
) -> tuple[LengthPredictor, float]:
    """Fine-tune the encoder (``lora`` or ``full``) and the warm-started head; returns it and seconds."""
    tic = time.perf_counter()
    config = copy.deepcopy(base.config)
    config.encoder_max_length = max_length
    config.lora = LoraSettings() if mode == "lora" else None
    predictor = LengthPredictor(config, encoder=TextEncoder(config.encoder, max_length=max_length))
    predictor.head.load_state_dict(base.head.state_dict())
    encoder = predictor.encoder
    if mode == "full":
        for param in encoder.parameters():
            param.requires_grad_(True)
    encoder_params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": encoder_lr},
            {"params": list(predictor.head.parameters()), "lr": 3e-4},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = math.ceil(len(train) / batch)
    total = epochs * steps_per_epoch
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: cosine_lr(s, total, warmup))
    rng = np.random.default_rng(0)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(train))
        encoder.train()
        predictor.head.train()
        for begin in range(0, len(train), batch):
            chunk = [train[i] for i in order[begin : begin + batch]]
            texts = [r.prompt_text for r in chunk]
            counts = torch.tensor(encoder.count_tokens(texts), dtype=torch.float32)
            embeddings = encoder(**encoder.tokenize(texts))
            loss = predictor.head.loss(predictor.head(embeddings, counts), *length_targets(chunk))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder_params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 20 == 0:
                print(f"    {mode} step {step}/{total} loss {loss.item():.3f}", flush=True)
    encoder.eval()
    predictor.head.eval()
    return predictor, time.perf_counter() - tic


def frozen_head(config: PredictorConfig, recipe, train: list[LengthRecord], cache: EmbeddingCache):
    """A histogram head trained on ``config``'s frozen encoder (seed 0, no recalibration)."""
    torch.manual_seed(0)
    predictor = LengthPredictor.untrained(config)
    training = dataclasses.replace(recipe.training, seed=0, calibrate=False)
    Trainer(predictor, training, cache=cache, progress=False).fit(train)
    return predictor


def quality(targets: list[str], epochs: int, modes: list[str], max_length: int, variants: list[str]) -> dict:
    cache = EmbeddingCache()
    results = {}
    for name in targets:
        recipe = load_recipe(name)
        data = load_training_data(recipe, notify=lambda _m: None)
        held = data.eval
        global_crps = compute_metrics(global_baseline(data.train, len(held)), held)["crps"]
        config = PredictorConfig(
            target_model=recipe.target_model,
            encoder=recipe.predictor.encoder,
            encoder_max_length=recipe.predictor.encoder_max_length,
            head=recipe.predictor.head,
        )
        tic = time.perf_counter()
        base = frozen_head(config, recipe, data.train, cache)
        rows = {"global": {"crps": global_crps, "crps_vs_global": 1.0}}
        texts = [r.prompt_text for r in held]
        x, n = (
            cache.encode(base.encoder, texts),
            np.asarray(base.encoder.count_tokens(texts), dtype=np.float32),
        )
        rows["minilm frozen"] = {
            **scored(base.predict_from_features(x, n, calibrated=False), held, global_crps),
            "train_seconds": round(time.perf_counter() - tic, 1),
        }
        int8 = OnnxTextEncoder(int8=True)
        rows["minilm frozen, served int8 onnx"] = scored(
            base.predict_from_features(int8.encode_uncached(texts), n, calibrated=False), held, global_crps
        )
        print(f"{name}: global CRPS {global_crps:.1f}", flush=True)
        for key in ("minilm frozen", "minilm frozen, served int8 onnx"):
            print(f"  {key:<34} {fmt(rows[key])}", flush=True)
        for variant in variants:
            served = load_encoder(DEFAULT_ENCODER + variant)
            if served.dim == base.encoder.dim:  # a pool_layers variant feeds a wider head: train only
                label = variant_label(variant).replace("minilm torch", "minilm frozen, served")
                rows[label] = scored(
                    base.predict_from_features(served.encode_uncached(texts), n, calibrated=False),
                    held,
                    global_crps,
                )
                print(f"  {label:<34} {fmt(rows[label])}", flush=True)
            tic = time.perf_counter()
            spec = DEFAULT_ENCODER + variant
            head = frozen_head(dataclasses.replace(config, encoder=spec), recipe, data.train, cache)
            features = cache.encode(head.encoder, texts), n
            label = variant_label(variant).replace("minilm torch", "minilm frozen, trained")
            rows[label] = {
                **scored(head.predict_from_features(*features, calibrated=False), held, global_crps),
                "train_seconds": round(time.perf_counter() - tic, 1),
            }
            print(f"  {label:<34} {fmt(rows[label])}", flush=True)
        for mode in modes:
            lr = 2e-4 if mode == "lora" else 3e-5
            tuned, seconds = fine_tune(base, data.train, mode, epochs, lr, max_length)
            dist = tuned.predict_from_features(*tuned.features(texts), calibrated=False)
            label = f"minilm {mode} ({epochs} ep, warmup+cosine, lr {lr:g}, max_len {max_length})"
            rows[label] = {**scored(dist, held, global_crps), "train_seconds": round(seconds, 1)}
            print(f"  {label:<34} {fmt(rows[label])}", flush=True)
        results[name] = {"held_out_prompts": len(held), "train_prompts": len(data.train), "rows": rows}
    return results


def fmt(row: dict) -> str:
    tau = row.get("kendall_tau")
    return (
        f"CRPS {row['crps']:.1f} ({row['crps_vs_global']:.3f}× global) τ {tau if tau is None else round(tau, 3)} "
        f"cov80 {row['coverage_80']:.3f} PIT-KS {row['pit_ks']:.3f}"
        + (f"  [{row['train_seconds']} s]" if "train_seconds" in row else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-only", action="store_true", help="only the latency table")
    parser.add_argument("--quality-only", action="store_true", help="only the quality table")
    parser.add_argument("--targets", nargs="+", default=["llama-3.2-1b", "qwen2.5-7b-1m"], help="recipes")
    parser.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs")
    parser.add_argument("--modes", nargs="*", default=["lora", "full"], help="fine-tuning modes to run")
    parser.add_argument("--max-length", type=int, default=128, help="encoder tokens while fine-tuning")
    parser.add_argument("--prompts", type=int, default=320, help="prompts timed per encoder")
    parser.add_argument("--causal-lm", default=None, help="a causal LM id or folder to time as well")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["?layers=3", "?quant=int8", "?layers=3&quant=int8"],
        help="options of the default encoder to time and to train a frozen head on (NAME?layers=K&quant=int8&pool_layers=I,J)",
    )
    parser.add_argument("--output", default=str(RESULTS), help="JSON results path")
    args = parser.parse_args(argv)
    path = Path(args.output)
    # A --latency-only or --quality-only run replaces its own part and keeps the other's.
    results: dict = json.loads(path.read_text()) if path.is_file() else {}
    results.update({"load_average_at_start": os.getloadavg(), "cpu_count": os.cpu_count()})
    if not args.quality_only:
        results["latency"] = latency(castillo_prompts(args.prompts), args.causal_lm, args.variants)
    if not args.latency_only:
        torch.set_num_threads(int(os.environ.get("SAGEPRED_TORCH_THREADS", "2")))
        results["quality"] = quality(args.targets, args.epochs, args.modes, args.max_length, args.variants)
    results["load_average_at_end"] = os.getloadavg()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
