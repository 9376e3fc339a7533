"""benchmarks/instruction_audit.py on the real data: the parser against what the models wrote."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _audit_module():
    spec = importlib.util.spec_from_file_location(
        "instruction_audit", ROOT / "benchmarks" / "instruction_audit.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_parser_tracks_what_the_models_wrote(data_dir, tmp_path):
    """Asked and observed lengths correlate, and nothing changes against the checked-out revision."""
    if (
        shutil.which("git") is None
        or subprocess.run(["git", "-C", str(ROOT), "rev-parse"], check=False).returncode
    ):
        pytest.skip("needs the git checkout (benchmarks/instruction_audit.py --against reads a revision)")
    out = tmp_path / "audit.json"
    args = ["--data-dir", str(data_dir), "--against", "HEAD", "--repeats", "1", "--json", str(out)]
    assert _audit_module().main(args) == 0
    result = json.loads(out.read_text())
    now = result["now"]
    assert now["prompts"] == 7570
    assert now["log_asked_vs_observed"]["prompts"] > 250
    assert now["log_asked_vs_observed"]["correlation"] > 0.6
    assert now["absolute"]["sentence"]["prompts"] > 40
    assert 0.8 < now["absolute"]["form"]["observed_over_asked_median"] < 1.25
    # a rewrite of a pasted text is about as long as the text (models add a line of preamble)
    assert now["absolute"]["pasted_text"]["prompts"] > 30
    assert 0.8 < now["absolute"]["pasted_text"]["observed_over_asked_median"] < 1.25
    grammar = [
        "sagepred/length_instructions.py",
        "sagepred/length_instructions_multilingual.py",
        "sagepred/length_grammars.py",
        "sagepred/length_transforms.py",
        "sagepred/transform_grammars.py",
        "sagepred/length_fields.py",
        "sagepred/code_only.py",
        "sagepred/list_sizes.py",
    ]
    if subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", *grammar]).returncode == 0:
        then = {k: v for k, v in result["then"].items() if k != "parse_time"}
        assert result["changed"] == [] and then == {k: v for k, v in now.items() if k != "parse_time"}
    assert set(now["parse_time"]) == {"all_prompts_s", "adversarial_s"}


def test_a_missing_data_folder_is_one_line(tmp_path, capsys):
    assert _audit_module().main(["--data-dir", str(tmp_path)]) == 2
    assert "no CASTILLO data" in capsys.readouterr().err


def test_a_revision_is_read_with_all_of_its_grammar_modules():
    """Every sagepred module a grammar module imports is one the audit reads at the revision too; a
    module left out would be imported from today's tree, and "then" would read partly as now."""
    import re

    modules = set(_audit_module().GRAMMAR_MODULES)
    imported = {
        name
        for module in modules
        for name in re.findall(
            r"^\s*(?:from|import) sagepred\.(\w+)",
            (ROOT / "sagepred" / f"{module}.py").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    }
    assert imported <= modules, imported - modules
