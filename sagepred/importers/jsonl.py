"""JSONL sources: native length records or OpenAI-style logs, sniffed from the first line."""

from __future__ import annotations

from pathlib import Path

from sagepred.errors import InputError
from sagepred.importers._common import filter_target
from sagepred.importers.openai_log import is_openai_log_line, load_openai_log
from sagepred.records import LengthRecord, iter_jsonl, read_jsonl_records


def load_jsonl(
    path: str | Path, model: str | None = None, tokenizer: str | None = None
) -> list[LengthRecord]:
    """A JSONL file of native records or of OpenAI-style logs (sniffed from the first line).

    With ``model``, only that target's records are kept (:func:`filter_target`); a record that names
    no target model is taken to be ``model``'s.
    """
    first = next(iter_jsonl(path), None)
    if first is None:
        raise InputError("no records (the file is empty)", path=path)
    if is_openai_log_line(first[1]):
        return load_openai_log(path, model=model, tokenizer=tokenizer)
    return filter_target(read_jsonl_records(path, default_model=model or ""), model, path)
