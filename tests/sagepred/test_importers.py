"""Importers on the real data (CASTILLO, AlpacaEval) and on small fixtures (logs, records, bad input)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sagepred.errors import InputError
from sagepred.importers import (
    DroppedRowsWarning,
    bundled_sample_path,
    censor_threshold,
    load_alpaca_eval,
    load_castillo,
    load_openai_log,
    load_records,
)
from sagepred.records import read_jsonl_records

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LLAMA31 = "meta-llama--Llama-3.1-8B-Instruct"


@pytest.fixture(autouse=True)
def _data_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SAGEPRED_TOKENIZERS_DIR", raising=False)


@pytest.fixture(scope="module")
def castillo_llama(data_dir: Path) -> list:
    return load_castillo(data_dir / "castillo", LLAMA31)


# --------------------------------------------------------------------------- CASTILLO


def test_castillo_llama31_counts_and_censoring(castillo_llama: list) -> None:
    train = [r for r in castillo_llama if r.split == "train"]
    validate = [r for r in castillo_llama if r.split == "validate"]
    assert (len(train), len(validate)) == (1378, 2219)
    assert all(r.num_samples == 10 and r.target_model == LLAMA31 for r in castillo_llama)
    censored = [(n, c) for r in castillo_llama for n, c in zip(r.output_lens, r.censored, strict=True) if c]
    assert len(censored) == 121
    assert all(n >= 14_999 for n, _ in censored)
    assert not any(
        n >= 14_999 for r in castillo_llama for n, c in zip(r.output_lens, r.censored, strict=True) if not c
    )
    assert {r.dataset for r in validate} >= {"Alpaca", "ShareGPT", "DollyDataset", "Mbpp"}


def test_castillo_row_matches_the_csv(data_dir: Path, castillo_llama: list) -> None:
    import csv

    with (data_dir / "castillo" / "castillo_samples.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["model"] == LLAMA31)
    prompts = {
        json.loads(line)["prompt_id"]: json.loads(line)["prompt_text"]
        for line in (data_dir / "castillo" / "castillo_prompts.jsonl").open()
    }
    record = next(r for r in castillo_llama if r.record_id == row["sample_id"])
    assert record.output_lens == tuple(int(row[f"out_{i}"]) for i in range(10))
    assert record.prompt == prompts[row["prompt_id"]]
    assert record.prompt_len == int(row["input_size"])
    assert record.max_tokens == 15_000


def test_castillo_split_and_model_forms(data_dir: Path) -> None:
    validate = load_castillo(data_dir, "meta-llama/Llama-3.1-8B-Instruct", split="validate")
    assert len(validate) == 2219 and {r.split for r in validate} == {"validate"}
    via_csv = load_records(str(data_dir / "castillo" / "castillo_samples.csv"), model=LLAMA31, split="train")
    assert len(via_csv) == 1378
    via_short = load_records("castillo", model=LLAMA31, split="train")
    assert [r.record_id for r in via_short] == [r.record_id for r in via_csv]


def test_castillo_unknown_model_lists_close_matches(data_dir: Path) -> None:
    with pytest.raises(InputError, match=r"did you mean meta-llama--Llama-3\.1-8B-Instruct") as err:
        load_castillo(data_dir / "castillo", "Llama-3.1-8B-Instrukt")
    assert err.value.field == "model" and err.value.path.endswith("castillo_samples.csv")


def test_castillo_needs_a_model(data_dir: Path) -> None:
    with pytest.raises(InputError) as err:
        load_records(str(data_dir / "castillo"))
    assert err.value.field == "model"


def test_castillo_unknown_split(data_dir: Path) -> None:
    with pytest.raises(InputError, match="split 'test'") as err:
        load_castillo(data_dir, LLAMA31, split="test")
    assert err.value.field == "split"


def _mini_castillo(data_dir: Path, tmp_path: Path, edit: str, value: str) -> Path:
    src = data_dir / "castillo" / "castillo_samples.csv"
    with src.open() as handle:
        lines = [next(handle) for _ in range(4)]
    header = lines[0].rstrip("\n").split(",")
    cells = lines[2].rstrip("\n").split(",")
    cells[header.index(edit)] = value
    lines[2] = ",".join(cells) + "\n"
    (tmp_path / "castillo_samples.csv").write_text("".join(lines))
    shutil.copy(data_dir / "castillo" / "castillo_prompts.jsonl", tmp_path / "castillo_prompts.jsonl")
    return tmp_path


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("out_3", "0", "positive"), ("out_5", "", "missing"), ("prompt_id", "nope", "not in")],
)
def test_castillo_bad_rows(data_dir: Path, tmp_path: Path, field: str, value: str, message: str) -> None:
    folder = _mini_castillo(data_dir, tmp_path, field, value)
    with pytest.raises(InputError, match=message) as err:
        load_castillo(folder, "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert (err.value.line, err.value.field) == (3, field)
    assert f"castillo_samples.csv:3: field '{field}'" in str(err.value)


# --------------------------------------------------------------------------- AlpacaEval


def test_alpaca_eval_llama3_8b(data_dir: Path) -> None:
    path = data_dir / "alpaca_eval" / "model_outputs" / "Meta-Llama-3-8B-Instruct.json"
    records = load_records(str(path))
    assert len(records) == 805
    first = records[0]
    outputs = json.loads(path.read_text())
    assert first.prompt == outputs[0]["instruction"]
    assert first.target_model == "Meta-Llama-3-8B-Instruct" and first.max_tokens == 4096
    assert first.record_id == "alpaca_eval:0" and first.dataset == "helpful_base"
    assert not any(r.censored[0] for r in records)
    assert all(r.output_lens[0] > 0 and r.prompt_len > 0 for r in records)


def test_alpaca_eval_censoring_from_config(data_dir: Path) -> None:
    records = load_records("alpaca_eval:Mistral-7B-Instruct-v0.2")
    censored = [r.output_lens[0] for r in records if r.censored[0]]
    assert records[0].max_tokens == 4096
    assert len(censored) == 7 and min(censored) >= censor_threshold(4096) >= 4080


def test_alpaca_eval_fixture_drops_empty_output() -> None:
    with pytest.warns(DroppedRowsWarning, match="dropped 1 empty"):
        records = load_alpaca_eval(FIXTURES / "alpaca_outputs.json", tokenizer="llama3", max_tokens=2)
    assert [r.output_lens for r in records] == [(2,), (7,)]  # "1", ",", " ", "2", ...
    assert [r.censored for r in records] == [(True,), (True,)]
    assert records[0].prompt_len == 2


def test_alpaca_eval_unknown_family_needs_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "gemma-7b-it.json"
    path.write_text(json.dumps([{"instruction": "hi", "output": "hello", "generator": "gemma-7b-it"}]))
    with pytest.raises(InputError, match="no known tokenizer") as err:
        load_records(str(path))
    assert err.value.field == "tokenizer"
    assert load_records(str(path), tokenizer="llama3")[0].output_lens == (1,)


@pytest.mark.parametrize(
    ("items", "line", "field"),
    [
        ([{"instruction": "a", "output": "b"}, {"output": "x"}], 2, "instruction"),
        ([{"instruction": "  ", "output": "b"}], 1, "instruction"),
        ([{"instruction": "a"}], 1, "output"),
    ],
)
def test_alpaca_eval_bad_items(tmp_path: Path, items: list, line: int, field: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(items))
    with pytest.raises(InputError) as err:
        load_alpaca_eval(path, tokenizer="llama3")
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, field)


def test_alpaca_eval_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('[\n{"instruction": "a", "output": "b"},\n{"instruction": \n')
    with pytest.raises(InputError, match="malformed JSON") as err:
        load_records(str(path), tokenizer="llama3")
    assert err.value.path == str(path) and err.value.line == 4


# --------------------------------------------------------------------------- JSONL: records and logs


def test_openai_log_fixture() -> None:
    records = load_records(str(FIXTURES / "openai_log.jsonl"))
    assert [r.output_lens for r in records] == [(7,), (64,), (7,), (2, 3)]
    assert [r.censored for r in records] == [(False,), (True,), (False,), (False, True)]
    assert records[0].prompt[1]["content"] == "Name three primary colours."
    assert records[2].prompt == "Complete: the quick brown fox"
    assert [r.prompt_len for r in records] == [31, 18, 6, 14]
    assert records[1].max_tokens == 64 and records[1].arrival_time == 1.25
    assert records[0].target_model == "meta-llama/Meta-Llama-3-8B-Instruct"
    # --model filters: the logged hub id is an alias of the llama-3-8b target; another target matches nothing.
    assert len(load_openai_log(FIXTURES / "openai_log.jsonl", model="llama-3-8b", tokenizer="llama3")) == 4
    with pytest.raises(InputError, match=r"no records of target model 'mine'.*Meta-Llama-3-8B-Instruct"):
        load_openai_log(FIXTURES / "openai_log.jsonl", model="mine", tokenizer="llama3")


def _log_line(**changes: object) -> dict:
    line = json.loads((FIXTURES / "openai_log.jsonl").read_text().splitlines()[0])
    for dotted, value in changes.items():
        node = line
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return line


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"request__messages": None}, "request.messages"),
        ({"request__messages": [{"role": "user", "content": " "}]}, "request.messages"),
        ({"response__usage__completion_tokens": -3}, "response.usage.completion_tokens"),
        ({"response__choices": []}, "response.choices"),
        ({"request__max_tokens": 0}, "request.max_tokens"),
    ],
)
def test_openai_log_bad_lines(tmp_path: Path, change: dict, field: str) -> None:
    path = tmp_path / "log.jsonl"
    good = json.dumps(_log_line())
    path.write_text(good + "\n" + json.dumps(_log_line(**change)) + "\n")
    with pytest.raises(InputError) as err:
        load_records(str(path))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, field)


def test_openai_log_zero_tokens_dropped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        json.dumps(_log_line()) + "\n" + json.dumps(_log_line(response__usage__completion_tokens=0)) + "\n"
    )
    with pytest.warns(DroppedRowsWarning, match="dropped 1"):
        assert len(load_records(str(path))) == 1


def test_native_records_and_split_filter() -> None:
    records = load_records(str(FIXTURES / "records.jsonl"))
    assert [r.target_model for r in records] == ["toy", ""]
    assert records[1].censored == (False, False, True)
    with pytest.warns(DroppedRowsWarning, match=r"dropped 1 records of other target models \(kept 1 of 2"):
        fallback = load_records(str(FIXTURES / "records.jsonl"), model="fallback")
    assert [(r.record_id, r.target_model) for r in fallback] == [("b", "fallback")]
    only = load_records(str(FIXTURES / "records.jsonl"), split="validate")
    assert [r.record_id for r in only] == ["b"]
    with pytest.raises(InputError) as err:
        load_records(str(FIXTURES / "records.jsonl"), split="test")
    assert err.value.field == "split"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"prompt": "hi", "output_len": 3}\n{"prompt": "hi", "output_len": 3\n', None),
        ('{"prompt": "hi", "output_len": 3}\n{"output_len": 3}\n', "prompt"),
        ('{"prompt": "hi", "output_len": 3}\n{"prompt": "", "output_len": 3}\n', "prompt"),
        ('{"prompt": "hi", "output_len": 3}\n{"prompt": "hi", "output_len": 0}\n', "output_len"),
        ('{"prompt": "hi", "output_len": 3}\n{"prompt": "hi"}\n', "output_len"),
    ],
)
def test_bad_native_records_name_file_line_field(tmp_path: Path, text: str, field: str | None) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_records(str(path))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, field)
    assert str(err.value).startswith(f"{path}:2")


def test_missing_source_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found") as err:
        load_records(str(tmp_path / "nothing.jsonl"))
    assert err.value.path == str(tmp_path / "nothing.jsonl")


def test_missing_tokenizer_for_alpaca_eval(data_dir: Path) -> None:
    path = data_dir / "alpaca_eval" / "model_outputs" / "Meta-Llama-3-8B-Instruct.json"
    with pytest.raises(InputError) as err:
        load_records(str(path), tokenizer="./nowhere/tokenizer.model")
    assert err.value.field == "tokenizer"


# --------------------------------------------------------------------------- bundled sample


def test_bundled_sample_is_the_real_alpaca_eval_counts(data_dir: Path) -> None:
    path = bundled_sample_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    bundled = read_jsonl_records(path)
    fresh = load_records(str(data_dir / "alpaca_eval" / "model_outputs" / "Meta-Llama-3-8B-Instruct.json"))
    assert len(bundled) == 805
    assert [(r.prompt, r.output_lens, r.prompt_len) for r in bundled] == [
        (r.prompt, r.output_lens, r.prompt_len) for r in fresh
    ]
    assert {r.target_model for r in bundled} == {"Meta-Llama-3-8B-Instruct"}
    assert {r.max_tokens for r in bundled} == {4096}
    assert "output" not in json.loads(path.read_text().splitlines()[0])
    assert (path.parent / "README.md").read_text().count("CC BY-NC 4.0") >= 1


# --------------------------------------------------------------------------- Hugging Face conversations


def test_sharegpt_rows_from_an_in_memory_dataset() -> None:
    datasets = pytest.importorskip("datasets")
    from sagepred.importers.hf import records_from_conversations

    rows = datasets.Dataset.from_list(
        [
            {
                "id": "s1",
                "conversations": [
                    {"from": "human", "value": "Hello world"},
                    {"from": "gpt", "value": "Hello world"},
                ],
            },
            {
                "id": "s2",
                "conversations": [
                    {"from": "human", "value": "Count."},
                    {"from": "gpt", "value": "1, 2, 3"},
                    {"from": "human", "value": "More"},
                    {"from": "gpt", "value": "4"},
                ],
            },
            {"id": "s3", "conversations": [{"from": "gpt", "value": "I start."}]},
            {"id": "s4", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "  "}]},
        ]
    )
    with pytest.warns(DroppedRowsWarning, match="dropped 2 rows"):
        records = records_from_conversations(
            rows, "llama3", model="Meta-Llama-3-8B-Instruct", dataset="sharegpt", max_tokens=7
        )
    assert [(r.record_id, r.prompt, r.output_lens, r.prompt_len) for r in records] == [
        ("sharegpt:s1", "Hello world", (2,), 2),
        ("sharegpt:s2", "Count.", (7,), 2),
    ]
    assert [r.censored for r in records] == [(False,), (True,)]


def test_lmsys_rows_filter_by_model_and_infer_tokenizer() -> None:
    datasets = pytest.importorskip("datasets")
    from sagepred.importers.hf import records_from_conversations

    def row(cid: str, model: str, reply: str) -> dict:
        return {
            "conversation_id": cid,
            "model": model,
            "conversation": [
                {"role": "user", "content": "Hello world"},
                {"role": "assistant", "content": reply},
            ],
        }

    rows = datasets.Dataset.from_list(
        [row("a", "vicuna-13b", "Hello world"), row("b", "llama-2-13b-chat", "Hi")]
    )
    with pytest.warns(DroppedRowsWarning, match="other than vicuna-13b"):
        records = records_from_conversations(rows, None, model="vicuna-13b", dataset="lmsys")
    assert [(r.record_id, r.output_lens, r.target_model) for r in records] == [
        ("lmsys:a", (2,), "vicuna-13b")
    ]
    with pytest.raises(InputError) as err, pytest.warns(DroppedRowsWarning):
        records_from_conversations(rows, None, model="gemma-7b-it", dataset="lmsys")
    assert err.value.field == "conversations"


def test_hf_source_offline_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(InputError, match="cannot load the dataset") as err:
        load_records("hf:no-such-org/no-such-dataset:train[:10]", tokenizer="llama3")
    assert err.value.path == "hf:no-such-org/no-such-dataset:train[:10]"


# --------------------------------------------------------------------------- --model on JSONL


@pytest.mark.parametrize("model", ["llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "LLAMA3.1-8B"])
def test_jsonl_model_keeps_every_name_of_the_target(model: str) -> None:
    with pytest.warns(DroppedRowsWarning, match=r"kept 3 of 6"):
        records = load_records(str(FIXTURES / "two_targets.jsonl"), model=model)
    assert [r.record_id for r in records] == ["t0", "t1", "t2"]


def test_jsonl_model_by_data_model_name_and_no_match() -> None:
    with pytest.warns(DroppedRowsWarning, match=r"kept 3 of 6"):
        records = load_records(str(FIXTURES / "two_targets.jsonl"), model="Meta-Llama-3-8B-Instruct")
    assert {r.target_model for r in records} == {"Meta-Llama-3-8B-Instruct"}
    with pytest.raises(
        InputError, match=r"no records of target model 'qwen2.5-7b-1m' \(the source has: "
    ) as err:
        load_records(str(FIXTURES / "two_targets.jsonl"), model="qwen2.5-7b-1m")
    assert err.value.field == "model" and err.value.path.endswith("two_targets.jsonl")


def test_castillo_accepts_a_target_name(data_dir: Path) -> None:
    records = load_records("castillo", model="llama-3.1-8b", split="train")
    assert records and {r.target_model for r in records} == {LLAMA31}
    assert load_records("castillo", model="meta-llama/Llama-3.1-8B-Instruct", split="train") == records


def test_importers_package_keeps_its_names() -> None:
    import sagepred.importers as importers

    for name in importers.__all__:
        assert getattr(importers, name) is not None
    from sagepred.importers import _common, hf

    assert hf.DroppedRowsWarning is _common.DroppedRowsWarning is DroppedRowsWarning
