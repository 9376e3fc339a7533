"""CASTILLO (arXiv 2505.16881): ten sampled response lengths per prompt for each of 13 models."""

from __future__ import annotations

import csv
from pathlib import Path

from sagepred.errors import InputError
from sagepred.importers._common import _positive_int, resolve_model_name
from sagepred.records import LengthRecord, check_prompt, iter_jsonl

CASTILLO_MAX_NEW_TOKENS = 15_000
CASTILLO_CENSORED_AT = 14_999
CASTILLO_SAMPLES = "castillo_samples.csv"
CASTILLO_PROMPTS = "castillo_prompts.jsonl"


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
    return sorted({row.get("model") or "" for _, row in _read_samples(path)} - {""})


def _read_samples(path: Path) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` of the samples CSV; bytes that are not UTF-8, NUL bytes and oversized fields
    are an :class:`InputError` naming the line."""
    rows = []
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                cells = [*row.values(), *row.keys()]
                if any(isinstance(c, str) and any("\udc80" <= ch <= "\udcff" for ch in c) for c in cells):
                    raise InputError("not UTF-8 text", path=path, line=reader.line_num)
                rows.append((reader.line_num, row))
        except csv.Error as err:
            raise InputError(f"malformed CSV ({err})", path=path, line=reader.line_num) from None
    return rows


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
    rows = _read_samples(path)
    name = resolve_model_name(model, {row.get("model") or "" for _, row in rows} - {""}, path=path)
    rows = [(n, row) for n, row in rows if row.get("model") == name]
    if split is not None:
        splits = sorted({row.get("split") or "" for _, row in rows})
        rows = [(n, row) for n, row in rows if row.get("split") == split]
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
