"""What every importer shares: the dropped-rows warning, integer checks, token counters, model names."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from sagepred.errors import InputError
from sagepred.records import LengthRecord
from sagepred.targets import AmbiguousTargetError, UnknownTargetError, find_target, match_name, same_target
from sagepred.tokenizers import TokenCounter, load_tokenizer, tokenizer_for_model

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


def resolve_model_name(model: str, known: Iterable[str], *, path: str | Path, field: str = "model") -> str:
    """The one name of ``known`` (the model names in a source) that ``model`` means, else InputError.

    The names in the source are matched by :func:`sagepred.targets.match_name` (their hub form, ``/``
    for ``--``, is an alias); a target name (``llama-3.1-8b``) is matched through its data-model name.
    """
    names = sorted(set(known))

    def match(query: str) -> str:
        return match_name(
            query,
            names,
            primary=lambda n: (n,),
            aliases=lambda n: (n.replace("--", "/"),),
            label=lambda n: n,
            what="model",
            field=field,
        )

    try:
        return match(model)
    except AmbiguousTargetError as err:
        raise InputError(err.detail, path=path, field=field) from None
    except UnknownTargetError as err:
        target = find_target(model)
        if target is not None and target.data_model in names:
            return target.data_model
        raise InputError(f"{err.detail} (known: {', '.join(names)})", path=path, field=field) from None


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


def filter_target(records: list[LengthRecord], model: str | None, path: str | Path) -> list[LengthRecord]:
    """The records of target ``model`` (any name of it, :func:`sagepred.targets.same_target`).

    Says how many matched in a :class:`DroppedRowsWarning` when some did not; none matching is an
    :class:`InputError` listing the target models the source has.
    """
    if not model:
        return records
    verdict: dict[str, bool] = {}
    kept = [r for r in records if verdict.setdefault(r.target_model, same_target(r.target_model, model))]
    if not kept:
        found = ", ".join(sorted(verdict)) or "none"
        raise InputError(
            f"no records of target model {model!r} (the source has: {found})", path=path, field="model"
        )
    _warn_dropped(
        len(records) - len(kept),
        f"records of other target models (kept {len(kept)} of {len(records)} for {model})",
        path,
    )
    return kept
