"""Every numeric option and output path of every subcommand is validated while parsing: one line, exit 2,
nothing run or written."""

from __future__ import annotations

import argparse

import pytest

from sagepred.cli import base, build_parser, main

BAD_VALUES = {
    base.positive_int: ["0", "-3", "1.5", "ten", ""],
    base.non_negative_int: ["-1", "0.5", "x"],
    base.seed_int: ["-1", "4294967296", "1e3"],
    base.port_number: ["0", "65536", "-80", "http"],
    base.positive_float: ["0", "-1", "nan", "inf", "-inf", "1e999"],
    base.non_negative_float: ["-0.5", "nan", "inf"],
    base.probability: ["1.5", "-0.1", "nan"],
    base.cosine_similarity: ["2", "-1.01", "nan"],
    base.above_minus_one: ["-1", "-2.5", "inf", "x"],
    base.positive_int_list: ["0", "1,,2", "a,b", "", "1,-2", "1.5"],
    base.positive_float_list: ["0", "1,,2", "x", ",", "1,nan"],
}
GOOD_VALUES = {
    base.positive_int: ("7", 7),
    base.non_negative_int: ("0", 0),
    base.seed_int: ("4294967295", 2**32 - 1),
    base.port_number: ("8000", 8000),
    base.positive_float: ("2.5", 2.5),
    base.non_negative_float: ("0", 0.0),
    base.probability: ("1", 1.0),
    base.cosine_similarity: ("-0.5", -0.5),
    base.above_minus_one: ("-0.2", -0.2),
    base.positive_int_list: ("1, 2,4", [1, 2, 4]),
    base.positive_float_list: ("0.5,2", [0.5, 2.0]),
}


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(command path, action)`` for every option of every (nested) subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))
        else:
            yield path, action


ACTIONS = list(_walk(build_parser()[0]))
NUMERIC = [
    (path, action) for path, action in ACTIONS if action.type in base.NUMERIC_TYPES and action.option_strings
]


OUTPUT_DESTS = {"output", "json", "json_out", "plot"}
OUTPUTS = [
    (path, action)
    for path, action in ACTIONS
    if action.dest in OUTPUT_DESTS and action.option_strings and action.nargs != 0
]
OUTPUT_IDS = [f"{' '.join(p)} {a.option_strings[-1]}" for p, a in OUTPUTS]


def test_the_registry_has_numeric_options_everywhere_expected():
    commands = {path[0] for path, _ in NUMERIC}
    assert {"train", "predict", "eval", "simulate", "serve", "profile", "data"} <= commands
    assert len(NUMERIC) >= 25


OPTIONS = [pair for pair in ACTIONS if pair[1].option_strings]


@pytest.mark.parametrize(
    "path,action", OPTIONS, ids=[f"{' '.join(p)} {a.option_strings[-1]}" for p, a in OPTIONS]
)
def test_no_option_parses_bare_numbers(path, action):
    assert action.type not in (int, float), (
        f"sagepred {' '.join(path)} {action.option_strings[0]} uses bare {action.type.__name__}: "
        "use a validated type from sagepred.cli.base"
    )


@pytest.mark.parametrize("helper", list(GOOD_VALUES), ids=lambda h: h.__name__)
def test_helpers_accept_good_values(helper):
    text, value = GOOD_VALUES[helper]
    assert helper(text) == value


def test_every_helper_has_bad_values():
    assert set(BAD_VALUES) == set(base.NUMERIC_TYPES) == set(GOOD_VALUES)


@pytest.mark.parametrize(
    "path,action",
    NUMERIC,
    ids=[f"{' '.join(p)} {a.option_strings[-1]}" for p, a in NUMERIC],
)
def test_numeric_option_rejects_bad_values_in_one_line(path, action, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    option = action.option_strings[-1]
    for bad in BAD_VALUES[action.type]:
        assert main([*path, f"{option}={bad}"]) == 2, (path, option, bad)
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith(f"sagepred {' '.join(path)}: error: argument ")
        assert option in lines[0] and repr(bad) in lines[0], lines[0]
        assert "Traceback" not in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv,expected",
    [
        (
            ["predict", "--checkpoint", "x", "--model", "y", "--input", "i", "--output", "o"],
            "not allowed with",
        ),
        (
            ["predict", "--input", "i", "--output", "o"],
            "give --checkpoint DIR, or --model TARGET",
        ),
        (
            ["train", "--model", "llama-3-8b", "--no-mlflow", "--tracking-uri", "sqlite:///x.db"],
            "not allowed",
        ),
        (
            [
                "eval",
                "--checkpoint",
                "baseline:global",
                "--data",
                "d",
                "--output",
                "o",
                "--no-mlflow",
                "--tracking-uri",
                "sqlite:///x.db",
            ],
            "not allowed",
        ),
    ],
    ids=["predict-both", "predict-neither", "train-tracking", "eval-tracking"],
)
def test_exclusive_options_are_one_line_errors(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_help_and_version_still_exit_zero(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert "sagepred" in capsys.readouterr().out


def test_the_registry_finds_the_output_options():
    found = {(p[0], a.option_strings[-1]) for p, a in OUTPUTS}
    assert {
        ("predict", "--output"),
        ("eval", "--output"),
        ("train", "--output"),
        ("simulate", "--plot"),
    } <= found
    assert len(OUTPUTS) >= 9


@pytest.mark.parametrize("path,action", OUTPUTS, ids=OUTPUT_IDS)
def test_every_output_option_is_a_checked_path(path, action):
    assert action.type in (base.output_file, base.output_folder), (
        f"sagepred {' '.join(path)} {action.option_strings[-1]}: use output_file or output_folder"
    )


@pytest.mark.parametrize("path,action", OUTPUTS, ids=OUTPUT_IDS)
def test_a_wrong_kind_of_output_path_is_one_line_at_parse_time(path, action, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("mine")
    option = action.option_strings[-1]
    wants_file = action.type is base.output_file
    bad = ["", "a-file/below"] + (["a-folder"] if wants_file else ["a-file", "."])
    for value in bad:
        assert main([*path, f"{option}={value}"]) == 2, (path, option, value)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        line = lines[0]
        assert line.startswith(f"sagepred {' '.join(path)}: error: argument ") and option in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]
    assert (tmp_path / "a-file").read_text() == "mine" and not any((tmp_path / "a-folder").iterdir())


@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (["predict", "--bogus", "--input", "a", "--output", "b.jsonl"], "sagepred predict"),
        (["zoo", "list", "--bogus"], "sagepred zoo list"),
        (["--bogus"], "sagepred"),
    ],
    ids=["subcommand", "nested", "top"],
)
def test_an_unknown_option_is_reported_by_the_command_it_was_given_to(
    argv, prog, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: unrecognized arguments: --bogus"), lines
    assert f"see {prog} --help" in lines[0] and list(tmp_path.iterdir()) == []
