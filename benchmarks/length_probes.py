"""Do the zoo's checkpoints read length instructions? The probe sets through each predictor.

For every predictor (zoo name, checkpoint folder, ``DIR@TARGET`` of a pooled checkpoint) and probe
set (``tests/data/length_probes.jsonl``: one wording per instruction; ``length_probes_varied.jsonl``:
other topics, each worded its own way; ``length_probes_requirements.jsonl``: the length stated as a
requirement after the task, "There should be 3 paragraphs.", "… , 2,000 words.", "(yes/no)";
``length_probes_multilingual.jsonl``: one topic in each of Spanish, Portuguese, French, Italian, German,
Russian, Chinese and Japanese; ``length_probes_lists.jsonl``: eight topics, a list of 3 to 100 items
each; ``length_probes_counts.jsonl``: lines, characters and "N items of M sentences" at four
counts each; ``length_probes_tokens.jsonl``: 50 to 1,000 tokens, four topics;
``length_probes_templates.jsonl``: 30 to 1,000 words stated in a template's field, JSON key, XML tag or
format section, four topics), per topic: Spearman ρ between instructed length and predicted median, the longest / shortest
instruction's median ratio, and the elasticity (slope of log median on log instructed length). Also, per set, the share of
probes the instruction parser reads at their instructed length (within 1%). Prints a table; ``--json``
writes every topic's medians. Nothing here is fitted: the probes are never trained on.

    .venv/bin/python benchmarks/length_probes.py
    .venv/bin/python benchmarks/length_probes.py --predictors gpt-4 outputs/pooled@gpt4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE_SETS = {
    "fixed": ROOT / "tests" / "data" / "length_probes.jsonl",
    "varied": ROOT / "tests" / "data" / "length_probes_varied.jsonl",
    "requirements": ROOT / "tests" / "data" / "length_probes_requirements.jsonl",
    "multilingual": ROOT / "tests" / "data" / "length_probes_multilingual.jsonl",
    "lists": ROOT / "tests" / "data" / "length_probes_lists.jsonl",
    "counts": ROOT / "tests" / "data" / "length_probes_counts.jsonl",
    "tokens": ROOT / "tests" / "data" / "length_probes_tokens.jsonl",
    "templates": ROOT / "tests" / "data" / "length_probes_templates.jsonl",
}
DEFAULT_PREDICTORS = [
    "gpt-4",
    "llama-3.1-8b",
    "qwen2.5-7b-1m",
    "mistral-7b-v0.3",
    "gemma-3-4b",
    "phi-4-mini",
    "llama-2-7b",
    "mixtral-8x7b-alpacaeval",
]


def parsed_share(probes) -> float:
    """Share of ``probes`` the parser reads as their instructed length (within 1%)."""
    from sagepred.length_instructions import parse_length_request

    hits = 0
    for probe in probes:
        words = parse_length_request(probe.prompt).requested_words
        hits += words is not None and abs(words - probe.instructed_words) <= 0.01 * probe.instructed_words
    return hits / len(probes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--predictors", nargs="+", default=DEFAULT_PREDICTORS, help="zoo names, checkpoints or DIR@TARGET"
    )
    parser.add_argument("--sets", nargs="+", choices=list(PROBE_SETS), default=list(PROBE_SETS))
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    import torch

    from sagepred.errors import SagepredError
    from sagepred.io import atomic_write_text
    from sagepred.loading import MODEL_KINDS, load_predictor
    from sagepred.probes import read_probes, score_probes

    torch.set_num_threads(1)
    sets = {name: read_probes(PROBE_SETS[name]) for name in args.sets}
    result = {
        "parsed_share": {name: round(parsed_share(p), 3) for name, p in sets.items()},
        "predictors": {},
    }
    print(
        "parser reads the instructed length:",
        ", ".join(f"{n} {s:.0%}" for n, s in result["parsed_share"].items()),
    )
    print(
        f"{'predictor':28s} {'set':12s} {'rho min':>8s} {'rho mean':>9s} {'ratio min':>10s} {'ratio median':>13s} "
        f"{'elasticity':>11s}"
    )
    for spec in args.predictors:
        try:
            predictor = load_predictor(spec, accept=MODEL_KINDS)
        except SagepredError as error:
            print(f"{spec}: {error}", file=sys.stderr)
            return 2
        for name, probes in sets.items():
            median = predictor.predict([p.prompt for p in probes]).quantile(0.5).ravel()
            scores = score_probes(probes, median)
            result["predictors"].setdefault(spec, {})[name] = scores
            s = scores["summary"]
            print(
                f"{spec:28s} {name:12s} {s['spearman_min']:8.3f} {s['spearman_mean']:9.3f} "
                f"{s['ratio_min']:10.0f} {s['ratio_median']:13.0f} "
                f"{s['elasticity_min']:5.2f}-{s['elasticity_max']:.2f}"
            )
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
