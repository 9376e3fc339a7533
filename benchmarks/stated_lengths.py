"""Does the zoo predict the length a prompt states? Blind sets through each predictor.

For every predictor (zoo name, checkpoint folder, ``DIR@TARGET``) and blind set of ``tests/data`` whose
rows carry ``expected_words`` (prompts written by helpers who never saw the parser, each with the length
it asks for), the predicted median against the asked length in tokens (words × the target tokenizer's
tokens per word in the row's language; a closed answer of two words or fewer as ``SHORT_ANSWER_TOKENS``): the median of
|log(predicted / asked)| and the share within 1.5× and 2×. Rows without a length, and the transforms of
a pasted text, are left out. Prints a table; ``--json`` writes it. Nothing here is fitted.

    .venv/bin/python benchmarks/stated_lengths.py
    .venv/bin/python benchmarks/stated_lengths.py --sets length_mixed_traffic_blind.jsonl --json out.json
    .venv/bin/python benchmarks/stated_lengths.py --sets length_plans_blind_2.jsonl --category plan
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
DEFAULT_SETS = [
    "length_mixed_traffic_blind.jsonl",
    "length_templates_blind_2.jsonl",
    "length_closed_blind_2.jsonl",
]
DEFAULT_PREDICTORS = ["gpt-4", "llama-3.1-8b"]


def asked_tokens(rows: list[dict], tokenizer: str | None) -> np.ndarray:
    """Each row's asked length in the target's tokens, in the row's language (words, or characters in
    Chinese and Japanese, at that language's tokens per word)."""
    from sagepred.length_instructions import SHORT_ANSWER_TOKENS, LengthRequest

    return np.array(
        [
            SHORT_ANSWER_TOKENS
            if r["expected_words"] <= 2
            else LengthRequest(
                "absolute", r["expected_words"], language=r.get("language", "en")
            ).requested_tokens(tokenizer)
            for r in rows
        ]
    )


def score(predicted: np.ndarray, asked: np.ndarray) -> dict[str, float]:
    """Median |log(predicted / asked)| and the shares within 1.5× and 2×."""
    error = np.abs(np.log(predicted / asked))
    return {
        "median_abs_log_error": float(np.median(error)),
        "within_1_5x": float(np.mean(error < math.log(1.5))),
        "within_2x": float(np.mean(error < math.log(2.0))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--predictors", nargs="+", default=DEFAULT_PREDICTORS, help="zoo names, checkpoints or DIR@TARGET"
    )
    parser.add_argument(
        "--sets", nargs="+", default=DEFAULT_SETS, help="blind sets in tests/data with expected_words"
    )
    parser.add_argument(
        "--category",
        help="only the rows of this category (the quiz and plan sets: 'generate', 'plan', 'lookalike')",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    from sagepred.loading import load_predictor

    sets = {}
    for name in args.sets:
        path = DATA / name
        if not path.is_file():
            print(f"error: {path}: no such blind set", file=sys.stderr)
            return 2
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        sets[name] = [
            r
            for r in rows
            if r.get("expected_words") is not None
            and not r.get("source")
            and (args.category is None or r.get("category") == args.category)
        ]
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(
        f"{'predictor':<26} {'set':<40} {'n':>4} {'median |log err|':>17} {'within 1.5x':>12} {'within 2x':>10}"
    )
    for predictor_name in args.predictors:
        predictor = load_predictor(predictor_name, zoo_source="packaged")
        tokenizer = getattr(getattr(predictor, "config", None), "tokenizer", None)
        results[predictor_name] = {}
        for set_name, rows in sets.items():
            median = predictor.predict([r["prompt"] for r in rows]).quantile(0.5).ravel()
            scores = score(np.maximum(median, 1.0), asked_tokens(rows, tokenizer))
            results[predictor_name][set_name] = {"n": len(rows), **scores}
            print(
                f"{predictor_name:<26} {set_name:<40} {len(rows):>4} {scores['median_abs_log_error']:>17.3f} "
                f"{scores['within_1_5x']:>12.2f} {scores['within_2x']:>10.2f}"
            )
    if args.json is not None:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        tmp.replace(args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
