"""``sagepred predict``: predicted length distributions for prompts given as arguments or in a JSONL
file, printed as a table (or JSON lines) or written to a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sagepred.cli.base import Subcommand, output_file, positive_int


def read_prompts(path: str) -> list[tuple[str, str]]:
    """``(id, prompt text)`` per line of a JSONL file with ``prompt`` (or ``messages``) and optional ``id``.

    The text and the default id (``<file stem>:<line>``) are the ones the record reader gives the same
    line, so predictions of a records file match its records by id.
    """

    from sagepred.errors import InputError
    from sagepred.records import check_prompt, iter_jsonl, prompt_text, record_id

    rows, seen = [], {}
    for line, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=path, line=line)
        key = "prompt" if "prompt" in obj else "messages" if "messages" in obj else None
        if key is None:
            raise InputError("missing (need 'prompt' or 'messages')", path=path, line=line, field="prompt")
        prompt = check_prompt(obj[key], path=path, line=line, name=key)
        rid = record_id(obj, path=path, line=line)
        if rid in seen:
            raise InputError(f"id {rid!r} also on line {seen[rid]}", path=path, line=line, field="id")
        seen[rid] = line
        rows.append((rid, prompt_text(prompt)))
    if not rows:
        raise InputError("no prompts (the file is empty)", path=path)
    return rows


class Command(Subcommand):
    name = "predict"
    help = "predict output-length distributions for prompts"
    description = (
        "Predict the output-length distribution of prompts given as arguments (`sagepred predict --model "
        "gpt-4 \"Write a 2,000-word essay on tides.\"`) or read from --input (JSONL lines with 'prompt' or "
        "'messages' and optional 'id'). Without --output, print a table: median, 80% interval and mean in "
        "the target's tokens, and the length instruction the predictor read; --json prints JSON lines "
        "instead. With --output, write one JSON line per prompt: id, mean, levels (0.01 … 0.99), quantiles "
        "(the predicted length at each level), kind, and knots + cdf (the exact distribution); "
        "`simulate`, `eval` and `compare` read the file back with --predictor FILE."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group()  # neither: a hint naming both, from run
        which.add_argument("--checkpoint", metavar="SPEC", help="checkpoint folder, zoo name, or Hub repo id")
        which.add_argument(
            "--model",
            metavar="TARGET",
            help="target model: without --checkpoint, use its zoo checkpoint (see `sagepred zoo list`)",
        )
        parser.add_argument(
            "--target",
            metavar="TARGET",
            help="with a pooled --checkpoint: the target to predict for (any of its names)",
        )
        parser.add_argument(
            "--zoo-source",
            metavar="SRC",
            help="zoo source for --model: 'packaged' (default), a mirror folder, or 'hf[:NAMESPACE]'",
        )
        parser.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts to predict (or --input)")
        parser.add_argument("--input", metavar="PATH", help="JSONL prompts (instead of PROMPT arguments)")
        parser.add_argument(
            "--output",
            type=output_file,
            metavar="PATH",
            help="write JSONL predictions here (atomically; not the --input file) instead of printing",
        )
        parser.add_argument(
            "--json", action="store_true", help="print JSON lines (the --output format) instead of a table"
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=64, help="prompts per encoder batch (default 64)"
        )

    def run(self, args: argparse.Namespace) -> int:
        from sagepred.encoders import use_embedding_cache
        from sagepred.errors import InputError
        from sagepred.loading import MODEL_KINDS, load_predictor
        from sagepred.predictions import prediction_lines, write_predictions

        if args.checkpoint is None and args.model is None:
            raise InputError(
                "give --checkpoint DIR, or --model TARGET to use the zoo's checkpoint", field="--checkpoint"
            )
        if bool(args.prompts) == bool(args.input):
            raise InputError(
                "give prompts as arguments or --input FILE (JSONL), not both"
                if args.prompts
                else 'give prompts as arguments (sagepred predict --model gpt-4 "Write a haiku.") or --input FILE',
                field="--input",
            )
        if args.output is not None and args.json:
            raise InputError(
                "--json prints to the terminal; --output writes the file: give one", field="--json"
            )
        if args.input and args.output is not None and Path(args.input).resolve() == args.output.resolve():
            raise InputError(
                "--output is the --input file; write the predictions to another file", path=args.output
            )
        if args.input:
            rows = read_prompts(args.input)
        else:
            rows = [(f"arg:{i}", text) for i, text in enumerate(args.prompts, 1)]
            if empty := [rid for rid, text in rows if not text.strip()]:
                raise InputError(f"the prompt is empty ({', '.join(empty)})", field="PROMPT")
        from sagepred.pooled import PooledPredictor, is_pooled_checkpoint

        if args.checkpoint and is_pooled_checkpoint(args.checkpoint):
            if not args.target:
                raise InputError(
                    "a pooled checkpoint predicts for one target: add --target TARGET", field="--target"
                )
            predictor = PooledPredictor.from_pretrained(args.checkpoint).for_target(args.target)
        elif args.target:
            raise InputError("--target needs a pooled --checkpoint", field="--target")
        else:
            predictor = load_predictor(
                args.checkpoint or args.model, zoo_source=args.zoo_source, accept=MODEL_KINDS
            )
        use_embedding_cache(predictor, progress=True)
        dist = predictor.predict([text for _, text in rows], batch_size=args.batch_size, progress=True)
        ids = [rid for rid, _ in rows]
        if args.output is not None:
            write_predictions(args.output, ids, dist)
            print(f"wrote {len(rows)} predictions to {args.output}")
        elif args.json:
            print(prediction_lines(ids, dist), end="")
        else:
            print_predictions(predictor, rows, dist)
        return 0


def reads_instructions(predictor: Any) -> bool:
    """Whether ``predictor`` moves its distribution by the prompt's length instruction (a pooled target
    and every checkpoint that carries the settings, the zoo's included), with the adjustment on."""
    config = predictor.pooled.config if hasattr(predictor, "pooled") else predictor.config
    settings = getattr(config, "instructions", None)
    return settings is not None and settings.enabled


def print_predictions(predictor: Any, rows: list[tuple[str, str]], dist: Any) -> None:
    """A table of the predictions: median, 80% interval and mean (tokens), and the instruction read."""
    import numpy as np
    from rich.table import Table

    from sagepred.length_instructions import parse_length_request
    from sagepred.progress import make_console

    quantiles = dist.quantile(np.array([[0.1, 0.5, 0.9]]))
    means = dist.mean()
    instructions = reads_instructions(predictor)
    target = getattr(predictor.config, "target_model", None) or getattr(predictor.config, "name", "")
    table = Table(
        title=f"predicted output length, tokens of {target}" if target else "predicted output length"
    )
    table.add_column("id")
    table.add_column("prompt", overflow="ellipsis", no_wrap=True, max_width=60)
    for column in ("median", "80% interval", "mean"):
        table.add_column(column, justify="right")
    if instructions:
        table.add_column("instruction read")
    for (rid, text), (low, median, high), mean in zip(rows, quantiles, means, strict=True):
        cells = [rid, " ".join(text.split()), f"{median:,.0f}", f"{low:,.0f} – {high:,.0f}", f"{mean:,.0f}"]
        if instructions:
            cells.append(parse_length_request(text).describe() or "—")
        table.add_row(*cells)
    make_console().print(table)
