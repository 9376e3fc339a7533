"""``eval --data holdout`` without the data folder uses the same fallback source as ``train``."""

from __future__ import annotations

import json
from pathlib import Path

from sagepred.training.data import held_out_records
from sagepred.zoo import PACKAGED_ZOO


def _provenance() -> dict:
    return json.loads((PACKAGED_ZOO / "llama-3-8b" / "config.json").read_text())["data"]


def test_missing_recipe_source_falls_back_to_the_bundled_sample(tmp_path: Path, maybe_data_dir: Path | None):
    provenance = _provenance()
    notes: list[str] = []
    held = held_out_records(provenance, data_dir=tmp_path / "no-data", notify=notes.append)
    assert len(held) == provenance["eval_records"]
    assert any("bundled" in note for note in notes)
    if maybe_data_dir is not None:
        same = held_out_records(provenance, data_dir=maybe_data_dir)
        assert [(r.record_id, r.output_lens, r.prompt_len) for r in same] == [
            (r.record_id, r.output_lens, r.prompt_len) for r in held
        ]


def test_a_by_prompt_holdout_is_rebuilt_from_the_prompt_texts(tmp_path: Path):
    """Checkpoints exported from the pooled model hold out prompts by text: the rebuilt set is the
    prompt split's, whatever the file order and whatever the records' ids."""
    from sagepred.records import LengthRecord, prompt_split, read_jsonl_records, write_jsonl_records

    prompts = [f"Question number {i}: what is {i} squared?" for i in range(200)]
    records = [LengthRecord(prompt=p, output_lens=[10 + i], record_id=f"r{i}") for i, p in enumerate(prompts)]
    path = tmp_path / "records.jsonl"
    write_jsonl_records(records[::-1], path)
    provenance = {
        "source": str(path),
        "kind": "user",
        "holdout": {"by": "prompt", "fraction": 0.2, "seed": 3, "salt": "pooled"},
    }
    held = held_out_records(provenance)
    expected = {p for p, h in zip(prompts, prompt_split(prompts, 0.2, 3), strict=True) if h}
    assert {r.prompt_text for r in held} == expected and 20 <= len(held) <= 60
    other_seed = {**provenance, "holdout": {**provenance["holdout"], "seed": 4}}
    assert {r.prompt_text for r in held_out_records(other_seed)} != expected
    assert len(read_jsonl_records(path)) == 200
