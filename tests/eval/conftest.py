"""Helpers for the evaluation tests: CASTILLO records read straight from the shared CSV."""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import pytest

from sagepred.records import LengthRecord

CASTILLO_CAP = 14_999


@lru_cache(maxsize=8)
def _castillo(folder: str, model: str, split: str) -> tuple[LengthRecord, ...]:
    base = Path(folder)
    prompts = {}
    with (base / "castillo_prompts.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            prompts[row["prompt_id"]] = row["prompt_text"]
    records = []
    with (base / "castillo_samples.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["model"] != model or row["split"] != split or row["prompt_id"] not in prompts:
                continue
            lens = tuple(int(float(row[f"out_{i}"])) for i in range(10))
            records.append(
                LengthRecord(
                    prompt=prompts[row["prompt_id"]],
                    output_lens=tuple(max(n, 1) for n in lens),
                    censored=tuple(n >= CASTILLO_CAP for n in lens),
                    prompt_len=int(float(row["input_size"])),
                    target_model=model,
                    record_id=row["prompt_id"],
                    dataset=row["dataset"],
                    category=row["category"],
                    split=split,
                )
            )
    return tuple(records)


@pytest.fixture(scope="session")
def castillo(data_dir):
    """``castillo(model, split) -> list[LengthRecord]`` from the real CASTILLO files."""

    def load(model: str = "meta-llama--Llama-3.1-8B-Instruct", split: str = "validate") -> list[LengthRecord]:
        return list(_castillo(str(data_dir / "castillo"), model, split))

    return load
