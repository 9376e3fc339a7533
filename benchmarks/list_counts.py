"""Following a list's count: what ``list_count_weight`` does to the zoo's predictions of real lists.

For every zoo checkpoint, the prompts of its own data (CASTILLO or AlpacaEval, ``../shared/data`` or
``$SAGEPRED_DATA_DIR``) read as a list of items (:func:`~sagepred.length_instructions.parse_length_request`,
unit ``item``), in two groups: those the checkpoint never trained on (its recorded training hashes) and
the pooled model's validation prompts (used for early stopping only, never for a head's weights). Each
is predicted with the checkpoint's ``list_count_weight`` as shipped and with it at 0 (the list's size
moves the prediction by ``list_weight`` alone). Prints, per group and data source, the mean CRPS of
both, their ratio with a 95% bootstrap interval over prompts (a prompt's pairs across checkpoints move
together), and the ratio by item count; ``--json`` writes every row.

    .venv/bin/python benchmarks/list_counts.py
    .venv/bin/python benchmarks/list_counts.py --json benchmarks/results/list_counts.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zoo_instruction_effect import per_prompt_crps

COUNT_BANDS = ((0, 2.5), (2.5, 4.5), (4.5, 7.5), (7.5, 1e9))
BOOTSTRAP = 2000


def checkpoint_rows(entry: dict) -> list[dict]:
    """One zoo checkpoint's list prompts: group, source, count and CRPS with and without the count move."""
    from sagepred.contamination import load_hashes, overlap_mask
    from sagepred.importers import load_records
    from sagepred.length_instructions import parse_length_request
    from sagepred.loading import checkpoint_folder, load_predictor, parse_spec
    from sagepred.records import prompt_split, prompt_text

    source = "castillo" if "castillo" in str(entry.get("data")) else "alpaca_eval"
    records = load_records(f"{source}:{entry['target_model']}")
    lists = [(r, prompt_text(r.prompt)) for r in records]
    lists = [(r, p, parse_length_request(p)) for r, p in lists]
    lists = [(r, p, q.count) for r, p, q in lists if q.unit == "item" and q.count]
    if not lists:
        return []
    chosen, prompts, counts = (list(column) for column in zip(*lists, strict=True))
    hashes = load_hashes(checkpoint_folder(parse_spec(entry["name"])))
    trained = overlap_mask(prompts, hashes) if hashes is not None else np.zeros(len(prompts), dtype=bool)
    validation = prompt_split(prompts, 0.1, 0, salt="validation") & trained
    keep = np.flatnonzero(~trained | validation)
    if keep.size == 0:
        return []
    chosen, prompts = [chosen[i] for i in keep], [prompts[i] for i in keep]
    predictor = load_predictor(entry["name"])
    shipped = predictor.config.instructions
    embeddings, token_counts = predictor.features(prompts)
    with_count = per_prompt_crps(
        predictor.predict_from_features(embeddings, token_counts, prompts=prompts), chosen
    )
    predictor.config.instructions = replace(shipped, list_count_weight=0.0)
    without = per_prompt_crps(
        predictor.predict_from_features(embeddings, token_counts, prompts=prompts), chosen
    )
    predictor.config.instructions = shipped
    return [
        {
            "checkpoint": entry["name"],
            "source": source,
            "group": "never_seen" if not trained[i] else "validation",
            "prompt": prompts[k],
            "count": counts[i],
            "crps_without": float(without[k]),
            "crps_with": float(with_count[k]),
        }
        for k, i in enumerate(keep)
    ]


def ratio_with_interval(rows: list[dict], seed: int = 0) -> dict:
    """Mean CRPS with / without the count move, and a 95% bootstrap interval resampling prompts."""
    by_prompt: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_prompt.setdefault(row["prompt"], []).append(i)
    groups = list(by_prompt.values())
    with_count = np.array([r["crps_with"] for r in rows])
    without = np.array([r["crps_without"] for r in rows])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        picked = np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        draws.append(with_count[picked].mean() / without[picked].mean())
    return {
        "pairs": len(rows),
        "prompts": len(groups),
        "crps_without": round(float(without.mean()), 2),
        "crps_with": round(float(with_count.mean()), 2),
        "ratio": round(float(with_count.mean() / without.mean()), 4),
        "ci95": [round(float(q), 4) for q in np.percentile(draws, [2.5, 97.5])],
        "helped": round(float(np.mean(with_count < without)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="*", help="zoo checkpoints (default: every one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    import torch

    from sagepred.io import atomic_write_text
    from sagepred.paths import default_data_dir
    from sagepred.progress import track
    from sagepred.zoo import list_entries

    torch.set_num_threads(1)
    if not (default_data_dir() / "castillo" / "castillo_samples.csv").is_file():
        print(f"{default_data_dir()}: no CASTILLO data (run `sagepred data fetch`)", file=sys.stderr)
        return 2
    entries = [e for e in list_entries() if not args.names or e["name"] in args.names]
    rows = [row for entry in track(entries, "zoo checkpoints") for row in checkpoint_rows(entry)]
    result: dict = {"groups": {}, "by_count": {}}
    print("list prompts: CRPS with the count move / without (list_count_weight 0), 95% CI over prompts")
    print(
        f"  {'group':11s} {'source':12s} {'pairs':>6s} {'prompts':>8s} {'without':>8s} {'with':>8s} {'ratio':>7s}  ci95"
    )
    for group in ("never_seen", "validation"):
        for source in ("castillo", "alpaca_eval", "all"):
            chosen = [r for r in rows if r["group"] == group and source in (r["source"], "all")]
            if not chosen:
                continue
            s = ratio_with_interval(chosen)
            result["groups"][f"{group}/{source}"] = s
            print(
                f"  {group:11s} {source:12s} {s['pairs']:6d} {s['prompts']:8d} {s['crps_without']:8.1f} "
                f"{s['crps_with']:8.1f} {s['ratio']:7.3f}  [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"
            )
    print("by item count (never seen and validation together):")
    for low, high in COUNT_BANDS:
        chosen = [r for r in rows if low <= r["count"] < high]
        if chosen:
            s = ratio_with_interval(chosen)
            result["by_count"][f"{low:g}-{high:g}"] = s
            print(f"  count {low:g}-{high:g}: {s['prompts']} prompts, ratio {s['ratio']:.3f} {s['ci95']}")
    if args.json:
        atomic_write_text(args.json, json.dumps({**result, "rows": rows}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
