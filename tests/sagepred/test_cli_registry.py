"""The command line: every subcommand is registered, has --help, and imports without heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sagepred.cli import SUBCOMMAND_MODULES, build_parser, main


def test_every_subcommand_is_registered():
    _, commands = build_parser()
    assert set(commands) == set(SUBCOMMAND_MODULES)
    assert {"train", "predict", "eval", "compare", "simulate", "profile", "serve", "zoo"} <= set(commands)


@pytest.mark.parametrize("name", sorted(SUBCOMMAND_MODULES))
def test_help_exits_zero(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: sagepred" in capsys.readouterr().out


def test_top_level_help_is_light():
    code = "import sys; from sagepred.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False", "building the parser must not import torch"
