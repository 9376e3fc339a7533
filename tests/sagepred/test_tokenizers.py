"""Tokenizers: the shared files load offline and reproduce known ids and AlpacaEval's token counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sagepred.errors import InputError
from sagepred.tokenizers import TokenCounter, load_tokenizer, tokenizer_for_model


@pytest.fixture(autouse=True)
def _tokenizers_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEPRED_TOKENIZERS_DIR", str(data_dir / "tokenizers"))


@pytest.mark.parametrize(
    ("name", "text", "ids"),
    [
        ("llama3", "Hello world", [9906, 1917]),
        ("qwen", "Hello world", [9707, 1879]),
        ("cl100k", "hello world", [15339, 1917]),
        ("llama2", "Hello world", [15043, 3186]),
        ("mistral_v1", "Hello world", [22557, 1526]),
    ],
)
def test_known_ids(name: str, text: str, ids: list[int]) -> None:
    tokenizer = load_tokenizer(name)
    assert isinstance(tokenizer, TokenCounter)
    assert tokenizer.encode(text) == ids
    assert tokenizer.count(text) == len(ids)
    assert tokenizer.count_batch([text, text + text]) == [len(ids), len(tokenizer.encode(text + text))]


def test_special_token_text_is_counted_as_text() -> None:
    tokenizer = load_tokenizer("llama3")
    assert 128009 not in tokenizer.encode("<|eot_id|>")
    assert tokenizer.count("<|eot_id|>") > 1


def test_llama4_loads_with_its_own_pattern() -> None:
    tokenizer = load_tokenizer("llama4")
    ids = tokenizer.encode("Hello world, it's 2025!")
    assert ids and max(ids) < 200_000
    assert tokenizer.encoding.n_vocab > 200_000  # type: ignore[attr-defined]
    assert tokenizer.encoding.decode(ids) == "Hello world, it's 2025!"  # type: ignore[attr-defined]


def test_paths_resolve_like_short_names(data_dir: Path) -> None:
    root = data_dir / "tokenizers"
    assert load_tokenizer(str(root / "llama3")).encode("Hello world") == [9906, 1917]
    assert load_tokenizer(str(root / "qwen" / "qwen.tiktoken")).encode("Hello world") == [9707, 1879]
    assert load_tokenizer(str(root / "llama2" / "tokenizer.model")).encode("Hello world") == [15043, 3186]


def test_hugging_face_tokenizer_json(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(str(tmp_path / "tokenizer.json")).encode("hello world") == [1, 2]
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"unk_token": "[UNK]"}))
    folder = load_tokenizer(str(tmp_path))
    assert folder.encode("hello world") == [1, 2]
    assert folder.count_batch(["hello", "hello world zzz"]) == [1, 3]


@pytest.mark.parametrize("spec", ["./missing/tokenizer.model", "llama5", "no-such-org/no-such-model"])
def test_missing_tokenizer_is_an_input_error(spec: str) -> None:
    with pytest.raises(InputError) as err:
        load_tokenizer(spec)
    assert err.value.field == "tokenizer"
    assert spec in str(err.value)


def test_missing_shared_file_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEPRED_TOKENIZERS_DIR", str(tmp_path))
    with pytest.raises(InputError, match="SAGEPRED_TOKENIZERS_DIR") as err:
        load_tokenizer("llama3")
    assert err.value.path == str(tmp_path / "llama3" / "tokenizer.model")


def test_not_a_tokenizer_file(tmp_path: Path) -> None:
    bogus = tmp_path / "tokenizer.model"
    bogus.write_bytes(b"\x00\x01 definitely not a model")
    with pytest.raises(InputError, match="not a sentencepiece model") as err:
        load_tokenizer(str(bogus))
    assert err.value.path == str(bogus)


def _csv_rows(data_dir: Path) -> dict[str, dict[int, dict[str, str]]]:
    rows: dict[str, dict[int, dict[str, str]]] = {}
    with (data_dir / "alpaca_eval" / "all_models_output_lengths.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["model"], {})[int(row["idx"])] = row
    return rows


@pytest.fixture(scope="module")
def length_rows(data_dir: Path) -> dict[str, dict[int, dict[str, str]]]:
    return _csv_rows(data_dir)


def test_model_family_map_matches_native_tokenizer(length_rows: dict[str, dict[int, dict[str, str]]]) -> None:
    checked = 0
    for model, rows in length_rows.items():
        native = next(iter(rows.values()))["native_tokenizer"]
        if native:
            assert (tokenizer_for_model(model) or "").replace("-", "_") == native, model
            checked += 1
    assert checked > 80
    assert tokenizer_for_model("meta-llama--Llama-3.1-8B-Instruct") == "llama3"
    assert tokenizer_for_model("Qwen/Qwen2.5-7B-Instruct-1M") == "qwen"
    assert tokenizer_for_model("mistralai--Mixtral-8x7B-Instruct-v0.1") == "mistral-v1"
    assert tokenizer_for_model("google--gemma-3-4b-it") is None
    assert tokenizer_for_model("gpt-4o-2024-05-13") is None


@pytest.mark.parametrize(
    ("model", "column"),
    [
        ("Meta-Llama-3-8B-Instruct", "tokens_llama3"),
        ("Qwen1.5-7B-Chat", "tokens_qwen"),
        ("gpt4", "tokens_cl100k"),
        ("llama-2-7b-chat-hf", "tokens_llama2"),
        ("Mistral-7B-Instruct-v0.2", "tokens_mistral_v1"),
        ("Mistral-7B-Instruct-v0.3", "tokens_mistral_v3"),
    ],
)
def test_counts_match_alpaca_eval_csv(
    data_dir: Path, length_rows: dict[str, dict[int, dict[str, str]]], model: str, column: str
) -> None:
    alpaca = data_dir / "alpaca_eval"
    idx = {
        json.loads(line)["instruction"]: json.loads(line)["idx"]
        for line in (alpaca / "instructions.jsonl").open()
    }
    outputs = json.loads((alpaca / "model_outputs" / f"{model}.json").read_text())[:200]
    tokenizer = load_tokenizer(tokenizer_for_model(model) or "")
    counts = tokenizer.count_batch([o["output"] for o in outputs])
    expected = [int(length_rows[model][idx[o["instruction"]]][column]) for o in outputs]
    assert counts == expected
