"""The README opens with the two commands a newcomer runs, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (REPO_ROOT / "README.md").read_text("utf-8"), re.S)
    assert block is not None, "the README opens without a bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_opens_with_a_setup_and_a_test_command() -> None:
    setup, tests = _readme_commands()
    assert setup.startswith("bash scripts/setup.sh") and "sagepred train" in setup
    assert tests.startswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    assert _readme_commands()[1] in [line.strip() for line in ci if not line.lstrip().startswith("#")]
