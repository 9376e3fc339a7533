"""Rebuild the bundled sample: Meta-Llama-3-8B-Instruct's AlpacaEval lengths in Llama-3 tokens.

Usage (from the repository root, with the shared data at ``../shared/data`` or ``$SAGEPRED_DATA_DIR``)::

    python sagepred/data/make_sample.py

Reads ``alpaca_eval/model_outputs/Meta-Llama-3-8B-Instruct.json``, counts each response with the
Llama-3 tokenizer (``tokenizers/llama3``), and writes the prompts and lengths only (no response text)
to ``sagepred/data/llama-3-8b-alpaca-eval.jsonl``. Deterministic: same input, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from sagepred.importers import BUNDLED_SAMPLE, load_alpaca_eval
from sagepred.tokenizers import default_data_dir

MODEL = "Meta-Llama-3-8B-Instruct"
MAX_TOKENS = 4096


def main() -> None:
    source = default_data_dir() / "alpaca_eval" / "model_outputs" / f"{MODEL}.json"
    records = load_alpaca_eval(source, tokenizer="llama3", max_tokens=MAX_TOKENS)
    lines = []
    for r in records:
        row = {
            "id": r.record_id,
            "prompt": r.prompt,
            "output_len": r.output_lens[0],
            "censored": r.censored[0],
            "prompt_len": r.prompt_len,
            "target_model": MODEL,
            "max_tokens": MAX_TOKENS,
            "dataset": r.dataset,
        }
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    target = Path(__file__).with_name(BUNDLED_SAMPLE)
    target.write_text("".join(lines), encoding="utf-8")
    print(f"wrote {len(lines)} records to {target.name} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
