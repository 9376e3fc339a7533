"""Torch thread defaults of the command line: one thread unless SAGEPRED_TORCH_THREADS / OMP_NUM_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from sagepred.errors import InputError
from sagepred.threads import DEFAULT_THREADS, configure_torch_threads, requested_threads


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, DEFAULT_THREADS),
        ({"SAGEPRED_TORCH_THREADS": "3"}, 3),
        ({"SAGEPRED_TORCH_THREADS": "auto"}, None),
        ({"OMP_NUM_THREADS": "4"}, None),
        ({"OMP_NUM_THREADS": "4", "SAGEPRED_TORCH_THREADS": "2"}, 2),
    ],
)
def test_requested_threads(env, expected):
    assert requested_threads(env) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_thread_setting_is_an_input_error(bad):
    with pytest.raises(InputError, match="SAGEPRED_TORCH_THREADS"):
        requested_threads({"SAGEPRED_TORCH_THREADS": bad})


def test_configure_sets_torch_for_torch_commands_only(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setenv("SAGEPRED_TORCH_THREADS", "2")
        torch.set_num_threads(1)
        assert configure_torch_threads("zoo") is None and torch.get_num_threads() == 1
        assert configure_torch_threads("train", lora=True) == 2  # an explicit setting applies to LoRA too
        monkeypatch.delenv("SAGEPRED_TORCH_THREADS")
        torch.set_num_threads(2)
        # left alone (a process whose CPU affinity an in-process engine narrowed may hold 1, not 2)
        threads = torch.get_num_threads()
        assert configure_torch_threads("train", lora=True) is None and torch.get_num_threads() == threads
        assert configure_torch_threads("predict") == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def _threads_in_cli(env: dict[str, str]) -> str:
    code = (
        "import sys, torch\n"
        "import sagepred.cli as cli\n"
        "from sagepred.cli import predict\n"
        "predict.Command.run = lambda self, args: print(torch.get_num_threads()) or 0\n"
        "sys.exit(cli.main(['predict', '--model', 'x', '--input', 'i', '--output', 'o']))\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "SAGEPRED_TORCH_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**base, **env}
    )
    assert out.returncode == 0 or env.get("SAGEPRED_TORCH_THREADS") == "zero", out.stderr
    return (out.stdout + out.stderr).strip()


def test_the_cli_runs_commands_with_one_thread_by_default():
    assert _threads_in_cli({}) == "1"
    assert _threads_in_cli({"SAGEPRED_TORCH_THREADS": "2"}) == "2"
    line = _threads_in_cli({"SAGEPRED_TORCH_THREADS": "zero"})
    assert (
        line
        == "sagepred predict: error: field 'SAGEPRED_TORCH_THREADS': expected a positive integer or 'auto', got 'zero'"
    )
