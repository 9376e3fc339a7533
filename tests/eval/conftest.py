"""Helpers for the evaluation tests: CASTILLO records of the real shared data (cached per session)."""

from __future__ import annotations

from functools import lru_cache

import pytest

from sagepred.importers import load_castillo
from sagepred.records import LengthRecord


@lru_cache(maxsize=8)
def _castillo(folder: str, model: str, split: str) -> tuple[LengthRecord, ...]:
    return tuple(load_castillo(folder, model, split))


@pytest.fixture(scope="session")
def castillo(data_dir):
    """``castillo(model, split) -> list[LengthRecord]`` from the real CASTILLO files."""

    def load(model: str = "meta-llama--Llama-3.1-8B-Instruct", split: str = "validate") -> list[LengthRecord]:
        return list(_castillo(str(data_dir / "castillo"), model, split))

    return load
