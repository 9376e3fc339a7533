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
