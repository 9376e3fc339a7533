"""Benchmark table: every baseline (and sagepred checkpoints) on CASTILLO, every metric.

    python benchmarks/eval_table.py                       # source protocol: train split -> validate split
    python benchmarks/eval_table.py --protocol pooled     # both splits pooled, seeded 20% hold-out
    python benchmarks/eval_table.py --checkpoint llama-3.1-8b="sagepred frozen"=outputs/llama-3.1-8b-histogram

Prints one table per target model, writes ``benchmarks/results/eval_table_<protocol>.json`` and
replaces the protocol's block between markers in ``docs/evaluation.md``. The data folder is
``$SAGEPRED_DATA_DIR`` or ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {
    "llama-3.1-8b": "meta-llama--Llama-3.1-8B-Instruct",
    "qwen2.5-7b-1m": "Qwen--Qwen2.5-7B-Instruct-1M",
    "mistral-7b-v0.3": "mistralai--Mistral-7B-Instruct-v0.3",
}
BASELINE_NAMES = ("global", "length", "sagesched", "regressor", "ltr")
PROTOCOLS = {
    "source": "CASTILLO's own splits: fitted on `train` (BigCodeBench, DS-1000, MBPP prompts only), scored on "
    "`validate` (all seven sources) — a shift from code to chat prompts",
    "pooled": "both CASTILLO splits pooled per model, seeded 20% hold-out by prompt (seed 0; the "
    "`llama-3.1-8b` recipe's protocol) — train and test from the same mix of sources",
}


def data_dir() -> Path:
    return Path(os.environ.get("SAGEPRED_DATA_DIR", REPO.parent / "shared" / "data"))


def split_data(model: str, protocol: str, seed: int) -> tuple[list, list]:
    from sagepred.eval.runner import load_data
    from sagepred.records import split_records

    source = str(data_dir() / "castillo")
    if protocol == "source":
        return load_data(source, model, split="train"), load_data(source, model, split="validate")
    return split_records(load_data(source, model), 0.2, seed)


def parse_checkpoints(items: list[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        parts = item.split("=", 2)
        if len(parts) != 3 or parts[0] not in TARGETS:
            raise SystemExit(
                f"--checkpoint needs TARGET=LABEL=DIR with TARGET in {', '.join(TARGETS)}: {item!r}"
            )
        out.setdefault(parts[0], []).append((parts[1], parts[2]))
    return out


def winners(summaries: list[dict]) -> dict[str, str]:
    from sagepred.eval.report import COLUMNS, best_per_column

    best = best_per_column(summaries)
    return {title: summaries[best[key]]["predictor"] for key, title, _, _ in COLUMNS if key in best}


def check_holdout(folder: str, protocol: str, test: list) -> None:
    """Refuse a checkpoint whose recorded hold-out is not exactly this protocol's test set."""
    config_path = Path(folder) / "config.json"
    if not config_path.is_file():
        return  # not a local folder: from_pretrained reports it
    provenance = json.loads(config_path.read_text(encoding="utf-8")).get("data", {})
    if "holdout" in provenance:
        from sagepred.training.data import held_out_records

        held = {r.prompt_text for r in held_out_records(provenance, data_dir())}
        if held != {r.prompt_text for r in test}:
            raise SystemExit(
                f"{folder}: its hold-out ({len(held)} prompts) is not the {protocol} protocol's "
                f"test set ({len(test)} prompts); retrain it with the matching split"
            )
    elif not (protocol == "source" and provenance.get("eval_split") == "validate"):
        raise SystemExit(
            f"{folder}: its config.json does not record its hold-out, so the {protocol} "
            "protocol cannot verify that it never trained on the test prompts; retrain it"
        )


def run(
    protocol: str, checkpoints: dict[str, list[tuple[str, str]]], seed: int, previous: dict | None = None
) -> dict:
    from sagepred.eval.baselines import get_baseline
    from sagepred.eval.runner import Candidate, build_candidate, drop_overlap, evaluate

    results: dict = {"protocol": protocol, "description": PROTOCOLS[protocol], "targets": {}}
    for short, model in TARGETS.items():
        train, test = split_data(model, protocol, seed)
        train, dropped = drop_overlap(train, test)
        if previous is not None:
            labels = {label for label, _ in checkpoints.get(short, [])}
            summaries = [r for r in previous["targets"][short]["results"] if r["predictor"] not in labels]
        else:
            summaries = []
        for name in BASELINE_NAMES if previous is None else ():
            baseline = get_baseline(name)
            start = time.perf_counter()
            baseline.fit(train)
            fit_seconds = time.perf_counter() - start
            candidate = Candidate(
                name, baseline, "baseline", baseline.comparable, {"fit_seconds": round(fit_seconds, 2)}
            )
            summaries.append(evaluate(candidate, test).summary())
            print(f"  {short}: {name} done", file=sys.stderr)
        for label, folder in checkpoints.get(short, []):
            check_holdout(folder, protocol, test)
            candidate = build_candidate(folder, test)
            candidate.label = label
            candidate.info["checkpoint"] = Path(folder).name
            summaries.append(evaluate(candidate, test).summary())
        results["targets"][short] = {
            "target_model": model,
            "train_records": len(train),
            "train_dropped_overlap": dropped,
            "test_records": len(test),
            "test_samples": sum(r.num_samples for r in test),
            "test_censored": sum(sum(r.censored) for r in test),
            "best": winners(summaries),
            "results": summaries,
        }
    return results


def markdown(results: dict) -> str:
    from sagepred.eval.report import TABLE_NOTES, markdown_table

    lines = [f"Protocol **{results['protocol']}**: {results['description']}.", ""]
    for block in results["targets"].values():
        lines += [
            f"#### {block['target_model']}",
            "",
            f"{block['train_records']} training prompts → {block['test_records']} test prompts "
            f"({block['test_samples']} samples, {block['test_censored']} censored).",
            "",
            markdown_table(block["results"]),
            "",
        ]
    lines += [TABLE_NOTES, ""]
    return "\n".join(lines)


def update_docs(protocol: str, text: str) -> None:
    from sagepred.io import atomic_write_text

    doc = REPO / "docs" / "evaluation.md"
    start, end = f"<!-- benchmark:{protocol}:start -->", f"<!-- benchmark:{protocol}:end -->"
    current = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1]
        current = before + block + after
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    atomic_write_text(doc, current)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="source")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="TARGET=LABEL=DIR",
        help="add a sagepred checkpoint column for TARGET (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="hold-out seed of the pooled protocol")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/evaluation.md")
    parser.add_argument(
        "--append",
        action="store_true",
        help="only score --checkpoint columns and add them to the saved results of --protocol",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="re-render the saved results JSON of --protocol into the docs without re-running",
    )
    args = parser.parse_args(argv)

    from rich.console import Console

    from sagepred.eval.report import rich_table
    from sagepred.io import atomic_write_text

    out = REPO / "benchmarks" / "results" / f"eval_table_{args.protocol}.json"
    if args.render_only:
        results = json.loads(out.read_text(encoding="utf-8"))
    else:
        previous = json.loads(out.read_text(encoding="utf-8")) if args.append else None
        results = run(args.protocol, parse_checkpoints(args.checkpoint), args.seed, previous)
        atomic_write_text(out, json.dumps(results, indent=2) + "\n")
    console = Console(width=None if sys.stdout.isatty() else 160)
    for block in results["targets"].values():
        console.print(rich_table(block["results"], title=f"{block['target_model']} ({args.protocol})"))
    if not args.no_docs:
        update_docs(args.protocol, markdown(results))
    console.print(f"wrote {out.relative_to(REPO)}" + ("" if args.no_docs else " and docs/evaluation.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
