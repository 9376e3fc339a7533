"""``sagepred train``: train a predictor for a target model from its recipe."""

from __future__ import annotations

import argparse
import json

from sagepred.cli.base import Subcommand, output_file, output_folder, positive_int, seed_int


class Command(Subcommand):
    name = "train"
    help = "train an output-length predictor for a target model"
    description = (
        "Train a predictor for TARGET with its recipe (training/recipes/<target>.yaml): load the records, fit "
        "the head (frozen encoder, cached embeddings) or head + LoRA adapter, evaluate on held-out data, "
        "write the checkpoint with its model card, and log the run to MLflow."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--model",
            required=True,
            metavar="TARGET",
            help="target model: recipe name or alias (e.g. llama-3-8b)",
        )
        parser.add_argument(
            "--data",
            metavar="PATH",
            help="records source overriding the recipe's (JSONL, CASTILLO, AlpacaEval…)",
        )
        parser.add_argument(
            "--output",
            type=output_folder,
            metavar="DIR",
            help="checkpoint folder (default outputs/<recipe>-<head>-<mode>)",
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="replace an existing non-empty --output folder (default: refuse)",
        )
        parser.add_argument(
            "--head", choices=["histogram", "quantile"], help="distribution head (recipe default)"
        )
        parser.add_argument(
            "--lora", action="store_true", help="LoRA-tune the encoder (peft) instead of freezing it"
        )
        parser.add_argument(
            "--epochs", type=positive_int, metavar="N", help="maximum epochs (LoRA epochs with --lora)"
        )
        parser.add_argument(
            "--encoder",
            metavar="SPEC",
            help="encoder spec: Hugging Face id or folder, with ?layers=K&quant=int8&pool_layers=I,J&tail=N "
            "(default: the recipe's, FAST_ENCODER; with --model all, POOLED_ENCODER)",
        )
        parser.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
        parser.add_argument(
            "--train-split", metavar="NAME", help="train on this split of the source (e.g. train)"
        )
        parser.add_argument(
            "--eval-split", metavar="NAME", help="evaluate on this split of the source (e.g. validate)"
        )
        tracking = parser.add_mutually_exclusive_group()
        tracking.add_argument(
            "--tracking-uri",
            default="sqlite:///mlflow.db",
            metavar="URI",
            help="MLflow tracking URI (default sqlite:///mlflow.db)",
        )
        tracking.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
        parser.add_argument(
            "--json",
            type=output_file,
            metavar="OUT",
            help="also write the summary (metrics, paths, timings) as JSON",
        )
        parser.add_argument(
            "--no-dropout",
            action="store_true",
            help="LoRA: no dropout while fine-tuning (deterministic steps; the same result for any "
            "number of accelerate processes at the same global batch)",
        )
        parser.add_argument(
            "--disk-embeddings",
            choices=["auto", "on", "off"],
            default="auto",
            help="keep frozen-encoder embeddings in the Arrow store on disk, memory-mapped "
            "(default auto: from 50,000 training prompts on); see docs/training-at-scale.md",
        )
        parser.add_argument(
            "--embed-workers",
            type=positive_int,
            default=1,
            metavar="N",
            help="processes embedding into the disk store (Dataset.map num_proc; default 1)",
        )
        parser.add_argument(
            "--members",
            type=positive_int,
            metavar="N",
            help="--model all: ensemble members of the pooled head, each trained on its own bag of "
            "prompts (default 5; 1 = one MLP, five times faster)",
        )
        parser.add_argument(
            "--init",
            metavar="POOLED",
            help="add TARGET to this pooled checkpoint from the few records in --data (fits only its "
            "embedding); with --model all --finetune: the frozen pooled checkpoint to start from",
        )
        parser.add_argument(
            "--finetune",
            choices=("full", "lora"),
            help="--model all: fine-tune the encoder on the pooled loss (one epoch), then refit the head; "
            "the checkpoint bundles the tuned encoder (docs/predictor.md)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from sagepred.errors import InputError
        from sagepred.io import atomic_write_text
        from sagepred.progress import make_console
        from sagepred.training.pipeline import TrainOptions, run_training
        from sagepred.training.pooled_pipeline import POOLED_NAMES

        pooled = args.model.lower() in POOLED_NAMES
        if args.members is not None and not pooled:
            raise InputError(
                "--members sizes the pooled head's ensemble: use it with --model all", field="--members"
            )
        output = checked_output(args)
        console = make_console(stderr=True)
        if pooled or args.init or args.finetune:
            summary = run_pooled_command(args, output, console)
            if args.json:
                atomic_write_text(args.json, json.dumps(summary, indent=2, default=str) + "\n")
            return 0
        summary = run_training(
            TrainOptions(
                model=args.model,
                data=args.data,
                output=output,
                head=args.head,
                lora=args.lora,
                epochs=args.epochs,
                encoder=args.encoder,
                seed=args.seed,
                train_split=args.train_split,
                eval_split=args.eval_split,
                tracking_uri=args.tracking_uri,
                track=not args.no_mlflow,
                disk_embeddings=args.disk_embeddings,
                dropout=not args.no_dropout,
                embed_workers=args.embed_workers,
            ),
            notify=lambda message: console.print(f"[yellow]note:[/] {message}"),
        )
        if summary["metrics"] is None:  # another process of an accelerate launch: the main one reports
            return 0
        print_summary(summary)
        if args.json:
            atomic_write_text(args.json, json.dumps(summary, indent=2, default=str) + "\n")
        return 0


def checked_output(args: argparse.Namespace) -> str:
    """The checkpoint folder ``train`` writes; an existing non-empty one is refused unless ``--overwrite``."""
    from sagepred.io import replaceable_folder
    from sagepred.training.recipes import load_recipe

    output = args.output
    pooled = args.model.lower() in ("all", "pooled")
    if output is None and pooled and getattr(args, "finetune", None):
        output = "outputs/pooled-finetuned"
    if output is None and (pooled or args.init):
        output = "outputs/pooled" if pooled else f"outputs/pooled+{args.model.replace('/', '--')}"
    if output is None:
        recipe = load_recipe(args.model)
        head = args.head or recipe.predictor.head.kind
        output = f"outputs/{recipe.name}-{head}-{'lora' if args.lora else 'frozen'}"
    replaceable_folder(output, (), args.overwrite, "--output")  # no earlier checkpoint is replaced unasked
    return str(output)


def run_pooled_command(args: argparse.Namespace, output: str | None, console: object) -> dict:
    """``--model all`` (train the pooled model) or ``--init POOLED`` (add a target to it)."""
    from sagepred.errors import InputError
    from sagepred.training.pooled_pipeline import (
        POOLED_NAMES,
        NewTargetOptions,
        PooledFineTuneOptions,
        PooledOptions,
        run_new_target,
        run_pooled_finetune,
        run_pooled_training,
    )

    def notify(message: str) -> None:
        console.print(f"[yellow]note:[/] {message}")  # type: ignore[attr-defined]

    if args.finetune:
        if args.model.lower() not in POOLED_NAMES:
            raise InputError(
                "--finetune tunes the pooled model's encoder: use it with --model all", field="--model"
            )
        summary = run_pooled_finetune(
            PooledFineTuneOptions(
                mode=args.finetune,
                output=output,
                init=args.init,
                seed=args.seed,
                **({"encoder": args.encoder} if args.encoder else {}),
            ),
            notify=notify,
        )
        print_source_summary(summary["frozen"], "frozen ")
        print_source_summary(summary["summary"], "fine-tuned ")
        print(f"checkpoint: {summary['checkpoint']} (fine-tuned in {summary['finetune_seconds']} s)")
        return summary
    if args.init:
        if args.model.lower() in POOLED_NAMES:
            raise InputError("--init adds one target: name it with --model NEW", field="--model")
        if not args.data:
            raise InputError("--init needs the new target's records: --data FILE.jsonl", field="--data")
        summary = run_new_target(
            NewTargetOptions(model=args.model, data=args.data, init=args.init, output=output, seed=args.seed),
            notify=notify,
        )
        print(
            f"added {summary['target']} from {summary['records']} records "
            f"({summary['fit_seconds']} s): {summary['checkpoint']} knows {summary['targets']} targets"
        )
        return summary
    summary = run_pooled_training(
        PooledOptions(
            data=args.data,
            output=output,
            epochs=args.epochs,
            members=args.members,
            seed=args.seed,
            tracking_uri=args.tracking_uri,
            track=not args.no_mlflow,
            **({"encoder": args.encoder} if args.encoder else {}),
        ),
        notify=notify,
    )
    print_source_summary(summary["summary"])
    print(f"checkpoint: {summary['checkpoint']}")
    return summary


def print_source_summary(summary: dict, prefix: str = "") -> None:
    """One line per data source: targets, CRPS / global (worst), τ and cov80 on held-out prompts."""
    for source, values in summary.items():
        print(
            f"{prefix}{source}: {values['targets']} targets, CRPS/global {values['crps_ratio']:.3f} "
            f"(worst {values['crps_ratio_max']:.3f}), tau {values['kendall_tau'] or float('nan'):.3f}, "
            f"cov80 {values['coverage_80']:.3f}"
        )


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "—"


def print_summary(summary: dict) -> None:
    """A table of the held-out metrics beside the global-histogram baseline."""
    from rich.table import Table

    from sagepred.progress import make_console

    metrics, baseline = summary["metrics"], summary["baseline_global"]
    table = Table(
        title=f"{summary['target_model']} — {summary['head']} head, {summary['mode']} encoder "
        f"({summary['data']['eval_records']} held-out prompts, {summary['data']['eval_split']})"
    )
    table.add_column("metric")
    table.add_column("sagepred", justify="right")
    table.add_column("global histogram", justify="right")
    for key, label in [
        ("crps", "CRPS (tokens) ↓"),
        ("kendall_tau", "Kendall τ ↑"),
        ("coverage_80", "80% coverage → 0.80"),
        ("mae_median", "MAE of median ↓"),
        ("bucket_accuracy", "bucket accuracy ↑"),
        ("pit_ks", "PIT KS ↓"),
    ]:
        if key in metrics:
            table.add_row(label, _fmt(metrics[key]), _fmt(baseline.get(key)))
    console = make_console()
    console.print(table)
    console.print(f"checkpoint: {summary['checkpoint']}   training: {summary['train_seconds']:.1f} s")
    if summary.get("mlflow"):
        ml = summary["mlflow"]
        console.print(
            f"MLflow: run {ml['run_id']} at {ml['tracking_uri']}, registered model version {ml['model_version']}"
        )
