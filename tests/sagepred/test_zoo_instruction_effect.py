"""benchmarks/zoo_instruction_effect.py on the real data: a reading switched off and on, one checkpoint."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

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


def test_one_setting_against_the_shipped_ones_on_list_like_prompts(data_dir, tmp_path, monkeypatch):
    """gemma-3-4b's list-like prompts scored as shipped and with the floor under a misread list off: some
    never-seen prompt moves (a head far below its list's size), none that is not list-like is scored."""
    from sagepred.instruction_adjust import is_list_like
    from sagepred.length_instructions import parse_length_request

    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(data_dir))
    module = _module()
    out = tmp_path / "floor.json"
    argv = [
        "--names",
        "gemma-3-4b",
        "--unit",
        "list-like",
        "--without-setting",
        "list_floor=none",
        "--json",
        str(out),
    ]
    assert module.main(argv) == 0
    result = json.loads(out.read_text())
    (row,) = result["checkpoints"]
    assert result["without"] == "list_floor=None"
    assert all(is_list_like(parse_length_request(p)) for p in row["prompts"])
    moved = [
        w != wo
        for w, wo, t in zip(row["crps_with"], row["crps_without"], row["trained"], strict=True)
        if not t
    ]
    assert any(moved) and not all(moved)


def test_an_unknown_setting_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        _module().main(["--without-setting", "floor=1"])
    assert exit_.value.code == 2
    assert "expected NAME=VALUE with NAME one of" in capsys.readouterr().err
