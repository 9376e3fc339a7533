"""Output paths: checked while parsing, nothing of a user's replaced unasked, write failures in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepred.cli import main
from sagepred.errors import InputError
from sagepred.io import atomic_directory, atomic_write_text, replaceable_folder


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def records_files(tmp_path):
    """Training and evaluation records from the bundled real sample (no data folder needed)."""
    import sagepred

    lines = (
        (Path(sagepred.__file__).parent / "data" / "llama-3-8b-alpaca-eval.jsonl").read_text().splitlines()
    )
    train, data = tmp_path / "train.jsonl", tmp_path / "data.jsonl"
    train.write_text("\n".join(lines[:60]) + "\n")
    data.write_text("\n".join(lines[60:100]) + "\n")
    return train, data


def _eval(records: tuple[Path, Path], output: Path, *extra: str) -> int:
    train, data = records
    argv = ["eval", "--checkpoint", "baseline:global", "--train-data", str(train), "--data", str(data)]
    return main([*argv, "--no-mlflow", "--output", str(output), *extra])


def test_eval_keeps_a_folder_of_other_files_and_replaces_its_own_report(records_files, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("important")
    assert _eval(records_files, mine) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(mine) in line and "--overwrite" in line
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]

    report = tmp_path / "report"
    assert _eval(records_files, report) == 0
    first = json.loads((report / "metrics.json").read_text())
    assert _eval(records_files, report) == 0  # an earlier report is replaced
    assert json.loads((report / "metrics.json").read_text())["crps"] == first["crps"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp or backup left

    assert _eval(records_files, mine, "--overwrite") == 0
    assert (mine / "metrics.json").is_file() and not (mine / "notes.txt").exists()


def test_zoo_pull_keeps_a_folder_of_other_files(tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "thesis.tex").write_text("chapter 1")
    assert main(["zoo", "pull", "llama-3-8b", "--output", str(mine)]) == 2
    assert "--overwrite" in _one_line(capsys.readouterr().err)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    copy = tmp_path / "copy"
    assert main(["zoo", "pull", "llama-3-8b", "--output", str(copy)]) == 0
    assert main(["zoo", "pull", "llama-3-8b", "--output", str(copy)]) == 0  # its own checkpoint: replaced
    assert (copy / "config.json").is_file()


def test_predict_refuses_to_write_over_its_input(tmp_path, capsys):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "In one word: what colour is the sky?"}\n')
    before = prompts.read_bytes()
    same = tmp_path / "." / "prompts.jsonl"
    assert main(["predict", "--model", "llama-3-8b", "--input", str(prompts), "--output", str(same)]) == 2
    assert "--input" in _one_line(capsys.readouterr().err)
    assert prompts.read_bytes() == before


def test_replaceable_folder_rules(tmp_path):
    assert (
        replaceable_folder(tmp_path / "absent", ("metrics.json",), False, "--output") == tmp_path / "absent"
    )
    (tmp_path / "empty").mkdir()
    replaceable_folder(tmp_path / "empty", ("metrics.json",), False, "--output")
    other = tmp_path / "other"
    other.mkdir()
    (other / "x").write_text("x")
    with pytest.raises(InputError, match="--overwrite"):
        replaceable_folder(other, ("metrics.json",), False, "--output")
    replaceable_folder(other, ("metrics.json",), True, "--output")
    (other / "metrics.json").write_text("{}")
    replaceable_folder(other, ("metrics.json",), False, "--output")
    with pytest.raises(InputError, match="not a folder"):
        replaceable_folder(other / "x", (), True, "--output")


def test_a_write_the_system_refuses_is_one_line_naming_the_path():
    refused = Path("/proc/sagepred-test/out.json")  # procfs takes no new files, even from root
    with pytest.raises(InputError, match="cannot write here") as raised:
        atomic_write_text(refused, "{}")
    assert str(refused) in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(InputError, match="cannot write here"), atomic_directory(refused.parent / "report"):
        pass


def test_a_write_below_a_missing_system_folder_is_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match="cannot write here"):
        atomic_write_text(target / "below.json", "{}")
    with pytest.raises(InputError, match="cannot write here"), atomic_directory(target / "report"):
        pass
    assert target.read_text() == "x" and [p.name for p in tmp_path.iterdir()] == ["file"]
