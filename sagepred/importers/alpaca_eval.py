"""AlpacaEval ``model_outputs``: responses re-tokenized with the target's tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagepred.errors import InputError
from sagepred.importers._common import _as_counter, _warn_dropped
from sagepred.records import LengthRecord, check_prompt, iter_jsonl, optional_text, parse_json_line
from sagepred.tokenizers import TokenCounter


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
    items = parse_json_line(
        path.read_text(encoding="utf-8-sig", errors="surrogateescape"), path=path, line=None
    )
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
    return str(instruction), item["output"], optional_text(item, "dataset", **where)
