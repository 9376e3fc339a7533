"""The length record: one prompt and the output length(s) a target model produced for it.

A record carries every observed sample for its prompt (CASTILLO has ten per prompt) and, per sample,
whether it was right-censored (the response stopped at ``max_tokens``, so the true length is *at
least* the observed one). JSONL is the native format: one object per line, see :func:`record_from_json`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sagepred.errors import InputError

ChatMessages = list[dict[str, str]]


CHARS_PER_TOKEN = 4.0
"""Characters per token of :func:`estimate_prompt_tokens` (English text under common BPE tokenizers)."""


def _content_text(content: Any) -> str:
    """A message's content: a string, or the ``text`` of OpenAI content parts (other parts dropped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part
        )
    return "" if content is None else str(content)


def prompt_text(prompt: str | ChatMessages) -> str:
    """The text a predictor sees for a prompt, everywhere (training, ``predict``, the proxy, the plug-in).

    Plain strings pass through; chat messages become ``role: content`` lines (content parts keep
    their text).
    """
    if isinstance(prompt, str):
        return prompt
    return "\n".join(
        f"{m.get('role', 'user')}: {_content_text(m.get('content'))}" for m in prompt if isinstance(m, dict)
    )


def estimate_prompt_tokens(text: str) -> int:
    """A prompt's length in tokens when no tokenizer count is known: four characters per token, at least 1."""
    return max(1, round(len(text) / CHARS_PER_TOKEN))


@dataclass(frozen=True)
class LengthRecord:
    """One prompt and the observed output length(s) of a target model.

    Attributes:
        prompt: prompt text, or chat messages (``[{"role": ..., "content": ...}, ...]``).
        output_lens: observed output lengths in the target model's tokens (one or several samples).
        censored: per sample, True when generation stopped at ``max_tokens`` (length is a lower bound).
        prompt_len: prompt length in the target's tokens, if known.
        target_model: the model that produced the outputs.
        max_tokens: the generation cap, if known.
        record_id: a stable identifier.
        dataset: source dataset (for per-dataset breakdowns).
        category: finer category, if any.
        split: ``train`` / ``validate`` / ``test`` when the source defines splits.
        arrival_time: seconds, for traces that carry it.
    """

    prompt: str | ChatMessages
    output_lens: tuple[int, ...]
    censored: tuple[bool, ...] = ()
    prompt_len: int | None = None
    target_model: str = ""
    max_tokens: int | None = None
    record_id: str = ""
    dataset: str | None = None
    category: str | None = None
    split: str | None = None
    arrival_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        lens = tuple(int(x) for x in self.output_lens)
        object.__setattr__(self, "output_lens", lens)
        censored = tuple(bool(c) for c in self.censored) if self.censored else (False,) * len(lens)
        if len(censored) != len(lens):
            raise ValueError("censored needs one flag per output length")
        object.__setattr__(self, "censored", censored)

    @property
    def prompt_text(self) -> str:
        """The prompt as plain text (chat messages flattened by :func:`prompt_text`)."""
        return prompt_text(self.prompt)

    @property
    def lengths(self) -> np.ndarray:
        """Observed lengths as a float array."""
        return np.asarray(self.output_lens, dtype=np.float64)

    @property
    def mean_length(self) -> float:
        """Mean of the observed samples (censored samples count at their observed lower bound)."""
        return float(np.mean(self.output_lens))

    @property
    def num_samples(self) -> int:
        return len(self.output_lens)

    def to_json(self) -> dict[str, Any]:
        """The JSONL form read back by :func:`record_from_json`."""
        out: dict[str, Any] = {
            "id": self.record_id,
            "prompt": self.prompt,
            "output_lens": list(self.output_lens),
        }
        if any(self.censored):
            out["censored"] = list(self.censored)
        for key, value in (
            ("prompt_len", self.prompt_len),
            ("target_model", self.target_model or None),
            ("max_tokens", self.max_tokens),
            ("dataset", self.dataset),
            ("category", self.category),
            ("split", self.split),
            ("arrival_time", self.arrival_time),
        ):
            if value is not None:
                out[key] = value
        return out


MAX_LENGTH_TOKENS = 100_000_000
"""The largest length, in tokens, a record may give (no model's context comes near it; larger is a typo
or a unit error, and would overflow the metrics)."""


def _require_positive_int(value: Any, *, path: str | Path, line: int, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or int(value) != value
    ):
        raise InputError(f"expected an integer, got {value!r}"[:200], path=path, line=line, field=name)
    if value <= 0:
        raise InputError(f"expected a positive length, got {value!r}", path=path, line=line, field=name)
    if value > MAX_LENGTH_TOKENS:
        raise InputError(
            f"expected a length of at most {MAX_LENGTH_TOKENS:,} tokens, got {value!r}"[:200],
            path=path,
            line=line,
            field=name,
        )
    return int(value)


def record_id(obj: dict[str, Any], *, path: str | Path, line: int) -> str:
    """A line's ``id`` (a string, or a whole number written as one), else (absent or ``""``, as records
    without an id are written) ``<file stem>:<line>``."""
    value = obj.get("id", "")
    if value == "":
        return f"{Path(path).stem}:{line}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"expected a string or an integer, got {value!r}"[:200], path=path, line=line, field="id"
        )
    return str(value)


def check_prompt(prompt: Any, *, path: str | Path, line: int, name: str = "prompt") -> str | ChatMessages:
    """Validate a prompt: non-empty text, or a non-empty list of ``{role, content}`` messages."""
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InputError("the prompt is empty", path=path, line=line, field=name)
        return prompt
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) and "content" in m for m in prompt):
        if not any(str(m["content"]).strip() for m in prompt):
            raise InputError("every chat message is empty", path=path, line=line, field=name)
        return [{"role": str(m.get("role", "user")), "content": str(m["content"])} for m in prompt]
    raise InputError(
        "expected a non-empty string or a list of {role, content} messages", path=path, line=line, field=name
    )


def record_from_json(obj: Any, *, path: str | Path, line: int, default_model: str = "") -> LengthRecord:
    """Build a record from one JSONL object.

    Required: ``prompt`` (or ``messages``) and ``output_len`` (int) or ``output_lens`` (list of ints).
    Optional: ``censored`` (bool or list), ``finish_reason`` (``"length"`` marks censoring),
    ``max_tokens`` (a sample equal to it is censored), ``prompt_len``, ``target_model`` (or
    ``model``), ``id``, ``dataset``, ``category``, ``split``, ``arrival_time``.
    """
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=line)
    prompt_key = "prompt" if "prompt" in obj else "messages" if "messages" in obj else None
    if prompt_key is None:
        raise InputError("missing (need 'prompt' or 'messages')", path=path, line=line, field="prompt")
    prompt = check_prompt(obj[prompt_key], path=path, line=line, name=prompt_key)
    if "output_lens" in obj:
        raw = obj["output_lens"]
        if not isinstance(raw, list) or not raw:
            raise InputError(
                "expected a non-empty list of lengths", path=path, line=line, field="output_lens"
            )
        lens = [_require_positive_int(v, path=path, line=line, name="output_lens") for v in raw]
    elif "output_len" in obj:
        lens = [_require_positive_int(obj["output_len"], path=path, line=line, name="output_len")]
    else:
        raise InputError(
            "missing (need 'output_len' or 'output_lens')", path=path, line=line, field="output_len"
        )
    max_tokens = obj.get("max_tokens")
    if max_tokens is not None:
        max_tokens = _require_positive_int(max_tokens, path=path, line=line, name="max_tokens")
    censored_raw = obj.get("censored")
    if isinstance(censored_raw, bool):
        censored = [censored_raw] * len(lens)
    elif isinstance(censored_raw, list):
        if len(censored_raw) != len(lens) or not all(isinstance(c, bool) for c in censored_raw):
            raise InputError("expected one boolean per output length", path=path, line=line, field="censored")
        censored = list(censored_raw)
    elif censored_raw is None:
        censored = [obj.get("finish_reason") == "length"] * len(lens)
        if max_tokens is not None:
            censored = [c or n >= max_tokens for c, n in zip(censored, lens, strict=True)]
    else:
        raise InputError("expected a boolean or a list of booleans", path=path, line=line, field="censored")
    prompt_len = obj.get("prompt_len")
    if prompt_len is not None:
        prompt_len = _require_positive_int(prompt_len, path=path, line=line, name="prompt_len")
    arrival = check_arrival(obj.get("arrival_time"), path=path, line=line)
    return LengthRecord(
        prompt=prompt,
        output_lens=tuple(lens),
        censored=tuple(censored),
        prompt_len=prompt_len,
        target_model=str(obj.get("target_model") or obj.get("model") or default_model),
        max_tokens=max_tokens,
        record_id=record_id(obj, path=path, line=line),
        dataset=optional_text(obj, "dataset", path=path, line=line),
        category=optional_text(obj, "category", path=path, line=line),
        split=optional_text(obj, "split", path=path, line=line),
        arrival_time=arrival,
    )


def optional_text(obj: dict[str, Any], key: str, *, path: str | Path, line: int | None) -> str | None:
    """``obj[key]`` when it is a string (``None`` when absent or null); anything else is an InputError."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", path=path, line=line, field=key)
    return value


def check_arrival(
    value: Any, *, path: str | Path, line: int | None, name: str = "arrival_time"
) -> float | None:
    """An arrival time in seconds: a finite non-negative number, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InputError("expected a non-negative number of seconds", path=path, line=line, field=name)
    return float(value)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` for each non-blank line; malformed JSON names file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("a folder, not a JSONL file" if path.is_dir() else "file not found", path=path)
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            yield number, parse_json_line(text, path=path, line=number)


def parse_json_line(text: str, *, path: str | Path, line: int | None) -> Any:
    """One JSON document; bytes that are not UTF-8 (read with ``surrogateescape``), malformed JSON,
    numbers too long to parse and nesting too deep are each an :class:`InputError` naming file and line.

    ``line`` is the document's line in the file; ``None`` for a whole-file document (the error's own
    line is named then).
    """
    bad = next((i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"), None)
    if bad is not None:
        start = text.rfind("\n", 0, bad) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{ord(text[bad]) - 0xDC00:02x} at column {bad - start + 1})",
            path=path,
            line=line if line is not None else text.count("\n", 0, bad) + 1,
        )
    try:
        return json.loads(text if line is None else text.rstrip("\r\n"))  # a cut line: its own last column
    except json.JSONDecodeError as err:
        raise InputError(
            f"malformed JSON ({err.msg} at column {err.colno})",
            path=path,
            line=line if line is not None else err.lineno,
        ) from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise InputError(f"malformed JSON ({str(err).split(':')[0]})", path=path, line=line) from None
    except RecursionError:
        raise InputError("malformed JSON (nested too deeply)", path=path, line=line) from None


def read_jsonl_records(path: str | Path, default_model: str = "") -> list[LengthRecord]:
    """Read a JSONL file of length records (see :func:`record_from_json`)."""
    records = [
        record_from_json(obj, path=path, line=n, default_model=default_model) for n, obj in iter_jsonl(path)
    ]
    if not records:
        raise InputError("no records (the file is empty)", path=path)
    return records


def write_jsonl_records(records: Iterable[LengthRecord], path: str | Path) -> None:
    """Write records as JSONL atomically (temp file + rename)."""
    from sagepred.io import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records))


def _uniform(text: str) -> float:
    """A uniform number in [0, 1) fixed by ``text`` (the first 8 bytes of its SHA-256)."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def holdout_key(record: LengthRecord, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the record's id (or prompt) and ``seed``."""
    return _uniform(f"{seed}:{record.record_id or record.prompt_text}")


def prompt_split(prompts: Sequence[str], fraction: float, seed: int, salt: str = "pooled") -> np.ndarray:
    """A boolean ``(len(prompts),)``: True for held-out prompts (seeded hash of the text, order-free).

    The pooled model's split (``sagepred train --model all``): membership depends only on the prompt
    text, the seed and the salt, so a prompt is held out for every target at once, and checkpoints
    exported from that model can rebuild their held-out records from any copy of the data.
    """
    return np.array([_uniform(f"{seed}:{salt}:{t}") < fraction for t in prompts], dtype=bool)


def split_records(
    records: Sequence[LengthRecord], validation_fraction: float, seed: int
) -> tuple[list[LengthRecord], list[LengthRecord]]:
    """Seeded split into (train, held-out) by hashing each record's id with the seed.

    Membership depends only on the record and the seed, not on file order or on the other
    records, so anyone can rebuild the same held-out set (for example to reproduce a model card).
    """
    if not 0 < validation_fraction < 1:
        raise ValueError("validation_fraction must lie in (0, 1)")
    train: list[LengthRecord] = []
    held: list[LengthRecord] = []
    for record in records:
        (held if holdout_key(record, seed) < validation_fraction else train).append(record)
    if not held or not train:
        order = np.random.default_rng(seed).permutation(len(records))
        cut = max(1, round(len(records) * validation_fraction))
        return [records[i] for i in order[cut:]], [records[i] for i in order[:cut]]
    return train, held
