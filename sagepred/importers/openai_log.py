"""OpenAI-style request/response logs (chat and completions), one JSON object per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagepred.errors import InputError
from sagepred.importers._common import _as_counter, _positive_int, _warn_dropped, filter_target
from sagepred.records import LengthRecord, check_arrival, check_prompt, iter_jsonl, optional_text
from sagepred.tokenizers import TokenCounter, tokenizer_for_model


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
    :class:`DroppedRowsWarning`. The target model is the response's, else the request's, else ``model``;
    with ``model``, lines logged for other targets are dropped (:func:`filter_target`).
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
    return filter_target(records, model, path)


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
    if not isinstance(usage, dict):
        raise InputError("expected an object", field="response.usage", **where)
    target = response.get("model") or request.get("model") or model or ""
    lens = _openai_lengths(choices, usage, target, tokenizer, counter, **where)
    if lens is None:
        return None
    max_tokens = request.get("max_tokens", request.get("max_completion_tokens"))
    if max_tokens is not None:
        max_tokens = _positive_int(max_tokens, name="request.max_tokens", **where)
    prompt_len = usage.get("prompt_tokens")
    arrival = check_arrival(obj.get("arrival_time", obj.get("timestamp")), **where)
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
        dataset=optional_text(obj, "dataset", **where),
        arrival_time=arrival,
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
