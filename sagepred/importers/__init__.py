"""Importers: real length data from CASTILLO, AlpacaEval, OpenAI-style logs and native JSONL records.

:func:`load_records` is the one entry point every CLI uses for ``--data`` / ``--records``; it
dispatches on the source's form (see its docstring). One module per source: :mod:`.castillo`,
:mod:`.alpaca_eval`, :mod:`.openai_log`, :mod:`.jsonl` and :mod:`.hf` (Hugging Face ``datasets``
conversations); :mod:`._common` holds what they share.

Empty responses: a response with no tokens carries no length to learn from (and a record needs
positive lengths), so AlpacaEval, log and conversation importers drop it and emit one
:class:`DroppedRowsWarning` with the count. Everything else that is malformed raises
:class:`~sagepred.errors.InputError` naming the file, the line (or list index) and the field.
"""

from __future__ import annotations

from pathlib import Path

from sagepred.errors import InputError
from sagepred.importers._common import (
    BUNDLED_SAMPLE,
    DroppedRowsWarning,
    bundled_sample_path,
    resolve_model_name,
)
from sagepred.importers.alpaca_eval import alpaca_eval_max_tokens, censor_threshold, load_alpaca_eval
from sagepred.importers.castillo import (
    CASTILLO_CENSORED_AT,
    CASTILLO_MAX_NEW_TOKENS,
    CASTILLO_PROMPTS,
    CASTILLO_SAMPLES,
    castillo_models,
    load_castillo,
)
from sagepred.importers.jsonl import load_jsonl
from sagepred.importers.openai_log import is_openai_log_line, load_openai_log
from sagepred.records import LengthRecord
from sagepred.targets import data_model_name
from sagepred.tokenizers import default_data_dir

__all__ = [
    "BUNDLED_SAMPLE",
    "CASTILLO_CENSORED_AT",
    "CASTILLO_MAX_NEW_TOKENS",
    "CASTILLO_PROMPTS",
    "CASTILLO_SAMPLES",
    "DroppedRowsWarning",
    "alpaca_eval_max_tokens",
    "bundled_sample_path",
    "castillo_models",
    "censor_threshold",
    "is_openai_log_line",
    "load_alpaca_eval",
    "load_castillo",
    "load_jsonl",
    "load_openai_log",
    "load_records",
    "resolve_model_name",
]


def _short_form(source: str, model: str | None) -> tuple[str, str | None] | None:
    kind, _, rest = source.partition(":")
    data = default_data_dir()
    if kind == "castillo":
        return str(data / "castillo"), rest or model
    if kind == "alpaca_eval":
        name = data_model_name(rest or model)
        if not name:
            raise InputError(
                "alpaca_eval: needs a model name (alpaca_eval:MODEL)", path=source, field="model"
            )
        return str(data / "alpaca_eval" / "model_outputs" / f"{name}.json"), None
    return None


def load_records(
    source: str | Path,
    model: str | None = None,
    split: str | None = None,
    tokenizer: str | None = None,
    max_tokens: int | None = None,
) -> list[LengthRecord]:
    """Load length records from any supported source.

    Source forms:
      - ``*.jsonl``: native records (:func:`sagepred.records.record_from_json`) or OpenAI-style logs
        (:func:`load_openai_log`), sniffed from the first line; ``model`` is the default target.
      - a CASTILLO folder, the data root holding ``castillo/``, or ``castillo_samples.csv``: needs
        ``model``; ``split`` filters (:func:`load_castillo`).
      - ``*.json``, or a folder holding ``model_outputs.json``: AlpacaEval outputs
        (:func:`load_alpaca_eval`); ``tokenizer`` defaults to the model family's.
      - ``castillo:MODEL`` and ``alpaca_eval:MODEL``: the same under :func:`default_data_dir`.
      - ``hf:NAME[:SPLIT]``: a Hugging Face dataset of conversations (needs a network;
        :func:`sagepred.importers.hf.load_hf_conversations`); ``split`` defaults to ``train``.

    ``split`` also filters records of other sources by their ``split`` field. ``max_tokens``
    sets the censoring cap for AlpacaEval when its config is not beside the file.
    """
    source = str(source)
    if source.startswith("hf:"):
        from sagepred.importers.hf import load_hf_conversations

        name, _, hf_split = source[3:].partition(":")
        return load_hf_conversations(
            name, split=hf_split or split or "train", tokenizer=tokenizer, model=model
        )
    short = _short_form(source, model)
    if short is not None:
        source, model = short
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(
            "not found (a .jsonl, .json, CASTILLO folder or castillo:/alpaca_eval:/hf: source)", path=path
        )
    if path.is_dir() and (path / "model_outputs.json").is_file():
        path = path / "model_outputs.json"
    if path.is_dir() or path.suffix == ".csv":
        if path.is_dir() and not any((d / CASTILLO_SAMPLES).is_file() for d in (path, path / "castillo")):
            raise InputError(
                f"a folder with neither model_outputs.json (AlpacaEval) nor {CASTILLO_SAMPLES} (CASTILLO, "
                "here or in castillo/); give a .jsonl or .json file, or such a folder",
                path=path,
            )
        if not model:
            raise InputError("CASTILLO needs a model (--model)", path=path, field="model")
        return load_castillo(path, model, split)
    if path.suffix == ".json":
        records = load_alpaca_eval(path, tokenizer=tokenizer, max_tokens=max_tokens)
    else:
        records = load_jsonl(path, model=model, tokenizer=tokenizer)
    return _filter_split(records, split, path)


def _filter_split(records: list[LengthRecord], split: str | None, path: Path) -> list[LengthRecord]:
    if split is None:
        return records
    kept = [r for r in records if r.split == split]
    if not kept:
        found = sorted({str(r.split) for r in records})
        raise InputError(
            f"no records in split {split!r} (found: {', '.join(found)})", path=path, field="split"
        )
    return kept
