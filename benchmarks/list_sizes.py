"""Fit and score the list sizes of :mod:`sagepred.list_sizes` on the real data.

Every English prompt of CASTILLO and AlpacaEval (``../shared/data`` or ``$SAGEPRED_DATA_DIR``) that
:func:`~sagepred.length_instructions.parse_length_request` reads as a list of ``n`` items, with the
median answer over the data's models in words (as ``benchmarks/instruction_audit.py`` counts it). On
the prompts the pooled model trains on (its held-out 20%, seed 0, left out) it fits, by least squares on
``log(words)``, one exponent on ``n / 5`` and one level per kind of item (and one for all kinds, the
level of a list whose kind is not read); then, on the held-out prompts, it compares three sizings:
the flat 23 words an item (the parser's before), ``n ** exponent`` without kinds, and with them.
Prints the fit beside the shipped constants and the held-out table (log error, correlation); ``--json``
writes both.

    .venv/bin/python benchmarks/list_sizes.py
    .venv/bin/python benchmarks/list_sizes.py --json benchmarks/results/list_sizes.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from instruction_audit import load_prompts

FLAT_WORDS_PER_ITEM = 23.0
"""The parser's size of a list item until 2026-12-07: one size for every kind."""
MIN_PROMPTS_PER_KIND = 8


@dataclass(frozen=True)
class ListRequest:
    """One list request of the data: its item count and kind, the observed words, whether held out."""

    prompt: str
    count: float
    kind: str
    observed_words: float
    held_out: bool


def list_requests(data_dir: Path) -> list[ListRequest]:
    """The data's English list requests (unit ``item``) with their observed median answer in words."""
    from sagepred.length_instructions import parse_length_request
    from sagepred.records import prompt_split

    prompts, observed = load_prompts(data_dir)
    keys = [k for k in prompts if k in observed]
    held = prompt_split([prompts[k] for k in keys], 0.2, 0)
    out = []
    for key, is_held in zip(keys, held, strict=True):
        request = parse_length_request(prompts[key])
        if request.unit == "item" and request.language == "en" and observed[key] > 0:
            out.append(
                ListRequest(prompts[key], request.count, request.item_kind, observed[key], bool(is_held))
            )
    return out


def fit_sizes(requests: list[ListRequest]) -> tuple[float, dict[str, float]]:
    """``(exponent, words of five items by kind)`` by least squares on log words; kinds with fewer than
    :data:`MIN_PROMPTS_PER_KIND` prompts take the all-kinds level; ``""`` is the all-kinds level."""
    kinds = sorted(
        {r.kind for r in requests if sum(q.kind == r.kind for q in requests) >= MIN_PROMPTS_PER_KIND}
    )
    x = np.log([r.count / 5.0 for r in requests])
    y = np.log([r.observed_words for r in requests])
    design = np.column_stack([x, *[[float(r.kind == k) for r in requests] for k in kinds]])
    other = np.array([r.kind not in kinds for r in requests], dtype=float)
    if other.any():
        design = np.column_stack([design, other])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    exponent = float(coef[0])
    levels = {k: float(np.exp(c)) for k, c in zip(kinds, coef[1:], strict=False)}
    levels[""] = float(np.exp(np.mean(y - exponent * x)))
    return exponent, levels


def _score(predicted: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    error = np.log(observed) - np.log(predicted)
    return {
        "rms_log_error": round(float(np.sqrt(np.mean(error**2))), 3),
        "mean_log_error": round(float(error.mean()), 3),
        "sd_log_error": round(float(error.std()), 3),
        "r_log": round(float(np.corrcoef(np.log(predicted), np.log(observed))[0, 1]), 3),
    }


def held_out_table(requests: list[ListRequest], exponent: float, levels: dict[str, float]) -> dict:
    """The three sizings scored on the held-out requests (fitted on the others)."""
    train = [r for r in requests if not r.held_out]
    test = [r for r in requests if r.held_out]
    observed = np.array([r.observed_words for r in test])
    counts = np.array([r.count for r in test])
    plain_exponent, plain = fit_sizes(
        [ListRequest(r.prompt, r.count, "", r.observed_words, False) for r in train]
    )
    return {
        "held_out_prompts": len(test),
        "flat 23 words an item": _score(FLAT_WORDS_PER_ITEM * counts, observed),
        "count ** exponent, no kinds": _score(plain[""] * (counts / 5.0) ** plain_exponent, observed),
        "count ** exponent, by kind": _score(
            np.array([levels.get(r.kind, levels[""]) for r in test]) * (counts / 5.0) ** exponent, observed
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the fit and the held-out table here")
    args = parser.parse_args(argv)

    from sagepred.io import atomic_write_text
    from sagepred.list_sizes import LIST_EXPONENT, WORDS_OF_FIVE
    from sagepred.paths import default_data_dir

    requests = list_requests(default_data_dir())
    exponent, levels = fit_sizes([r for r in requests if not r.held_out])
    print(f"{len(requests)} list requests, {sum(not r.held_out for r in requests)} fitted on")
    print(f"exponent on n / 5: fitted {exponent:.3f}, shipped {LIST_EXPONENT}")
    print(f"{'kind':10s} {'prompts':>7s} {'fitted':>7s} {'shipped':>8s}  (words of five items)")
    for kind in sorted(levels, key=lambda k: (k == "", k)):
        prompts = sum(r.kind == kind and not r.held_out for r in requests) if kind else len(requests)
        print(
            f"{kind or '(any)':10s} {prompts:7d} {levels[kind]:7.0f} {WORDS_OF_FIVE.get(kind, float('nan')):8.0f}"
        )
    table = held_out_table(requests, exponent, levels)
    print(f"held out ({table['held_out_prompts']} prompts): log(observed / sized)")
    print(f"  {'sizing':30s} {'rms':>6s} {'mean':>6s} {'sd':>6s} {'r':>6s}")
    for name, score in table.items():
        if isinstance(score, dict):
            print(
                f"  {name:30s} {score['rms_log_error']:6.3f} {score['mean_log_error']:6.3f} "
                f"{score['sd_log_error']:6.3f} {score['r_log']:6.3f}"
            )
    if args.json:
        result = {"exponent": exponent, "words_of_five": levels, "held_out": table}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
