"""``sagepred predict``: predicted length distributions for a JSONL file of prompts."""

from __future__ import annotations

import argparse
from pathlib import Path

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
        "Read prompts (JSONL lines with 'prompt' or 'messages' and optional 'id') and write one JSON line "
        "per prompt: id, mean, levels (0.01 … 0.99), quantiles (the predicted length at each level), kind, "
        "and knots + cdf (the exact distribution). `simulate`, `eval` and `compare` read the file back "
        "with --predictor FILE."
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
        parser.add_argument("--input", required=True, metavar="PATH", help="JSONL prompts")
        parser.add_argument(
            "--output",
            required=True,
            type=output_file,
            metavar="PATH",
            help="JSONL predictions (written atomically; not the --input file)",
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=64, help="prompts per encoder batch (default 64)"
        )

    def run(self, args: argparse.Namespace) -> int:
        from sagepred.encoders import use_embedding_cache
        from sagepred.errors import InputError
        from sagepred.loading import MODEL_KINDS, load_predictor
        from sagepred.predictions import write_predictions

        if args.checkpoint is None and args.model is None:
            raise InputError(
                "give --checkpoint DIR, or --model TARGET to use the zoo's checkpoint", field="--checkpoint"
            )
        if Path(args.input).resolve() == args.output.resolve():
            raise InputError(
                "--output is the --input file; write the predictions to another file", path=args.output
            )
        rows = read_prompts(args.input)
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
        write_predictions(args.output, [rid for rid, _ in rows], dist)
        print(f"wrote {len(rows)} predictions to {args.output}")
        return 0
