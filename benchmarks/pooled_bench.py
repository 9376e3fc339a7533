"""Predictor v2, the pooled parts: pooled vs per-target vs global, the few-record learning curve, the
prompt-mix shift, and the length-instruction probes. Prints tables; writes
``benchmarks/results/pooled_bench.json``.

    .venv/bin/python benchmarks/pooled_bench.py [--checkpoint outputs/pooled] [--quick]

* **table**: every CASTILLO target and a sample of AlpacaEval targets on the same held-out prompts
  (a seeded 20% of all prompts, held out for every target): the pooled model (``--checkpoint``, as
  ``sagepred train --model all`` wrote it with the same seed; trained here when not given), a
  per-target head trained on that target's training prompts (the recipe defaults of the zoo; its raw
  head, the form the pooled model is compared in, with its static calibration beside), and each
  target's global histogram. CRPS, CRPS / global, τ, cov80, PIT-KS; per data source, cov80 in
  quintiles of the ensemble's spread, with the recalibration map alone and as predicted (widened by
  spread where the source has a widening).
* **learning curve**: leave-targets-out — a backbone trained without six targets, each then added
  from 20 / 50 / 100 / 200 of its training-prompt records (three seeds) and scored on its held-out
  prompts, beside the global histogram of the same records.
* **shift**: a backbone trained on AlpacaEval only, asked about the same model families' answers to
  CASTILLO's chat prompts (Alpaca, Dolly, ShareGPT) in the same tokenizer: static, and replayed in a
  seeded order through online recalibration fed one observed length per request
  (:func:`sagepred.calibration.replay_online`; coverage per 250 requests).
* **instructions**: the held-out prompts where the length-instruction parser finds a request, per
  unit: mean CRPS of their rows from the head alone and with the instruction adjustment.
* **runaway**: per CASTILLO target, the held-out samples that ran into the 15,000-token cap, their
  share of the CRPS, CRPS / global without their prompts, and the predicted vs observed share of
  samples past 10,000 tokens.
* **probes**: ``tests/data/length_probes.jsonl``, ``length_probes_varied.jsonl`` and
  ``length_probes_requirements.jsonl`` (ours, never trained on; :mod:`sagepred.probes`): per topic, Spearman ρ of instructed length vs predicted median,
  and the longest / shortest instruction's median ratio.
Hyper-parameters are never chosen on the held-out prompts (early stopping and the instruction fit use
a validation share of the training prompts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pooled_bench.json"
ALPACA_SAMPLE = [
    "gpt4",
    "Meta-Llama-3-8B-Instruct",
    "Mixtral-8x7B-Instruct-v0.1",
    "Qwen1.5-72B-Chat",
    "claude-3-opus-20240229",
    "llama-2-70b-chat-hf",
    "Mistral-7B-Instruct-v0.2",
    "vicuna-13b-v1.5",
    "gpt-3.5-turbo-1106",
]
LOTO_TARGETS = [
    "meta-llama--Llama-3.1-8B-Instruct",
    "Qwen--Qwen2.5-7B-Instruct-1M",
    "google--gemma-3-4b-it",
    "gpt4",
    "Meta-Llama-3-8B-Instruct",
    "Qwen1.5-72B-Chat",
]
SHIFT_PAIRS = [
    ("Meta-Llama-3.1-8B-Instruct-Turbo", "meta-llama--Llama-3.1-8B-Instruct"),
    ("Meta-Llama-3.1-70B-Instruct-Turbo", "meta-llama--Llama-3.3-70B-Instruct"),
    ("Mistral-7B-Instruct-v0.3", "mistralai--Mistral-7B-Instruct-v0.3"),
    ("Mixtral-8x7B-Instruct-v0.1", "mistralai--Mixtral-8x7B-Instruct-v0.1"),
    ("Qwen2-72B-Instruct", "Qwen--Qwen2.5-32B-Instruct"),
]
CHAT_DATASETS = {"Alpaca", "DollyDataset", "ShareGPT"}
SIZES = (20, 50, 100, 200)
SEEDS = (0, 1, 2)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def per_target_heads(train, test, features, names, encoder_name):
    """A per-target head (recipe defaults, frozen encoder) per target, scored on ``test``'s rows."""
    from sagepred.metrics import compute_metrics
    from sagepred.predictor import LengthPredictor, PredictorConfig
    from sagepred.training.trainer import Trainer, TrainingConfig, seed_everything

    out = {}
    for t, info in enumerate(train.targets):
        if info.name not in names:
            continue
        mine = [train.records[i] for i in np.flatnonzero(train.rows_of(t))]
        rows = np.flatnonzero(test.rows_of(t))
        seed_everything(0)
        predictor = LengthPredictor.untrained(
            PredictorConfig(target_model=info.target_model, encoder=encoder_name)
        )
        Trainer(predictor, TrainingConfig(), progress=False).fit(mine)
        p = test.prompt_index[rows]
        held = [test.records[i] for i in rows]
        x, n = features.embeddings[p].numpy(), features.counts[p].numpy()
        metrics = compute_metrics(predictor.predict_from_features(x, n, calibrated=False), held)
        calibrated = compute_metrics(predictor.predict_from_features(x, n), held)
        out[info.name] = {k: metrics.get(k) for k in ("crps", "kendall_tau", "coverage_80", "pit_ks")}
        out[info.name]["calibrated"] = {k: calibrated.get(k) for k in ("crps", "kendall_tau", "coverage_80")}
    return out


def table(pooled_metrics, head_metrics, targets):
    rows = []
    for info in targets:
        name = info.name
        if name not in head_metrics or name not in pooled_metrics:
            continue
        p, h = pooled_metrics[name], head_metrics[name]
        g = p["crps_global"]
        rows.append(
            {
                "target": name,
                "source": info.source,
                "global_crps": _r(g, 1),
                "pooled_crps": _r(p["crps"], 1),
                "pooled_ratio": _r(p["crps"] / g),
                "pooled_tau": _r(p["kendall_tau"]),
                "pooled_cov80": _r(p["coverage_80"]),
                "pooled_pit_ks": _r(p["pit_ks"]),
                "head_crps": _r(h["crps"], 1),
                "head_ratio": _r(h["crps"] / g),
                "head_tau": _r(h["kendall_tau"]),
                "head_cov80": _r(h["coverage_80"]),
                "head_pit_ks": _r(h["pit_ks"]),
                "head_calibrated_ratio": _r(h["calibrated"]["crps"] / g),
                "head_calibrated_tau": _r(h["calibrated"]["kendall_tau"]),
                "head_calibrated_cov80": _r(h["calibrated"]["coverage_80"]),
            }
        )
    return rows


def coverage_by_spread(pooled, test, features, bins: int = 5):
    """Per source, held-out 80% coverage in equal-count bins of the ensemble's spread: with the map
    alone (the spread-free calibration) and as predicted (widened by spread where the source has a
    widening, then mapped)."""
    from sagepred.calibration import coverage_by_bin, sample_pits

    out = {}
    sources = np.array([t.source for t in test.targets], dtype=object)[test.target_index]
    for source in sorted(set(sources)):
        rows = np.flatnonzero(sources == source)
        part = test.select(sources == source)
        p = part.prompt_index
        targets = np.array([pooled.target_index(t.name, field=None) for t in part.targets])[part.target_index]
        raw, spread = pooled.uncalibrated(
            [part.prompts[i] for i in p], features.embeddings[p].numpy(), features.counts[p].numpy(), targets
        )
        calibration = pooled.source_calibration(targets[0])
        per_sample = np.repeat(spread, [r.num_samples for r in part.records])
        entry = {"widened": calibration.widening is not None, "rows": int(rows.size)}
        for name, dist in (
            ("map_only", calibration.spreadless_map(raw)),
            ("as_predicted", calibration.apply(raw, spread)),
        ):
            entry[name] = [_r(c) for c in coverage_by_bin(sample_pits(dist, part.records), per_sample, bins)]
        out[source] = entry
        print(
            f"  {source}: cov80 by spread quintile, map only {entry['map_only']}, as predicted {entry['as_predicted']}"
        )
    return out


def print_table(rows):
    header = f"{'target':42s} {'src':6s} {'global':>7s} | {'pooled':>7s} {'/glob':>6s} {'tau':>6s} {'cov80':>6s} {'PITKS':>6s} | {'head':>7s} {'/glob':>6s} {'tau':>6s} {'cov80':>6s}"
    print(header)
    for r in rows:
        print(
            f"{r['target'][:42]:42s} {r['source'][:6]:6s} {r['global_crps']:7.1f} | {r['pooled_crps']:7.1f} "
            f"{r['pooled_ratio']:6.3f} {r['pooled_tau'] or 0:6.3f} {r['pooled_cov80']:6.3f} {r['pooled_pit_ks']:6.3f} | "
            f"{r['head_crps']:7.1f} {r['head_ratio']:6.3f} {r['head_tau'] or 0:6.3f} {r['head_cov80']:6.3f}"
        )
    for source in ("castillo", "alpaca_eval"):
        mine = [r for r in rows if r["source"] == source]
        if mine:
            print(
                f"  {source}: per-target with its static calibration: CRPS/global "
                f"{np.mean([r['head_calibrated_ratio'] for r in mine]):.3f}, tau "
                f"{np.mean([r['head_calibrated_tau'] or 0 for r in mine]):.3f}"
            )
            print(
                f"  {source}: mean CRPS/global pooled {np.mean([r['pooled_ratio'] for r in mine]):.3f} "
                f"(worst {max(r['pooled_ratio'] for r in mine):.3f}) vs per-target {np.mean([r['head_ratio'] for r in mine]):.3f}; "
                f"tau pooled {np.mean([r['pooled_tau'] or 0 for r in mine]):.3f} vs {np.mean([r['head_tau'] or 0 for r in mine]):.3f}; "
                f"cov80 pooled {np.mean([r['pooled_cov80'] for r in mine]):.3f}"
            )


def probes(predictor, targets):
    from length_probes import PROBE_SETS  # benchmarks/length_probes.py, beside this script

    from sagepred.probes import read_probes, score_probes

    out = {}
    for name, path in PROBE_SETS.items():
        items = read_probes(path)
        for target in targets:
            median = predictor.predict([p.prompt for p in items], target).quantile(0.5).ravel()
            scores = score_probes(items, median)
            out.setdefault(name, {})[target] = {
                topic: {k: _round_tree(v) for k, v in row.items()} for topic, row in scores["topics"].items()
            }
            summary = scores["summary"]
            print(
                f"probes ({name}) {target}: spearman min {summary['spearman_min']:.3f}, "
                f"ratio min {summary['ratio_min']:.1f}"
            )
    return out


def _round_tree(value):
    if isinstance(value, dict):
        return {k: _round_tree(v) for k, v in value.items()}
    return _r(value, 3 if abs(value) < 10 else 1)


def instruction_audit(pooled, test, features):
    """On the held-out prompts where the parser finds a length request: the mean CRPS of their rows
    with and without the instruction adjustment, per unit, and the share of prompts it helped."""
    from sagepred.length_instructions import parse_length_request
    from sagepred.metrics import score_samples
    from sagepred.training.pooled import predict_rows

    requests = [parse_length_request(p) for p in test.prompts]
    fired = np.array([r.kind != "none" for r in requests])[test.prompt_index]
    rows = test.select(fired)
    per_row = {}
    for adjust in (False, True):
        scores = score_samples(predict_rows(pooled, rows, features, adjust=adjust), rows.records)
        n = len(rows.records)
        per_row[adjust] = np.bincount(scores.samples.rows, weights=scores.crps, minlength=n) / np.maximum(
            np.bincount(scores.samples.rows, minlength=n), 1
        )
    units = np.array([requests[p].unit for p in rows.prompt_index])
    out = {}
    for unit in [*sorted(set(units.tolist())), "all"]:
        mask = units == unit if unit != "all" else np.ones(len(units), dtype=bool)
        prompts = sorted(set(rows.prompt_index[mask].tolist()))
        helped = [
            per_row[True][rows.prompt_index == p].mean() < per_row[False][rows.prompt_index == p].mean()
            for p in prompts
        ]
        out[unit] = {
            "prompts": len(prompts),
            "rows": int(mask.sum()),
            "crps_head": _r(per_row[False][mask].mean(), 1),
            "crps_adjusted": _r(per_row[True][mask].mean(), 1),
            "prompts_helped": _r(np.mean(helped)),
        }
    print(f"instruction adjustment on held-out prompts with a request ({out['all']['prompts']} prompts):")
    print(f"  {'unit':10s} {'prompts':>7s} {'rows':>6s} {'CRPS head':>10s} {'adjusted':>9s} {'helped':>7s}")
    for unit, v in out.items():
        print(
            f"  {unit:10s} {v['prompts']:7d} {v['rows']:6d} {v['crps_head']:10.1f} {v['crps_adjusted']:9.1f} "
            f"{v['prompts_helped']:7.2f}"
        )
    return out


def runaway(pooled, train, test, features, cap: float = 14_999.0):
    """Per CASTILLO target: the held-out samples that ran into the generation cap, their share of the
    CRPS, the CRPS / global without the prompts that hold them, and the predicted vs observed share of
    samples past 10,000 tokens."""
    from sagepred.metrics import score_samples
    from sagepred.training.pooled import global_histogram, predict_rows

    out = {}
    for t, info in enumerate(test.targets):
        if info.source != "castillo" or not test.rows_of(t).any():
            continue
        rows = test.select(test.rows_of(t))
        dist = predict_rows(pooled, rows, features)
        own = [train.records[i] for i in np.flatnonzero(train.rows_of(t))]
        model = score_samples(dist, rows.records)
        baseline = score_samples(global_histogram(own, len(rows.records)), rows.records)
        capped = model.samples.observed >= cap
        holds = np.array([np.any(np.asarray(r.lengths) >= cap) for r in rows.records])
        keep = ~holds[model.samples.rows]
        out[info.name] = {
            "capped_samples": int(capped.sum()),
            "capped_share_of_samples": _r(capped.mean(), 4),
            "capped_share_of_crps": _r(model.crps[capped].sum() / model.crps.sum()),
            "crps_ratio": _r(model.crps.mean() / baseline.crps.mean()),
            "crps_ratio_without_their_prompts": _r(model.crps[keep].mean() / baseline.crps[keep].mean()),
            "predicted_share_past_10k": _r(float(np.mean(1.0 - dist.cdf(np.full((len(dist), 1), 1e4)))), 4),
            "observed_share_past_10k": _r(float(np.mean(model.samples.observed > 1e4)), 4),
        }
    print("run-away samples at the cap (CASTILLO, held-out prompts):")
    for name, v in out.items():
        print(
            f"  {name:18s} capped {v['capped_samples']:3d} ({v['capped_share_of_samples']:.2%}), "
            f"{v['capped_share_of_crps']:.0%} of CRPS; CRPS/global {v['crps_ratio']:.3f}, "
            f"{v['crps_ratio_without_their_prompts']:.3f} without their prompts; past 10k predicted "
            f"{v['predicted_share_past_10k']:.4f}, observed {v['observed_share_past_10k']:.4f}"
        )
    return out


def learning_curve(rows, features, train_mask, test_mask, config, encoder_name, quick):
    from sagepred.metrics import compute_metrics
    from sagepred.training.pooled import FewShotSettings, fit_new_target, global_histogram, train_pooled

    held = [t for t, info in enumerate(rows.targets) if info.target_model in LOTO_TARGETS]
    in_backbone = ~np.isin(rows.target_index, held)
    backbone_rows = rows.select(train_mask & in_backbone)
    keep_targets = sorted(set(backbone_rows.target_index.tolist()))
    remap = {t: i for i, t in enumerate(keep_targets)}
    backbone_rows.targets = [rows.targets[t] for t in keep_targets]
    backbone_rows.target_index = np.array([remap[t] for t in backbone_rows.target_index])
    tic = time.perf_counter()
    backbone = train_pooled(backbone_rows, features, config, encoder_name).predictor
    print(
        f"learning curve: backbone without {len(held)} targets trained in {time.perf_counter() - tic:.0f} s"
    )
    out = {}
    for t in held:
        info = rows.targets[t]
        train_idx = np.flatnonzero(train_mask & (rows.target_index == t))
        test_idx = np.flatnonzero(test_mask & (rows.target_index == t))
        test_records = [rows.records[i] for i in test_idx]
        tp = rows.prompt_index[test_idx]
        curve = {}
        for n in SIZES[:2] if quick else SIZES:
            runs = []
            for seed in SEEDS[:1] if quick else SEEDS:
                pick = np.random.default_rng(seed).choice(
                    train_idx, size=min(n, len(train_idx)), replace=False
                )
                few = [rows.records[i] for i in pick]
                p = rows.prompt_index[pick]
                grown = fit_new_target(
                    backbone,
                    info,
                    few,
                    features.embeddings[p].numpy(),
                    features.counts[p].numpy(),
                    FewShotSettings(seed=seed),
                )
                dist = grown.predict_from_features(
                    [rows.prompts[i] for i in tp],
                    features.embeddings[tp].numpy(),
                    features.counts[tp].numpy(),
                    np.full(len(tp), len(grown.target_names) - 1),
                )
                m = compute_metrics(dist, test_records)
                g = compute_metrics(global_histogram(few, len(test_records)), test_records)
                runs.append(
                    (m["crps"], m["kendall_tau"] or 0.0, m["coverage_80"], g["crps"], g["coverage_80"])
                )
            a = np.array(runs)
            curve[n] = {
                "crps": _r(a[:, 0].mean(), 1),
                "crps_ratio_vs_few_record_global": _r((a[:, 0] / a[:, 3]).mean()),
                "kendall_tau": _r(a[:, 1].mean()),
                "coverage_80": _r(a[:, 2].mean()),
                "global_coverage_80": _r(a[:, 4].mean()),
                "seeds": len(runs),
            }
        out[info.name] = curve
        print(
            f"  {info.name}: "
            + "; ".join(
                f"{n}: CRPS/glob {c['crps_ratio_vs_few_record_global']}, tau {c['kendall_tau']}, cov80 {c['coverage_80']}"
                for n, c in curve.items()
            )
        )
    return out


def shift(features_fn, config, encoder_name, data_dir):
    from sagepred.calibration import replay_online
    from sagepred.metrics import compute_metrics
    from sagepred.training.pooled import build_rows, global_histogram, load_pooled_records, train_pooled

    groups = load_pooled_records(data_dir, castillo=False, alpaca_eval=True)
    rows = build_rows(groups)
    feats = features_fn(rows.prompts)
    tic = time.perf_counter()
    model = train_pooled(rows, feats, config, encoder_name).predictor
    print(f"shift: AlpacaEval-only backbone trained in {time.perf_counter() - tic:.0f} s")
    from sagepred.importers.castillo import load_castillo

    out = {}

    for alpaca_name, castillo_name in SHIFT_PAIRS:
        records = [r for r in load_castillo(data_dir, castillo_name) if r.dataset in CHAT_DATASETS]
        t = model.target_names.index(next(i.name for i in rows.targets if i.target_model == alpaca_name))
        texts = [r.prompt_text for r in records]
        f = features_fn(texts)
        dist = model.predict_from_features(
            texts, f.embeddings.numpy(), f.counts.numpy(), np.full(len(records), t)
        )
        m = compute_metrics(dist, records)
        own = [rows.records[i] for i in np.flatnonzero(rows.rows_of(t))]
        g = compute_metrics(global_histogram(own, len(records)), records)
        order = np.random.default_rng(0).permutation(len(records))
        stream = [records[i] for i in order]
        replay = replay_online(dist[order], stream, block=250)
        out[f"{alpaca_name} -> {castillo_name}"] = {
            "prompts": len(records),
            "crps_ratio": _r(m["crps"] / g["crps"]),
            "kendall_tau": _r(m["kendall_tau"]),
            "coverage_80": _r(m["coverage_80"]),
            "global_coverage_80": _r(g["coverage_80"]),
            "online_coverage_80": _r(compute_metrics(replay["adapted"], stream)["coverage_80"]),
            "online_requests_until_within_0.05": replay["requests_until_within_0.05"],
            "online_blocks": replay["blocks"],
        }
        print(f"  shift {alpaca_name} -> {castillo_name}: {out[f'{alpaca_name} -> {castillo_name}']}")
    return out


def ablation(train, test, features, config, encoder_name):
    """Whether the target features help beside the learned target embedding."""
    from sagepred.training.pooled import evaluate_targets, predict_rows, train_pooled

    out = {}
    for label, changes in (
        ("embedding+features", {}),
        ("embedding only", {"use_target_features": False}),
    ):
        model = train_pooled(train, features, replace(config, **changes), encoder_name).predictor
        per_target = evaluate_targets(predict_rows(model, test, features), test, train)
        out[label] = {}
        for source in ("castillo", "alpaca_eval"):
            v = [
                m
                for n, m in per_target.items()
                if next(t.source for t in test.targets if t.name == n) == source
            ]
            out[label][source] = {
                "crps_ratio_mean": _r(np.mean([m["crps_ratio"] for m in v])),
                "kendall_tau_mean": _r(np.mean([m["kendall_tau"] or 0 for m in v])),
            }
        print(f"ablation {label}: {out[label]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="pooled checkpoint from `sagepred train --model all` (seed 0)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and seeds (a smoke run)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["table", "instructions", "runaway", "curve", "shift", "probes", "ablation"],
    )
    parser.add_argument(
        "--encoder", help="encoder spec (default: the checkpoint's, else sagepred.encoders.POOLED_ENCODER)"
    )
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    from sagepred.encoders import POOLED_ENCODER, load_encoder
    from sagepred.paths import default_data_dir
    from sagepred.pooled import PooledPredictor
    from sagepred.training.pooled import (
        PooledTrainingConfig,
        build_rows,
        evaluate_targets,
        load_pooled_records,
        predict_rows,
        prompt_features,
        prompt_split,
        train_pooled,
    )

    data_dir = default_data_dir()
    config = PooledTrainingConfig(seed=0)
    # a checkpoint embeds with its own encoder (a fine-tuned one from its encoder/), unless --encoder says
    pooled = PooledPredictor.from_pretrained(args.checkpoint) if args.checkpoint else None
    if args.encoder:
        spec, encoder = args.encoder, load_encoder(args.encoder)
        if pooled is not None:
            pooled._encoder = encoder
    elif pooled is not None:
        spec, encoder = pooled.config.encoder, pooled.encoder
    else:
        spec = POOLED_ENCODER
        encoder = load_encoder(spec)
    groups = load_pooled_records(data_dir)
    rows = build_rows(groups)
    features = prompt_features(encoder, rows.prompts)
    held = prompt_split(rows.prompts, config.eval_fraction, config.seed)[rows.prompt_index]
    train, test = rows.select(~held), rows.select(held)
    result: dict = {
        "split": f"by prompt, {config.eval_fraction:.0%} held out, seed {config.seed}",
        "prompts": len(rows.prompts),
        "rows": len(rows.records),
    }
    if pooled is None:
        pooled = train_pooled(train, features, config, spec).predictor
        pooled._encoder = encoder
    result["instructions"] = vars(pooled.config.instructions)

    if "table" not in args.skip:
        names = {t.name for t in rows.targets if t.source == "castillo" or t.target_model in ALPACA_SAMPLE}
        pooled_metrics = evaluate_targets(predict_rows(pooled, test, features), test, train)
        no_instr = evaluate_targets(predict_rows(pooled, test, features, adjust=False), test, train)
        heads = per_target_heads(train, test, features, names, spec)
        rows_out = table(pooled_metrics, heads, [t for t in rows.targets if t.name in names])
        print_table(rows_out)
        result["table"] = rows_out
        result["all_targets"] = {
            source: {
                "targets": len(
                    v := [
                        m
                        for n, m in pooled_metrics.items()
                        if next(t.source for t in rows.targets if t.name == n) == source
                    ]
                ),
                "crps_ratio_mean": _r(np.mean([m["crps_ratio"] for m in v])),
                "losing_to_global": int(sum(m["crps_ratio"] >= 1 for m in v)),
                "kendall_tau_mean": _r(np.mean([m["kendall_tau"] or 0 for m in v])),
                "coverage_80_mean": _r(np.mean([m["coverage_80"] for m in v])),
                "crps_ratio_mean_without_instruction_adjustment": _r(
                    np.mean([no_instr[n]["crps_ratio"] for n, m in pooled_metrics.items() if m in v])
                ),
            }
            for source in ("castillo", "alpaca_eval")
        }
        print(json.dumps(result["all_targets"], indent=1))
        result["coverage_by_spread"] = coverage_by_spread(pooled, test, features)
    if "instructions" not in args.skip:
        result["instruction_audit"] = instruction_audit(pooled, test, features)
    if "runaway" not in args.skip:
        result["runaway"] = runaway(pooled, train, test, features)
    if "probes" not in args.skip:
        result["probes"] = probes(pooled, ["gpt4", "llama-3.1-8b", "qwen2.5-7b-1m"])
    if "curve" not in args.skip:
        result["learning_curve"] = learning_curve(rows, features, ~held, held, config, spec, args.quick)
    if "ablation" not in args.skip:
        result["ablation"] = ablation(train, test, features, config, spec)
    if "shift" not in args.skip:
        result["shift"] = shift(lambda texts: prompt_features(encoder, texts), config, spec, data_dir)

    from sagepred.io import atomic_write_text

    if args.skip and Path(args.output).is_file():  # a partial run keeps the other parts' results
        result = {**json.loads(Path(args.output).read_text(encoding="utf-8")), **result}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
