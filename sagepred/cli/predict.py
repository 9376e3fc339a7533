"""``sagepred predict``: predicted length distributions for a JSONL file of prompts."""

from __future__ import annotations

import argparse
import json

from sagepred.cli.base import Subcommand


def read_prompts(path: str) -> list[tuple[str, str]]:
    """``(id, prompt text)`` per line of a JSONL file with ``prompt`` (text or chat messages) and optional ``id``."""
    from sagepred.errors import InputError
    from sagepred.records import check_prompt, iter_jsonl, prompt_to_text

    rows = []
    for line, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=path, line=line)
        if "prompt" not in obj:
            raise InputError("missing", path=path, line=line, field="prompt")
        prompt = check_prompt(obj["prompt"], path=path, line=line)
        rows.append((str(obj.get("id", line)), prompt_to_text(prompt)))
    if not rows:
        raise InputError("no prompts (the file is empty)", path=path)
    return rows


class Command(Subcommand):
    name = "predict"
    help = "predict output-length distributions for prompts"
    description = (
        "Read prompts (JSONL lines with 'prompt' and optional 'id') and write one JSON line per prompt: "
        "id, mean, levels (0.01 … 0.99) and quantiles (the predicted length at each level)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--checkpoint", metavar="DIR", help="checkpoint folder (or Hub repo id)")
        parser.add_argument(
            "--model",
            metavar="TARGET",
            help="target model: without --checkpoint, use its zoo checkpoint (see `sagepred zoo list`)",
        )
        parser.add_argument(
            "--zoo-source",
            metavar="SRC",
            help="zoo source for --model: 'packaged' (default), a mirror folder, or 'hf[:NAMESPACE]'",
        )
        parser.add_argument("--input", required=True, metavar="PATH", help="JSONL prompts")
        parser.add_argument(
            "--output", required=True, metavar="PATH", help="JSONL predictions (written atomically)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=64, help="prompts per encoder batch (default 64)"
        )

    def run(self, args: argparse.Namespace) -> int:
        import numpy as np

        from sagepred.distribution import QUANTILE_LEVELS_99
        from sagepred.errors import InputError
        from sagepred.io import atomic_write_text
        from sagepred.predictor import LengthPredictor

        if args.checkpoint is None and args.model is None:
            raise InputError(
                "give --checkpoint DIR, or --model TARGET to use the zoo's checkpoint", field="--checkpoint"
            )
        rows = read_prompts(args.input)
        if args.checkpoint is None:
            from sagepred.zoo import checkpoint_for

            args.checkpoint = str(checkpoint_for(args.model, args.zoo_source))
        predictor = LengthPredictor.from_pretrained(args.checkpoint)
        dist = predictor.predict([text for _, text in rows], batch_size=args.batch_size, progress=True)
        means = dist.mean()
        quantiles = dist.quantile(QUANTILE_LEVELS_99[None, :])
        levels = [float(x) for x in QUANTILE_LEVELS_99]
        lines = [
            json.dumps(
                {
                    "id": rid,
                    "mean": round(float(m), 2),
                    "levels": levels,
                    "quantiles": np.round(q, 2).tolist(),
                }
            )
            for (rid, _), m, q in zip(rows, means, quantiles, strict=True)
        ]
        atomic_write_text(args.output, "\n".join(lines) + "\n")
        print(f"wrote {len(lines)} predictions to {args.output}")
        return 0
