"""``sagepred eval``: score a checkpoint or a baseline on length records; write a calibration report."""

from __future__ import annotations

import argparse
import json
import sys

from sagepred.cli.base import Subcommand, output_folder


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options ``eval`` and ``compare`` share."""
    parser.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="evaluation records: JSONL, a CASTILLO folder/CSV, or AlpacaEval outputs",
    )
    parser.add_argument(
        "--split",
        metavar="NAME",
        default=None,
        help="only this split of --data (e.g. CASTILLO 'validate'); default: all records",
    )
    parser.add_argument(
        "--model",
        metavar="TARGET",
        default=None,
        help="target model (recipe name or alias): picks its rows in multi-model sources and "
        "its recipe's training data for baselines",
    )
    parser.add_argument(
        "--train-data",
        metavar="PATH",
        default=None,
        help="training records for baselines (default: the recipe's data for --model)",
    )
    parser.add_argument("--train-split", metavar="NAME", default=None, help="only this split of --train-data")
    parser.add_argument(
        "--exclude-train-overlap",
        action="store_true",
        help="drop evaluation prompts a checkpoint trained on (its recorded prompt hashes); without it "
        "an overlap is only reported",
    )


def load_eval_inputs(args: argparse.Namespace):
    """``(records, train_records_fn, data provenance)`` from the shared options."""
    from sagepred.eval.runner import load_data, recipe_training_records
    from sagepred.targets import find_target

    target = find_target(args.model) if args.model else None
    data_model = target.data_model if target else args.model
    records = load_data(args.data, model=data_model, split=args.split)
    if args.train_data is not None:

        def train_records():
            return load_data(args.train_data, model=data_model, split=args.train_split)
    elif args.model is not None:

        def train_records():
            return recipe_training_records(target.name if target else args.model)
    else:
        train_records = None
    data = {
        "source": args.data,
        "split": args.split,
        "model": args.model,
        "target": target.name if target else None,
        "train_data": args.train_data or (f"recipe {target.name}" if target else None),
        "train_split": args.train_split,
    }
    return records, train_records, data


HOLDOUT = "holdout"


def load_holdout_inputs(args: argparse.Namespace, checkpoint: str | None = None):
    """``--data holdout``: the checkpoint's own held-out records, rebuilt from its ``config.json`` provenance.

    ``checkpoint`` defaults to ``args.checkpoint``. Baselines are fitted on ``--train-data`` when given,
    else on the training records of the checkpoint's recipe (the evaluation prompts are dropped from
    either by :func:`sagepred.eval.runner.build_candidate`).
    """
    from sagepred.errors import InputError
    from sagepred.eval.runner import load_data, recipe_training_records
    from sagepred.loading import MODEL_KINDS, load_predictor, parse_spec
    from sagepred.training.data import held_out_records

    checkpoint = checkpoint or args.checkpoint
    spec = parse_spec(checkpoint)
    if spec.kind not in MODEL_KINDS:
        raise InputError(
            "--data holdout needs a checkpoint (its config.json records the hold-out)", field="--data"
        )
    config = load_predictor(spec, accept=MODEL_KINDS).config
    records = held_out_records(config.data, notify=lambda message: print(f"note: {message}", file=sys.stderr))
    model = config.data.get("model") or config.target_model
    recipe = config.data.get("recipe")
    train_records = None
    if args.train_data is not None:

        def train_records():
            return load_data(args.train_data, model=model, split=args.train_split)
    elif recipe:

        def train_records():
            return recipe_training_records(str(recipe))

    data = {
        "source": f"hold-out of {checkpoint}",
        "split": config.data.get("eval_split"),
        "model": model,
        "train_data": args.train_data or (f"recipe {recipe}" if recipe else None),
        "train_split": args.train_split,
    }
    return records, train_records, data


class Command(Subcommand):
    name = "eval"
    help = "evaluate a predictor's calibration and ranking (metrics.json, report.md, plots, MLflow)"
    description = (
        "Score a checkpoint folder, zoo name or Hub id, a predictions file from `sagepred predict` (matched "
        "by id), or baseline:NAME (global, length, sagesched, regressor, ltr; fitted on --train-data or the "
        "recipe's training data of --model), on --data. Writes metrics.json, report.md "
        "and PNG plots into --output and logs them to MLflow. `--data holdout` scores a checkpoint on the "
        "held-out records its config.json records (reproduces its model card)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--checkpoint",
            required=True,
            metavar="SPEC",
            help="checkpoint folder, zoo name, Hub id, predictions JSONL, or baseline:NAME",
        )
        add_data_arguments(parser)
        parser.add_argument(
            "--output",
            required=True,
            type=output_folder,
            metavar="DIR",
            help="report folder (replaced atomically; an existing one must hold an earlier report, or --overwrite)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace an existing --output folder whatever it holds"
        )
        tracking = parser.add_mutually_exclusive_group()
        tracking.add_argument(
            "--tracking-uri",
            default="sqlite:///mlflow.db",
            metavar="URI",
            help="MLflow tracking URI (default sqlite:///mlflow.db)",
        )
        tracking.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
        parser.add_argument("--json", action="store_true", help="print metrics.json to stdout")
        from sagepred.eval.online import add_online_arguments

        add_online_arguments(parser)

    def run(self, args: argparse.Namespace) -> int:
        from rich.console import Console

        from sagepred.eval.report import log_to_mlflow, rich_table, write_report
        from sagepred.eval.runner import build_candidate, evaluate
        from sagepred.io import replaceable_folder

        replaceable_folder(args.output, ("metrics.json", "report.md"), args.overwrite, "--output")
        records, train_records, data = (load_holdout_inputs if args.data == HOLDOUT else load_eval_inputs)(
            args
        )
        if args.online or args.history_only:
            from sagepred.eval.online import run_online_command

            return run_online_command(args, records, data)
        from sagepred.contamination import guard_overlap

        candidate = build_candidate(args.checkpoint, records, train_records)
        records = guard_overlap([candidate], records, exclude=args.exclude_train_overlap)
        data["excluded_train_overlap"] = bool(args.exclude_train_overlap)
        evaluation = evaluate(candidate, records)
        folder = write_report(args.output, evaluation, data)
        run_id = None
        if not args.no_mlflow:
            run_id = log_to_mlflow(evaluation, folder, data, tracking_uri=args.tracking_uri)
        if args.json:
            print(json.dumps({**evaluation.summary(), "data": data}, indent=2))
            return 0
        console = Console(width=None if sys.stdout.isatty() else 160)
        summary = evaluation.summary()
        console.print(
            rich_table(
                [summary],
                title=f"{args.data}: {summary['n_prompts']} prompts, "
                f"{summary['n_samples']} samples ({summary['n_censored']} censored)",
            )
        )
        console.print(
            f"report: {folder / 'report.md'}" + (f"  (MLflow run {run_id})" if run_id else ""), markup=False
        )
        return 0
