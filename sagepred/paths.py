"""Where sagepred looks for the real data and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The source checkout's root when sagepred runs from one (it holds ``pyproject.toml``)."""


def default_data_dir() -> Path:
    """The real-data folder: ``$SAGEPRED_DATA_DIR``; else ``shared/data`` beside the project when
    sagepred runs from a source checkout that has it there (from any working directory); else
    ``../shared/data`` from the working directory."""
    env = os.environ.get("SAGEPRED_DATA_DIR")
    if env:
        return Path(env)
    beside = PROJECT_ROOT.parent / "shared" / "data"
    if (PROJECT_ROOT / "pyproject.toml").is_file() and beside.is_dir():
        return beside
    return Path.cwd().parent / "shared" / "data"


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root: ``$SAGEPRED_CACHE_DIR``, else ``~/.cache/sagepred``."""
    return Path(os.environ.get("SAGEPRED_CACHE_DIR", Path.home() / ".cache" / "sagepred")).joinpath(*parts)
