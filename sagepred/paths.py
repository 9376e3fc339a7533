"""Where sagepred looks for the real data and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """The real-data folder: ``$SAGEPRED_DATA_DIR``, else ``../shared/data`` from the working directory."""
    return Path(os.environ.get("SAGEPRED_DATA_DIR", Path.cwd().parent / "shared" / "data"))


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root: ``$SAGEPRED_CACHE_DIR``, else ``~/.cache/sagepred``."""
    return Path(os.environ.get("SAGEPRED_CACHE_DIR", Path.home() / ".cache" / "sagepred")).joinpath(*parts)
