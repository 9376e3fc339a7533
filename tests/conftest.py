"""Shared fixtures: the real data beside the project (``../shared/data``) and offline settings."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SAGEPRED_NO_PROGRESS", "1")
# Tests never write into the user's cache: embeddings and downloads go to a per-session folder.
os.environ.setdefault("SAGEPRED_CACHE_DIR", tempfile.mkdtemp(prefix="sagepred-test-cache-"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$SAGEPRED_DATA_DIR`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("SAGEPRED_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def require_data_dir() -> Path:
    """The real-data folder, or skip (fail when ``SAGEPRED_REQUIRE_DATA=1``, as in CI) when it is missing."""
    path = shared_data_dir()
    if not path.is_dir():
        reason = f"real data missing at {path}: run `sagepred data fetch`"
        if os.environ.get("SAGEPRED_REQUIRE_DATA") == "1":
            pytest.fail(f"{reason} (SAGEPRED_REQUIRE_DATA=1)")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The full real data (``../shared/data``); tests using it skip on a bare clone."""
    return require_data_dir()


@pytest.fixture(scope="session")
def maybe_data_dir() -> Path | None:
    """The full real data when it is there, else None (for tests that also run on a bare clone)."""
    path = shared_data_dir()
    return path if path.is_dir() else None
