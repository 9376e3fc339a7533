"""``sagepred compare``: several predictors on the same records, one table."""

from __future__ import annotations

import argparse
import json
import sys

from sagepred.cli.base import Subcommand, output_file


def holdout_checkpoint(predictors: list[str]) -> str:
    """The first checkpoint among ``predictors``: ``--data holdout`` scores everyone on its hold-out."""
    from sagepred.errors import InputError
    from sagepred.loading import MODEL_KINDS, parse_spec

    for spec in predictors:
        if parse_spec(spec).kind in MODEL_KINDS:
            return spec
    raise InputError(
        "--data holdout needs a checkpoint among the predictors (its config.json records the hold-out)",
        field="--data",
    )


class Command(Subcommand):
    name = "compare"
    help = "compare predictors (checkpoints and baselines) on the same data in one table"
    description = (
        "Score each predictor (a checkpoint folder, zoo name, Hub id, predictions JSONL from `sagepred "
        "predict`, or baseline:NAME) on --data and print one table; "
        "--json OUT writes every metric of every predictor."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from sagepred.cli.evaluate import add_data_arguments

        parser.add_argument(
            "predictors",
            nargs="+",
            metavar="PREDICTOR",
            help="checkpoint folder, zoo name, Hub id, predictions JSONL, or baseline:NAME",
        )
        add_data_arguments(parser)
        parser.add_argument(
            "--json", type=output_file, metavar="OUT", default=None, help="write all metrics as JSON to OUT"
        )

    def run(self, args: argparse.Namespace) -> int:
        from rich.console import Console

        from sagepred.cli.evaluate import HOLDOUT, load_eval_inputs, load_holdout_inputs
        from sagepred.encoders import use_embedding_cache
        from sagepred.eval.report import rich_table
        from sagepred.eval.runner import build_candidate, evaluate
        from sagepred.io import atomic_write_text
        from sagepred.progress import progress_enabled

        def status(message: str) -> None:
            if progress_enabled():
                print(f"compare: {message}", file=sys.stderr, flush=True)

        if args.data == HOLDOUT:
            records, train_records, data = load_holdout_inputs(args, holdout_checkpoint(args.predictors))
        else:
            records, train_records, data = load_eval_inputs(args)
        if train_records is not None:
            cached: list = []

            def shared_train():
                if not cached:
                    cached.append(train_records())
                return cached[0]
        else:
            shared_train = None
        from sagepred.contamination import guard_overlap

        candidates = []
        for number, spec in enumerate(args.predictors, 1):
            status(f"[{number}/{len(args.predictors)}] {spec}: loading")
            candidates.append(build_candidate(spec, records, shared_train))
            use_embedding_cache(candidates[-1].predictor, progress=True)
        records = guard_overlap(candidates, records, exclude=args.exclude_train_overlap)
        data["excluded_train_overlap"] = bool(args.exclude_train_overlap)
        summaries = []
        for number, candidate in enumerate(candidates, 1):
            status(f"[{number}/{len(candidates)}] {candidate.label}: predicting {len(records)} prompts")
            summaries.append(evaluate(candidate, records).summary())
        if args.json:
            atomic_write_text(args.json, json.dumps({"data": data, "results": summaries}, indent=2) + "\n")
        n_samples = summaries[0]["n_samples"]
        title = f"{args.data} — {len(records)} prompts, {n_samples} samples"
        Console(width=None if sys.stdout.isatty() else 160).print(rich_table(summaries, title))
        return 0
