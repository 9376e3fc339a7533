"""benchmarks/zoo_instruction_effect.py on the real data: a reading switched off and on, one checkpoint."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        "zoo_instruction_effect", ROOT / "benchmarks" / "zoo_instruction_effect.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_transforms_on_prompts_the_checkpoint_never_saw(data_dir, tmp_path, monkeypatch):
    """llama-3.1-8b: its CASTILLO prompts read as transforms, scored with and without the reading; the
    switch is undone afterwards."""
    from sagepred.length_instructions import parse_length_request

    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(data_dir))
    module = _module()
    out = tmp_path / "effect.json"
    assert module.main(["--names", "llama-3.1-8b", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["checkpoints"]
    assert row["name"] == "llama-3.1-8b" and len(row["prompts"]) >= 5
    assert all(parse_length_request(p).unit == "pasted_text" for p in row["prompts"])
    never = result["never_seen"]
    assert never["pairs"] == row["trained"].count(False) > 0
    assert row["crps_with"] != row["crps_without"]  # the reading moves the predictions
    assert (
        parse_length_request("Proofread this:\n\n" + "The committee met on Tuesday. " * 5).unit
        == "pasted_text"
    )


def test_a_missing_data_folder_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(tmp_path))
    assert _module().main([]) == 2
    assert "no CASTILLO data" in capsys.readouterr().err
