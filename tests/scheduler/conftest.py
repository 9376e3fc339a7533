"""Fixtures for scheduler tests: real CASTILLO records (parsed here, independent of the importers)."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import pytest

from sagepred.records import LengthRecord

LLAMA = "meta-llama--Llama-3.1-8B-Instruct"


@cache
def castillo_records(
    data_dir: Path, model: str = LLAMA, limit: int | None = None
) -> tuple[LengthRecord, ...]:
    """CASTILLO rows of one model as records: ten sampled lengths each, censored at 14,999 tokens."""
    folder = Path(data_dir) / "castillo"
    prompts = {}
    with (folder / "castillo_prompts.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            prompts[obj["prompt_id"]] = obj["prompt_text"]
    out = []
    with (folder / "castillo_samples.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["model"] != model:
                continue
            lens = [max(1, int(float(row[f"out_{k}"]))) for k in range(10)]
            out.append(
                LengthRecord(
                    prompt=prompts.get(row["prompt_id"]) or "(missing prompt)",
                    output_lens=tuple(lens),
                    censored=tuple(n >= 14999 for n in lens),
                    prompt_len=max(1, int(float(row["input_size"]))),
                    target_model=model,
                    record_id=row["prompt_id"],
                    dataset=row["dataset"],
                    split=row["split"],
                )
            )
            if limit is not None and len(out) >= limit:
                break
    return tuple(out)


@pytest.fixture(scope="session")
def llama_records(data_dir: Path) -> tuple[LengthRecord, ...]:
    """All CASTILLO records of Llama-3.1-8B-Instruct."""
    records = castillo_records(data_dir)
    assert len(records) > 3000
    return records
