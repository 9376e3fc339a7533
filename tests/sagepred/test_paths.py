"""Where the real data is looked for: the environment, beside the project, then from the working folder."""

from __future__ import annotations

from pathlib import Path

from sagepred.paths import PROJECT_ROOT, default_data_dir


def test_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"


def test_the_data_beside_the_project_is_found_from_any_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SAGEPRED_DATA_DIR", raising=False)
    beside = PROJECT_ROOT.parent / "shared" / "data"
    work = tmp_path / "somewhere" / "else"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert (PROJECT_ROOT / "pyproject.toml").is_file()
    expected = beside if beside.is_dir() else Path.cwd().parent / "shared" / "data"
    assert default_data_dir() == expected


def test_without_a_checkout_it_is_relative_to_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SAGEPRED_DATA_DIR", raising=False)
    monkeypatch.setattr("sagepred.paths.PROJECT_ROOT", tmp_path / "site-packages")
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    assert default_data_dir() == tmp_path / "shared" / "data"
