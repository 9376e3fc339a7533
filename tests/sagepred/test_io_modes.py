"""Atomic writes keep ordinary file modes: the umask decides, not mkstemp's 0600 / mkdtemp's 0700."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagepred.io import atomic_directory, atomic_write_text


@pytest.fixture(params=[0o022, 0o027])
def umask(request) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_atomic_file_follows_the_umask(tmp_path, umask):
    target = tmp_path / "preds.jsonl"
    atomic_write_text(target, "{}\n")
    assert _mode(target) == 0o666 & ~umask
    atomic_write_text(target, "{}\n{}\n")
    assert _mode(target) == 0o666 & ~umask


def test_atomic_directory_follows_the_umask(tmp_path, umask):
    target = tmp_path / "checkpoint"
    with atomic_directory(target) as tmp:
        (tmp / "config.json").write_text("{}")
        atomic_write_text(tmp / "sub" / "model.safetensors", "x")
    assert _mode(target) == 0o777 & ~umask
    assert _mode(target / "config.json") == 0o666 & ~umask
    assert _mode(target / "sub" / "model.safetensors") == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_files_written_0600_inside_an_atomic_directory_end_up_ordinary(tmp_path, umask):
    import numpy as np
    from safetensors.numpy import save_file

    target = tmp_path / "checkpoint"
    with atomic_directory(target) as tmp:
        save_file({"w": np.zeros(3, dtype=np.float32)}, str(tmp / "model.safetensors"))
        private = tmp / "train_prompts.safetensors"
        private.write_bytes(b"x")
        os.chmod(private, 0o600)
    assert {_mode(p) for p in target.iterdir()} == {0o666 & ~umask}


def test_zoo_pull_and_eval_report_are_readable_by_others(tmp_path, monkeypatch):
    from sagepred import zoo

    monkeypatch.setenv("SAGEPRED_CACHE_DIR", str(tmp_path / "cache"))
    old = os.umask(0o022)
    try:
        folder = zoo.pull("llama-3-8b", output=tmp_path / "pulled")
    finally:
        os.umask(old)
    cached = tmp_path / "cache" / "zoo" / "llama-3-8b"
    for root in (folder, cached):
        assert _mode(root) == 0o755
        assert {_mode(p) for p in root.iterdir()} == {0o644}
