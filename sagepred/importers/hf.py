"""Length records from Hugging Face ``datasets`` of conversations (ShareGPT, LMSYS-Chat style).

Two row shapes are understood:

- ShareGPT: ``conversations: [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}, ...]``
- LMSYS-Chat / OpenAI: ``conversation`` (or ``messages``): ``[{"role": "user", "content": ...},
  {"role": "assistant", "content": ...}, ...]``, often with a per-row ``model``.

The first user turn is the prompt and the assistant turn right after it is the response, whose
length is its token count under the target's tokenizer (no BOS/EOS). Rows with no user turn, no
reply, or an empty reply are skipped and counted in one :class:`~sagepred.importers.DroppedRowsWarning`.
When ``model`` is given and rows carry a ``model`` column (LMSYS-Chat-1M), only that model's rows are
kept. Loading by name needs a network (or the datasets cache); the conversion works offline on any
iterable of rows, including an in-memory ``datasets.Dataset``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sagepred.errors import InputError
from sagepred.importers._common import DroppedRowsWarning, _as_counter, _warn_dropped
from sagepred.records import LengthRecord
from sagepred.targets import same_target
from sagepred.tokenizers import TokenCounter

USER_ROLES = frozenset({"user", "human", "prompter"})
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "chatgpt", "bard", "bing", "model"})

__all__ = ["DroppedRowsWarning", "first_exchange", "load_hf_conversations", "records_from_conversations"]


def _turns(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    for key in ("conversations", "conversation", "messages"):
        turns = row.get(key)
        if isinstance(turns, list):
            return [
                (
                    str(t.get("from", t.get("role", ""))).lower(),
                    str(t.get("value", t.get("content", "")) or ""),
                )
                for t in turns
                if isinstance(t, Mapping)
            ]
    return []


def first_exchange(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first user turn and the assistant reply that follows it, or None if the row has none."""
    turns = _turns(row)
    for i, (role, text) in enumerate(turns[:-1]):
        if role in USER_ROLES and text.strip():
            reply_role, reply = turns[i + 1]
            return (text, reply) if reply_role in ASSISTANT_ROLES else None
    return None


def records_from_conversations(
    rows: Iterable[Mapping[str, Any]],
    tokenizer: str | TokenCounter | None,
    model: str | None = None,
    dataset: str | None = None,
    max_tokens: int | None = None,
) -> list[LengthRecord]:
    """Convert conversation rows to one-sample records (see the module docstring).

    ``tokenizer`` defaults to the shared tokenizer of ``model``'s family. ``max_tokens``, when known,
    marks replies at that many tokens as censored.
    """
    source = dataset or "conversations"
    kept: list[tuple[str, str, str, str]] = []
    skipped = other_model = 0
    for index, row in enumerate(rows):
        row_model = str(row.get("model") or "")
        if model and row_model and not same_target(row_model, model):
            other_model += 1
            continue
        pair = first_exchange(row)
        if pair is None or not pair[1].strip():
            skipped += 1
            continue
        kept.append((str(row.get("id") or row.get("conversation_id") or index), pair[0], pair[1], row_model))
    _warn_dropped(skipped, "rows without a user turn and a non-empty reply", source)
    _warn_dropped(other_model, f"rows of models other than {model}", source)
    if not kept:
        raise InputError("no conversations with a user turn and a reply", path=source, field="conversations")
    counter = _as_counter(tokenizer, model or kept[0][3], source)
    out_lens = counter.count_batch([reply for _, _, reply, _ in kept])
    prompt_lens = counter.count_batch([prompt for _, prompt, _, _ in kept])
    return [
        LengthRecord(
            prompt=prompt,
            output_lens=(n_out,),
            censored=(max_tokens is not None and n_out >= max_tokens,),
            prompt_len=max(n_in, 1),
            target_model=model or row_model or source,
            max_tokens=max_tokens,
            record_id=f"{source}:{row_id}",
            dataset=dataset,
        )
        for (row_id, prompt, _, row_model), n_out, n_in in zip(kept, out_lens, prompt_lens, strict=True)
        if n_out > 0
    ]


def load_hf_conversations(
    name: str,
    split: str = "train",
    tokenizer: str | TokenCounter | None = None,
    model: str | None = None,
    max_tokens: int | None = None,
) -> list[LengthRecord]:
    """Load a Hugging Face dataset by name (``datasets.load_dataset(name, split=split)``) and convert it.

    ``split`` accepts slices (``train[:5000]``). Needs the optional ``datasets`` package and, unless
    cached, a network; failures become an :class:`InputError` naming the dataset.
    """
    try:
        import datasets
    except ImportError:
        raise InputError(
            "needs the 'datasets' package: pip install 'sagepred[datasets]'", path=f"hf:{name}"
        ) from None
    try:
        rows = datasets.load_dataset(name, split=split)
    except Exception as err:
        message = str(err).splitlines()[0][:200] if str(err) else ""
        raise InputError(
            f"cannot load the dataset (network or cache needed): {type(err).__name__}: {message}",
            path=f"hf:{name}:{split}",
        ) from None
    return records_from_conversations(rows, tokenizer, model=model, dataset=name, max_tokens=max_tokens)
