"""``sagepred predict`` with prompts as arguments: the table, JSON lines, and what it refuses."""

from __future__ import annotations

import json

import pytest

from sagepred.cli import main
from sagepred.length_instructions import parse_length_request

PROMPTS = [
    "Is Paris the capital of France? Yes or no.",
    "Write a history of the Silk Road, 1,500 words.",
    "Tell me about the Silk Road.",
]


def test_prompts_as_arguments_print_a_table_with_the_instruction_read(capsys):
    assert main(["predict", "--model", "gpt-4", *PROMPTS]) == 0
    out = capsys.readouterr().out
    assert "tokens of gpt4" in out
    for header in ("median", "80% interval", "mean", "instruction read"):
        assert header in out
    lines = {rid: line for rid in ("arg:1", "arg:2", "arg:3") for line in out.splitlines() if rid in line}
    assert "a word or so" in lines["arg:1"]
    assert "1,500 words" in lines["arg:2"]
    assert "—" in lines["arg:3"]


def test_json_lines_hold_what_the_file_would(tmp_path, capsys):
    assert main(["predict", "--model", "gpt-4", "--json", *PROMPTS]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["id"] for row in printed] == ["arg:1", "arg:2", "arg:3"]
    medians = [row["quantiles"][row["levels"].index(0.5)] for row in printed]
    assert medians[0] < 10 < 1000 < medians[1]  # "yes or no" against 1,500 words
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(json.dumps({"id": f"arg:{i}", "prompt": p}) + "\n" for i, p in enumerate(PROMPTS, 1))
    )
    out = tmp_path / "preds.jsonl"
    assert main(["predict", "--model", "gpt-4", "--input", str(prompts), "--output", str(out)]) == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give prompts as arguments"),
        (["--input", "prompts.jsonl", "Write a haiku."], "not both"),
        (["   "], "the prompt is empty (arg:1)"),
        (["--json", "--output", "out.jsonl", "Write a haiku."], "--json prints to the terminal"),
    ],
)
def test_refusals_are_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", "gpt-4", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("prompt", "reading"),
    [
        ("Write a history of the Silk Road, 1,500 words.", "1,500 words"),
        ("There should be 4 paragraphs.", "4 paragraphs (188 words)"),
        ("Is Paris in France? Yes or no.", "a word or so"),
        ("Briefly, what is tea?", "x0.5 (brief)"),
        ("Write a haiku about silk.", "haiku (20 words)"),
        ("Write half a page about tea.", "0.5 pages (250 words)"),
        ("Tell me about tea.", ""),
    ],
)
def test_a_reading_is_described_in_a_few_words(prompt, reading):
    assert parse_length_request(prompt).describe() == reading


def test_a_checkpoint_that_reads_no_instruction_shows_no_reading(tmp_path, capsys):
    from sagepred.loading import load_predictor

    predictor = load_predictor("gpt-4")
    predictor.config.instructions = None
    predictor.save_pretrained(tmp_path / "plain")
    assert main(["predict", "--checkpoint", str(tmp_path / "plain"), PROMPTS[1]]) == 0
    out = capsys.readouterr().out
    assert "median" in out and "instruction read" not in out
