"""Calibration before/after: static recalibration, distance widening, online recalibration under shift.

For each target: train a frozen-encoder histogram head on its recipe's training records (the trainer
fits the calibration on its early-stopping split), then score the held-out records with the head's
raw output, with static recalibration only, and with recalibration + widening. The shift cases
train on AlpacaEval answers of a model that CASTILLO also has and score CASTILLO's prompts for that
model (another public prompt mix; lengths in the same model's tokenizer), statically and as an
online replay in which :class:`~sagepred.calibration.OnlineRecalibrator` sees one observed length
per request (what a server sees) and coverage is measured per block of 100 requests.

    .venv/bin/python benchmarks/calibration_bench.py            # table + benchmarks/results/calibration.json
    .venv/bin/python benchmarks/calibration_bench.py --quick    # one target of each kind
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sagepred.calibration import (
    Recalibrator,
    replay_online,
    widen,
)
from sagepred.encoders import EmbeddingCache
from sagepred.io import atomic_write_text
from sagepred.metrics import compute_metrics
from sagepred.predictor import LengthPredictor, PredictorConfig
from sagepred.records import LengthRecord
from sagepred.training.data import load_training_data
from sagepred.training.recipes import load_recipe
from sagepred.training.trainer import Trainer

IN_DISTRIBUTION = ("llama-3.1-8b", "qwen2.5-7b-1m", "mistral-7b-v0.3", "gemma-3-4b")
SHIFT = (
    ("castillo-source", "llama-3.1-8b"),
    ("alpacaeval", "mistral-7b-v0.3-alpacaeval", "mistral-7b-v0.3"),
    ("castillo-source", "qwen2.5-7b-1m"),
    ("alpacaeval", "mixtral-8x7b-alpacaeval", "mixtral-8x7b"),
)
CODE_SOURCES = {"DS1000", "Mbpp", "Apps", "BigCodeBench"}
RESULTS = Path(__file__).parent / "results" / "calibration.json"
KEYS = ("crps", "kendall_tau", "coverage_80", "pit_ks")


def train(
    recipe_name: str, cache: EmbeddingCache, records: list[LengthRecord] | None = None
) -> tuple[LengthPredictor, list[LengthRecord]]:
    """A calibrated checkpoint of the recipe (frozen encoder; on ``records`` if given) and its held-out records."""
    recipe = load_recipe(recipe_name)
    data = load_training_data(recipe, notify=lambda _m: None)
    config = PredictorConfig(
        target_model=recipe.target_model,
        encoder=recipe.predictor.encoder,
        encoder_max_length=recipe.predictor.encoder_max_length,
        head=recipe.predictor.head,
    )
    torch.manual_seed(0)
    predictor = LengthPredictor.untrained(config)
    Trainer(predictor, dataclasses.replace(recipe.training, seed=0), cache=cache, progress=False).fit(
        data.train if records is None else records
    )
    return predictor, data.eval


def features(predictor: LengthPredictor, records: list[LengthRecord], cache: EmbeddingCache):
    texts = [r.prompt_text for r in records]
    embeddings = cache.encode(predictor.encoder, texts)
    return embeddings, np.asarray(predictor.encoder.count_tokens(texts), dtype=np.float32)


def variants(predictor: LengthPredictor, records: list[LengthRecord], cache: EmbeddingCache) -> dict:
    """Metrics of the raw head, static recalibration only, and recalibration + widening."""
    x, n = features(predictor, records, cache)
    raw = predictor.predict_from_features(x, n, calibrated=False)
    calibration = predictor.calibration
    assert calibration is not None
    out = {"raw": raw, "recalibrated": calibration.recalibrator(raw), "recalibrated+widened": None}
    if calibration.widening is not None and calibration.reference is not None:
        distance = calibration.reference.distance(x)
        out["recalibrated+widened"] = calibration.recalibrator(
            widen(raw, calibration.widening.scale(distance))
        )
        out["_distance"] = float(np.median(distance))
        out["_scale"] = float(np.median(calibration.widening.scale(distance)))
    result = {}
    for name, dist in out.items():
        if name.startswith("_"):
            result[name] = round(dist, 4)
        elif dist is not None:
            metrics = compute_metrics(dist, records)
            result[name] = {k: metrics[k] for k in KEYS}
    return result


def online_replay(
    predictor: LengthPredictor, records: list[LengthRecord], cache: EmbeddingCache, block: int = 250
) -> dict:
    """Static checkpoint vs the same with online recalibration over a seeded stream."""
    order = np.random.default_rng(0).permutation(len(records))
    stream = [records[i] for i in order]
    x, n = features(predictor, stream, cache)
    static = predictor.predict_from_features(x, n)
    replay = replay_online(static, stream, block)
    adapted, blocks, within = replay["adapted"], replay["blocks"], replay["requests_until_within_0.05"]
    overall = {
        "static": {k: compute_metrics(static, stream)[k] for k in KEYS},
        "online": {k: compute_metrics(adapted, stream)[k] for k in KEYS},
    }
    return {"blocks": blocks, "requests_until_within_0.05": within, "overall": overall}


def shift_case(
    case: tuple[str, ...], cache: EmbeddingCache
) -> tuple[LengthPredictor, list[LengthRecord], dict]:
    """Train on one prompt mix, return the checkpoint and another mix's records for the same model."""
    if case[0] == "alpacaeval":
        _, source, castillo = case
        predictor, _ = train(source, cache)
        target = load_training_data(load_recipe(castillo), notify=lambda _m: None)
        shifted = target.train + target.eval
        return (
            predictor,
            shifted,
            {"trained_on": source, "scored_on": f"CASTILLO {castillo}", "n": len(shifted)},
        )
    _, name = case
    from sagepred.importers import load_records

    recipe = load_recipe(name)
    source = recipe.resolved_source()
    code = [
        r for r in load_records(source, model=recipe.data.model, split="train") if r.dataset in CODE_SOURCES
    ]
    validate = load_records(source, model=recipe.data.model, split="validate")
    chat = [r for r in validate if r.dataset not in CODE_SOURCES]
    predictor, _ = train(name, cache, records=code)
    entry = {
        "trained_on": f"{name} CASTILLO train split, code prompts",
        "scored_on": "validate split, chat prompts",
    }
    return predictor, chat, {**entry, "n": len(chat), "train_n": len(code)}


def fmt(metrics: dict | None) -> str:
    if metrics is None:
        return "-"
    tau = metrics["kendall_tau"]
    return (
        f"CRPS {metrics['crps']:.1f} τ {tau if tau is None else round(tau, 3)} "
        f"cov80 {metrics['coverage_80']:.3f} PIT-KS {metrics['pit_ks']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one in-distribution and one shift target")
    parser.add_argument("--output", default=str(RESULTS), help="JSON results path")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cache = EmbeddingCache()
    targets = IN_DISTRIBUTION[:1] if args.quick else IN_DISTRIBUTION
    shifts = SHIFT[:2] if args.quick else SHIFT
    results: dict = {"in_distribution": {}, "shift": {}}
    tic = time.perf_counter()
    for name in targets:
        predictor, held = train(name, cache)
        results["in_distribution"][name] = {
            "fitted": predictor.calibration.fitted if predictor.calibration else None,
            **variants(predictor, held, cache),
        }
        print(f"{name} (held-out {len(held)} prompts)", flush=True)
        for key in ("raw", "recalibrated", "recalibrated+widened"):
            print(f"  {key:<22} {fmt(results['in_distribution'][name].get(key))}", flush=True)
    for case in shifts:
        predictor, shifted, entry = shift_case(case, cache)
        entry.update(variants(predictor, shifted, cache))
        entry["widening"] = (
            predictor.calibration.widening.to_dict() if predictor.calibration.widening else None
        )
        entry["online"] = online_replay(predictor, shifted, cache)
        label = f"{entry['trained_on']} -> {entry['scored_on']}"
        results["shift"][label] = entry
        print(f"{label} ({len(shifted)} prompts)", flush=True)
        for key in ("raw", "recalibrated", "recalibrated+widened"):
            print(f"  {key:<22} {fmt(entry.get(key))}", flush=True)
        slope = entry["widening"]["slope"] if entry["widening"] else None
        print(
            f"  median distance {entry.get('_distance')}, median scale {entry.get('_scale')}, slope {slope}"
        )
        print(f"  online: {fmt(entry['online']['overall']['online'])}")
        print(
            f"  online coverage within ±0.05 of 0.80 from request {entry['online']['requests_until_within_0.05']}"
        )
        print(
            "  blocks: "
            + " ".join(f"{b['seen']}:{b['static']}/{b['online']}" for b in entry["online"]["blocks"])
        )
    results["seconds"] = round(time.perf_counter() - tic, 1)
    results["identity_check"] = bool(np.allclose(Recalibrator.identity().mapping, np.linspace(0, 1, 201)))
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
