"""Audit the length-instruction parser on every prompt of the data against what the models wrote.

Reads the 7,570 prompts of CASTILLO and AlpacaEval (``../shared/data`` or ``$SAGEPRED_DATA_DIR``) and,
for each, the median observed answer in words over the data's models (AlpacaEval: its word counts;
CASTILLO: each model's median tokens / 1.294, the llama3 tokens per word). Prints:

* per unit, the requests found and the median ratio of observed to asked words (how far models
  follow what is asked: "write a paragraph" is answered with 2–3 of the parser's 47-word paragraphs);
* over the absolute requests (short answers aside), the correlation of log asked and log observed
  length: a misread request is far off the line, so it falls as false positives grow;
* with ``--against REV``, every prompt whose reading differs from the parser at git revision ``REV``
  (every module of the parser as of then, :data:`GRAMMAR_MODULES`), with both readings and the
  observed length;
* parse time (``--repeats`` runs, mean and 95% t interval): all prompts of the data, and one
  adversarial prompt of 1,000 number words (``ADVERSARIAL``), for each parser. The parser runs on
  every request the plug-in and the proxy see, so it must stay linear in the prompt.

    .venv/bin/python benchmarks/instruction_audit.py
    .venv/bin/python benchmarks/instruction_audit.py --against 2d4ca24 --json audit.json
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASTILLO_TOKENS_PER_WORD = 1.294
ADVERSARIAL = "one two three four five six seven eight nine ten " * 100
"""1,000 number words: an unbounded number phrase made every start position try every length."""


def load_prompts(data_dir: Path) -> tuple[dict[str, str], dict[str, float]]:
    """Prompt text and median observed answer length in words, by prompt key (``c:`` / ``a:``)."""
    prompts: dict[str, str] = {}
    with (data_dir / "castillo" / "castillo_prompts.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            prompts["c:" + row["prompt_id"]] = row["prompt_text"]
    with (data_dir / "alpaca_eval" / "instructions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            prompts[f"a:{row['idx']}"] = row["instruction"]
    observed: dict[str, list[float]] = defaultdict(list)
    with (data_dir / "castillo" / "castillo_samples.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            observed["c:" + row["prompt_id"]].append(float(row["p50"]) / CASTILLO_TOKENS_PER_WORD)
    with (data_dir / "alpaca_eval" / "all_models_output_lengths.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            observed[f"a:{row['idx']}"].append(float(row["output_words"]))
    medians = {key: statistics.median(values) for key, values in observed.items() if values}
    return prompts, medians


GRAMMAR_MODULES = (
    "length_instructions",
    "length_instructions_multilingual",
    "length_grammars",
    "length_transforms",
    "transform_grammars",
    "length_fields",
    "length_parts",
    "length_plans",
    "number_words",
    "code_only",
    "list_sizes",
)
"""The modules of the parser, read together at a revision (one that does not exist there is skipped)."""


def parser_at(revision: str) -> Callable[[str], object]:
    """``parse_length_request`` of the parser's modules (:data:`GRAMMAR_MODULES`) at git ``revision``,
    imported as a package of their own beside today's."""
    package = f"sagepred_then_{abs(hash(revision)) % 10**8}"
    folder = Path(tempfile.mkdtemp(prefix="sagepred-audit-"))
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("", encoding="utf-8")
    for name in GRAMMAR_MODULES:
        shown = subprocess.run(
            ["git", "show", f"{revision}:sagepred/{name}.py"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode:
            continue  # not in that revision
        source = shown.stdout
        for other in GRAMMAR_MODULES:
            source = source.replace(f"sagepred.{other}", f"{package}.{other}")
        (folder / package / f"{name}.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(f"{package}.length_instructions")
    finally:
        sys.path.remove(str(folder))
        shutil.rmtree(folder, ignore_errors=True)
    return module.parse_length_request


def reading(request) -> str:
    if request.kind == "none":
        return "-"
    value = request.requested_words if request.kind == "absolute" else request.multiplier
    return f"{request.unit}:{value:g}"


def audit(prompts: dict[str, str], observed: dict[str, float], parse) -> dict[str, object]:
    from sagepred.length_instructions import SHORT_ANSWER_UNITS

    units: dict[str, list[float]] = defaultdict(list)
    asked, seen = [], []
    relative: dict[str, int] = defaultdict(int)
    for key, text in prompts.items():
        request = parse(text)
        if request.kind == "relative":
            relative[request.unit] += 1
        if request.kind != "absolute" or key not in observed:
            continue
        units[request.unit].append(observed[key] / request.requested_words)
        if request.unit not in SHORT_ANSWER_UNITS:
            asked.append(math.log(request.requested_words))
            seen.append(math.log(max(observed[key], 1.0)))
    import numpy as np

    return {
        "prompts": len(prompts),
        "absolute": {
            unit: {"prompts": len(ratios), "observed_over_asked_median": round(statistics.median(ratios), 3)}
            for unit, ratios in sorted(units.items())
        },
        "relative": dict(sorted(relative.items())),
        "log_asked_vs_observed": {
            "prompts": len(asked),
            "correlation": round(float(np.corrcoef(asked, seen)[0, 1]), 3) if len(asked) > 2 else None,
        },
    }


def parse_times(parse, texts: list[str], repeats: int) -> dict[str, object]:
    """Seconds to parse all ``texts`` and the adversarial prompt, ``repeats`` times each (mean, 95% CI)."""
    import time

    from scipy import stats

    out: dict[str, object] = {}
    for label, batch in (("all_prompts_s", texts), ("adversarial_s", [ADVERSARIAL])):
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for text in batch:
                parse(text)
            runs.append(time.perf_counter() - start)
        mean = statistics.fmean(runs)
        half = (
            stats.t.ppf(0.975, len(runs) - 1) * statistics.stdev(runs) / math.sqrt(len(runs))
            if len(runs) > 1
            else 0.0
        )
        out[label] = {
            "mean": round(mean, 4),
            "ci95": [round(float(mean - half), 4), round(float(mean + half), 4)],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="data folder (default: sagepred's data folder)")
    parser.add_argument("--against", metavar="REV", help="also list the readings that differ from git REV")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each parser (default 3)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    from sagepred.io import atomic_write_text
    from sagepred.length_instructions import parse_length_request
    from sagepred.paths import default_data_dir

    data_dir = args.data_dir or default_data_dir()
    if not (data_dir / "castillo" / "castillo_prompts.jsonl").is_file():
        print(f"{data_dir}: no CASTILLO data (run `sagepred data fetch`)", file=sys.stderr)
        return 2
    prompts, observed = load_prompts(data_dir)
    result = {"now": audit(prompts, observed, parse_length_request)}
    texts = list(prompts.values())
    result["now"]["parse_time"] = parse_times(parse_length_request, texts, args.repeats)
    if args.against:
        then = parser_at(args.against)
        result["then"] = audit(prompts, observed, then)
        result["then"]["parse_time"] = parse_times(then, texts, args.repeats)
        changes = []
        for key, text in prompts.items():
            before, after = reading(then(text)), reading(parse_length_request(text))
            if before != after:
                changes.append(
                    {
                        "prompt": key,
                        "then": before,
                        "now": after,
                        "observed_words": observed.get(key),
                        "text": text[:160],
                    }
                )
        result["changed"] = changes
    for label in ("then", "now"):
        if label not in result:
            continue
        part = result[label]
        line = part["log_asked_vs_observed"]
        print(
            f"{label}: {sum(u['prompts'] for u in part['absolute'].values())} absolute and "
            f"{sum(part['relative'].values())} relative requests in {part['prompts']} prompts; log asked vs "
            f"observed r = {line['correlation']} over {line['prompts']}"
        )
    for label in ("then", "now"):
        if label in result:
            times = result[label]["parse_time"]
            print(
                f"{label}: parse {len(texts)} prompts {times['all_prompts_s']['mean']:.2f} s "
                f"{times['all_prompts_s']['ci95']}, 1,000 number words {times['adversarial_s']['mean']:.3f} s "
                f"{times['adversarial_s']['ci95']}"
            )
    print(f"{'unit':14s} {'prompts':>8s} {'observed / asked':>17s}")
    for unit, row in result["now"]["absolute"].items():
        print(f"{unit:14s} {row['prompts']:8d} {row['observed_over_asked_median']:17.2f}")
    for change in result.get("changed", []):
        words = change["observed_words"]
        shown = f"{words:6.0f}w" if words is not None else "     -"
        print(
            f"{change['prompt']:22s} {shown}  {change['then']:>16s} -> {change['now']:<16s} {change['text'][:90]!r}"
        )
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
