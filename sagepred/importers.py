"""Importers: real length data from CASTILLO, AlpacaEval, OpenAI-style logs and native JSONL records.

:func:`load_records` is the one entry point every CLI uses for ``--data`` / ``--records``; it
dispatches on the source's form (see its docstring). Hugging Face ``datasets`` conversations live in
:mod:`sagepred.hf_datasets`.

Empty responses: a response with no tokens carries no length to learn from (and a record needs
positive lengths), so AlpacaEval, log and conversation importers drop it and emit one
:class:`DroppedRowsWarning` with the count. Everything else that is malformed raises
:class:`~sagepred.errors.InputError` naming the file, the line (or list index) and the field.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import warnings
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from sagepred.errors import InputError
from sagepred.records import LengthRecord, check_prompt, iter_jsonl, read_jsonl_records
from sagepred.tokenizers import TokenCounter, default_data_dir, load_tokenizer, tokenizer_for_model

CASTILLO_MAX_NEW_TOKENS = 15_000
CASTILLO_CENSORED_AT = 14_999
CASTILLO_SAMPLES = "castillo_samples.csv"
CASTILLO_PROMPTS = "castillo_prompts.jsonl"
BUNDLED_SAMPLE = "llama-3-8b-alpaca-eval.jsonl"


class DroppedRowsWarning(UserWarning):
    """Rows an importer skipped on purpose (empty responses, other target models), with their count."""


def bundled_sample_path() -> Path:
    """The real sample shipped with sagepred (Meta-Llama-3-8B-Instruct on AlpacaEval; see its README)."""
    return Path(str(resources.files("sagepred") / "data" / BUNDLED_SAMPLE))


def _warn_dropped(count: int, what: str, source: str | Path) -> None:
    if count:
        warnings.warn(f"{source}: dropped {count} {what}", DroppedRowsWarning, stacklevel=3)


def _positive_int(value: Any, *, path: str | Path, line: int | None, name: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"expected an integer, got {value!r}", path=path, line=line, field=name) from None
    if not math.isfinite(number) or number != int(number):
        raise InputError(f"expected an integer, got {value!r}", path=path, line=line, field=name)
    if number <= 0:
        raise InputError(f"expected a positive length, got {value!r}", path=path, line=line, field=name)
    return int(number)


# --------------------------------------------------------------------------- CASTILLO


def _castillo_dir(data_dir: str | Path) -> Path:
    path = Path(data_dir)
    if path.is_file():
        return path.parent
    for candidate in (path, path / "castillo"):
        if (candidate / CASTILLO_SAMPLES).is_file():
            return candidate
    raise InputError(f"no {CASTILLO_SAMPLES} here or in its castillo/ folder", path=path)


def castillo_models(data_dir: str | Path) -> list[str]:
    """The target-model names present in a CASTILLO folder."""
    path = _castillo_dir(data_dir) / CASTILLO_SAMPLES
    with path.open(newline="", encoding="utf-8") as handle:
        return sorted({row["model"] for row in csv.DictReader(handle)})


def resolve_model_name(model: str, known: Iterable[str], *, path: str | Path, field: str = "model") -> str:
    """Match ``model`` to one of ``known`` (exact, ``/`` for ``--``, or case-insensitive), else InputError."""
    known = sorted(set(known))
    wanted = model.strip().replace("/", "--")
    for name in known:
        if name in (model, wanted):
            return name
    lowered = {name.lower(): name for name in known}
    if wanted.lower() in lowered:
        return lowered[wanted.lower()]
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5) or difflib.get_close_matches(
        wanted.lower(), list(lowered), n=3, cutoff=0.4
    )
    close = [lowered.get(c, c) for c in close]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise InputError(f"unknown model {model!r}{hint} (known: {', '.join(known)})", path=path, field=field)


def _castillo_prompts(folder: Path) -> dict[str, str]:
    path = folder / CASTILLO_PROMPTS
    prompts: dict[str, str] = {}
    for line, obj in iter_jsonl(path):
        if not isinstance(obj, dict) or "prompt_id" not in obj:
            raise InputError("missing", path=path, line=line, field="prompt_id")
        if "prompt_text" not in obj:
            raise InputError("missing", path=path, line=line, field="prompt_text")
        prompts[str(obj["prompt_id"])] = obj["prompt_text"]
    return prompts


def load_castillo(data_dir: str | Path, model: str, split: str | None = None) -> list[LengthRecord]:
    """CASTILLO records of one model: ten sampled lengths per prompt, ``>= 14,999`` censored.

    ``data_dir`` is the CASTILLO folder, the data root holding ``castillo/``, or the samples CSV.
    ``model`` is the CASTILLO name (``meta-llama--Llama-3.1-8B-Instruct``) or the hub form
    (``meta-llama/Llama-3.1-8B-Instruct``). ``split`` keeps one split (``train`` / ``validate``);
    None keeps all. ``prompt_len`` is CASTILLO's ``input_size`` (chat template applied).
    """
    folder = _castillo_dir(data_dir)
    path = folder / CASTILLO_SAMPLES
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [(reader.line_num, row) for row in reader]
    name = resolve_model_name(model, {row.get("model") or "" for _, row in rows} - {""}, path=path)
    rows = [(n, row) for n, row in rows if row["model"] == name]
    if split is not None:
        splits = sorted({row["split"] for _, row in rows})
        rows = [(n, row) for n, row in rows if row["split"] == split]
        if not rows:
            raise InputError(
                f"no rows of {name} in split {split!r} (has: {', '.join(splits)})", path=path, field="split"
            )
    prompts = _castillo_prompts(folder)
    return [_castillo_record(row, line, name, prompts, path) for line, row in rows]


def _castillo_record(
    row: dict[str, str], line: int, model: str, prompts: dict[str, str], path: Path
) -> LengthRecord:
    prompt_id = row.get("prompt_id") or ""
    if prompt_id not in prompts:
        raise InputError(
            f"prompt {prompt_id!r} not in {CASTILLO_PROMPTS}", path=path, line=line, field="prompt_id"
        )
    prompt = check_prompt(prompts[prompt_id], path=path, line=line, name="prompt_text")
    lens = []
    for i in range(10):
        key = f"out_{i}"
        if row.get(key) in (None, ""):
            raise InputError("missing", path=path, line=line, field=key)
        lens.append(_positive_int(row[key], path=path, line=line, name=key))
    category = row.get("category") or None
    return LengthRecord(
        prompt=prompt,
        output_lens=tuple(lens),
        censored=tuple(n >= CASTILLO_CENSORED_AT for n in lens),
        prompt_len=_positive_int(row.get("input_size"), path=path, line=line, name="input_size"),
        target_model=model,
        max_tokens=CASTILLO_MAX_NEW_TOKENS,
        record_id=row.get("sample_id") or f"castillo:{line}",
        dataset=row.get("dataset") or None,
        category=None if category == "undefined" else category,
        split=row.get("split") or None,
    )


# --------------------------------------------------------------------------- AlpacaEval


def _as_counter(tokenizer: str | TokenCounter | None, model: str, path: str | Path) -> TokenCounter:
    if tokenizer is None:
        tokenizer = tokenizer_for_model(model)
        if tokenizer is None:
            raise InputError(
                f"no known tokenizer for model {model!r}; pass one (a short name, a path or a hub id)",
                path=path,
                field="tokenizer",
            )
    return load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer


def alpaca_eval_max_tokens(outputs_path: str | Path, model: str) -> int | None:
    """``max_tokens`` from the model's AlpacaEval config, looked up beside the outputs file, if found.

    Looks for ``../models_configs/<model>.yaml`` (this data's layout) and ``../../models_configs/<model>/
    configs.yaml`` (the alpaca_eval repository's layout).
    """
    import yaml

    path = Path(outputs_path)
    for config in (
        path.parent.parent / "models_configs" / f"{model}.yaml",
        path.parent / "configs.yaml",
        path.parent.parent.parent / "models_configs" / model / "configs.yaml",
    ):
        if not config.is_file():
            continue
        try:
            loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise InputError(f"malformed YAML ({err})", path=config) from None
        entry = loaded.get(model, next(iter(loaded.values()), {})) if isinstance(loaded, dict) else {}
        kwargs = entry.get("completions_kwargs") or {} if isinstance(entry, dict) else {}
        value = kwargs.get("max_tokens") or kwargs.get("max_new_tokens")
        if value:
            return int(value)
    return None


def _alpaca_model_name(path: Path, items: list[Any]) -> str:
    generators = {
        str(item.get("generator")) for item in items if isinstance(item, dict) and item.get("generator")
    }
    if len(generators) == 1:
        return generators.pop()
    return path.parent.name if path.stem == "model_outputs" else path.stem


def _alpaca_instruction_ids(path: Path) -> dict[str, int]:
    index = path.parent.parent / "instructions.jsonl"
    if not index.is_file():
        return {}
    return {obj["instruction"]: int(obj["idx"]) for _, obj in iter_jsonl(index) if isinstance(obj, dict)}


def censor_threshold(max_tokens: int, slack: float = 0.002) -> int:
    """Re-tokenized lengths at or above this count as censored.

    Counting a truncated response again can land a few tokens off the cap (AlpacaEval has 4095 for a
    4096 cap, 2047 for 2048), so the threshold sits ``max(2, slack·max_tokens)`` below it.
    """
    return max_tokens - max(2, round(slack * max_tokens))


def load_alpaca_eval(
    path: str | Path,
    tokenizer: str | TokenCounter | None = None,
    max_tokens: int | None = None,
    model: str | None = None,
) -> list[LengthRecord]:
    """AlpacaEval ``model_outputs`` (a JSON list of ``instruction``/``output``), lengths in real tokens.

    The output length is the response re-tokenized with the target's tokenizer (no BOS/EOS);
    ``prompt_len`` is the bare instruction's token count (no chat template). ``tokenizer`` defaults to
    the model family's shared tokenizer; ``max_tokens`` to the model's ``models_configs`` entry (no
    censoring when neither is known). A response at or above :func:`censor_threshold` is censored.
    Empty responses are dropped with a :class:`DroppedRowsWarning`.
    """
    path = Path(path)
    items = _read_json_list(path)
    name = model or _alpaca_model_name(path, items)
    counter = _as_counter(tokenizer, name, path)
    if max_tokens is None:
        max_tokens = alpaca_eval_max_tokens(path, name)
    ids = _alpaca_instruction_ids(path)
    rows = [_alpaca_row(item, i, path) for i, item in enumerate(items)]
    out_lens = counter.count_batch([output for _, output, _ in rows])
    prompt_lens = counter.count_batch([instruction for instruction, _, _ in rows])
    cut = censor_threshold(max_tokens) if max_tokens else None
    records, empty = [], 0
    for i, ((instruction, _, dataset), n_out, n_in) in enumerate(
        zip(rows, out_lens, prompt_lens, strict=True)
    ):
        if n_out == 0:
            empty += 1
            continue
        records.append(
            LengthRecord(
                prompt=instruction,
                output_lens=(n_out,),
                censored=(cut is not None and n_out >= cut,),
                prompt_len=max(n_in, 1),
                target_model=name,
                max_tokens=max_tokens,
                record_id=f"alpaca_eval:{ids.get(instruction, i)}",
                dataset=dataset,
            )
        )
    _warn_dropped(empty, "empty responses", path)
    if not records:
        raise InputError("no non-empty responses", path=path, field="output")
    return records


def _read_json_list(path: Path) -> list[Any]:
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(
            f"malformed JSON ({err.msg} at column {err.colno})", path=path, line=err.lineno
        ) from None
    if not isinstance(items, list) or not items:
        raise InputError("expected a non-empty JSON list of {instruction, output} objects", path=path)
    return items


def _alpaca_row(item: Any, index: int, path: Path) -> tuple[str, str, str | None]:
    where = {"path": path, "line": index + 1}
    if not isinstance(item, dict):
        raise InputError(f"item {index}: expected an object", **where)
    for key in ("instruction", "output"):
        if key not in item:
            raise InputError(f"item {index}: missing", field=key, **where)
    instruction = check_prompt(item["instruction"], name="instruction", **where)
    if not isinstance(item["output"], str):
        raise InputError(f"item {index}: expected a string", field="output", **where)
    return str(instruction), item["output"], item.get("dataset")


# --------------------------------------------------------------------------- OpenAI-style logs


def is_openai_log_line(obj: Any) -> bool:
    """True for a logged ``{"request": ..., "response": ...}`` pair."""
    return isinstance(obj, dict) and "request" in obj and "response" in obj


def load_openai_log(
    path: str | Path, model: str | None = None, tokenizer: str | TokenCounter | None = None
) -> list[LengthRecord]:
    """Records from a JSONL log of OpenAI-style chat/completions requests and their responses.

    One object per line::

        {"id": "req-1",                                  # optional
         "arrival_time": 12.5,                           # optional, seconds (or "timestamp")
         "request":  {"model": "...", "messages": [{"role": "user", "content": "..."}],
                      # or "prompt": "...", for /v1/completions
                      "max_tokens": 512},                # or "max_completion_tokens"; optional
         "response": {"model": "...",
                      "choices": [{"finish_reason": "stop" | "length", "message": {"content": "..."}}],
                      "usage": {"prompt_tokens": 31, "completion_tokens": 188}}}

    The length is ``usage.completion_tokens``; ``finish_reason == "length"`` marks it censored. With
    several choices (``n > 1``) each choice is one sample and is counted with ``tokenizer`` (the
    target's, from ``model`` if not given). A response with zero completion tokens is dropped with a
    :class:`DroppedRowsWarning`. The target model is ``model``, else the response's or request's.
    """
    records, empty = [], 0
    counter: list[TokenCounter] = []
    for line, obj in iter_jsonl(path):
        record = _openai_record(obj, line, Path(path), model, tokenizer, counter)
        if record is None:
            empty += 1
        else:
            records.append(record)
    _warn_dropped(empty, "responses with no completion tokens", path)
    if not records:
        raise InputError("no records (the file is empty)", path=path)
    return records


def _field(
    obj: dict[str, Any], key: str, kind: type | tuple[type, ...], *, path: Path, line: int, name: str
) -> Any:
    if key not in obj:
        raise InputError("missing", path=path, line=line, field=name)
    if not isinstance(obj[key], kind):
        raise InputError(f"expected {getattr(kind, '__name__', 'a value')}", path=path, line=line, field=name)
    return obj[key]


def _openai_record(
    obj: Any,
    line: int,
    path: Path,
    model: str | None,
    tokenizer: str | TokenCounter | None,
    counter: list[TokenCounter],
) -> LengthRecord | None:
    where = {"path": path, "line": line}
    if not is_openai_log_line(obj):
        raise InputError("expected an object with 'request' and 'response'", field="request", **where)
    request = _field(obj, "request", dict, name="request", **where)
    response = _field(obj, "response", dict, name="response", **where)
    if "messages" in request:
        prompt = check_prompt(request["messages"], name="request.messages", **where)
    elif "prompt" in request:
        prompt = check_prompt(request["prompt"], name="request.prompt", **where)
    else:
        raise InputError("missing (need 'messages' or 'prompt')", field="request.messages", **where)
    choices = _field(response, "choices", list, name="response.choices", **where)
    if not choices or not all(isinstance(c, dict) for c in choices):
        raise InputError("expected a non-empty list of choice objects", field="response.choices", **where)
    usage = response.get("usage") or {}
    target = model or response.get("model") or request.get("model") or ""
    lens = _openai_lengths(choices, usage, target, tokenizer, counter, **where)
    if lens is None:
        return None
    max_tokens = request.get("max_tokens", request.get("max_completion_tokens"))
    if max_tokens is not None:
        max_tokens = _positive_int(max_tokens, name="request.max_tokens", **where)
    prompt_len = usage.get("prompt_tokens")
    arrival = obj.get("arrival_time", obj.get("timestamp"))
    if arrival is not None and (
        not isinstance(arrival, int | float) or isinstance(arrival, bool) or arrival < 0
    ):
        raise InputError("expected a non-negative number of seconds", field="arrival_time", **where)
    return LengthRecord(
        prompt=prompt,
        output_lens=tuple(lens),
        censored=tuple(c.get("finish_reason") == "length" for c in choices),
        prompt_len=_positive_int(prompt_len, name="response.usage.prompt_tokens", **where)
        if prompt_len
        else None,
        target_model=str(target),
        max_tokens=max_tokens,
        record_id=str(obj.get("id") or response.get("id") or f"{path.stem}:{line}"),
        dataset=obj.get("dataset"),
        arrival_time=float(arrival) if arrival is not None else None,
    )


def _choice_text(choice: dict[str, Any]) -> str:
    message = choice.get("message")
    if isinstance(message, dict):
        return str(message.get("content") or "")
    return str(choice.get("text") or "")


def _openai_lengths(
    choices: list[dict[str, Any]],
    usage: Any,
    target: str,
    tokenizer: str | TokenCounter | None,
    counter: list[TokenCounter],
    *,
    path: Path,
    line: int,
) -> list[int] | None:
    name = "response.usage.completion_tokens"
    if len(choices) == 1 and isinstance(usage, dict) and "completion_tokens" in usage:
        value = usage["completion_tokens"]
        if value == 0:
            return None
        return [_positive_int(value, path=path, line=line, name=name)]
    if tokenizer is None and tokenizer_for_model(target) is None:
        why = "several choices need a tokenizer to count each" if len(choices) > 1 else "missing"
        raise InputError(why, path=path, line=line, field=name)
    if not counter:
        counter.append(_as_counter(tokenizer, target, path))
    lens = counter[0].count_batch([_choice_text(c) for c in choices])
    return None if min(lens) == 0 else lens


# --------------------------------------------------------------------------- dispatcher


def load_jsonl(
    path: str | Path, model: str | None = None, tokenizer: str | None = None
) -> list[LengthRecord]:
    """A JSONL file of native records or of OpenAI-style logs (sniffed from the first line)."""
    first = next(iter_jsonl(path), None)
    if first is None:
        raise InputError("no records (the file is empty)", path=path)
    if is_openai_log_line(first[1]):
        return load_openai_log(path, model=model, tokenizer=tokenizer)
    return read_jsonl_records(path, default_model=model or "")


def _short_form(source: str, model: str | None) -> tuple[str, str | None] | None:
    kind, _, rest = source.partition(":")
    data = default_data_dir()
    if kind == "castillo":
        return str(data / "castillo"), rest or model
    if kind == "alpaca_eval":
        name = rest or model
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
        :func:`sagepred.hf_datasets.load_hf_conversations`); ``split`` defaults to ``train``.

    ``split`` also filters records of other sources by their ``split`` field. ``max_tokens``
    sets the censoring cap for AlpacaEval when its config is not beside the file.
    """
    source = str(source)
    if source.startswith("hf:"):
        from sagepred.hf_datasets import load_hf_conversations

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
