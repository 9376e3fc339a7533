"""Fuzzing every importer and the ``predict`` input with malformed, truncated and hostile lines.

Whatever the bytes, an importer either returns well-formed records or raises one :class:`InputError`
whose message is one line naming the file; it never raises anything else, and nothing is written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagepred.errors import InputError
from sagepred.importers import load_alpaca_eval, load_castillo, load_jsonl, load_openai_log, load_records
from sagepred.importers.hf import records_from_conversations
from sagepred.records import LengthRecord

pytestmark = pytest.mark.filterwarnings("ignore::sagepred.importers.DroppedRowsWarning")

FUZZ = settings(
    max_examples=int(os.environ.get("SAGEPRED_FUZZ_EXAMPLES", "120")),  # more for a deeper run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

JUNK_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 10**400, 2**63, 1.5, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "\ufeff", "\u202e", "12", "NaN", "Infinity", "x" * 3000]),
)
JUNK = st.recursive(
    JUNK_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
RAW_LINES = st.sampled_from(
    [
        b"\xff\xfe{}",
        b'{"prompt": "caf\xc3\x28", "output_len": 3}',  # invalid UTF-8 inside a string
        b"\xef\xbb\xbf" + b'{"prompt": "hi", "output_len": 3}',  # UTF-8 BOM
        b'{"prompt": "a\x00b", "output_len": 3}',  # a raw NUL inside a string
        b"\x00\x00\x00",
        b'{"prompt": "hi", "output_len": ' + b"9" * 5000 + b"}",  # more digits than Python parses
        b'{"prompt": "hi", "output_len": 1e999}',
        b'{"prompt": "hi", "output_len": NaN}',
        b'{"prompt": "hi", "output_len": -Infinity}',
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the recursion limit
        b'{"prompt": ' + b"[" * 50_000,
        b"null",
        b'"just a string"',
        b"[1, 2, 3]",
        b"{'single': 'quotes'}",
        b'{"request": {"prompt": "hi"}, "response": {"choices": [{"text": "yo"}], "usage": [1]}}',
        b'{"request": {"prompt": "hi"}, "response": {"choices": [{}], "usage": {"completion_tokens": 2}},'
        b' "arrival_time": NaN, "dataset": {"a": 1}}',
    ]
)


def _mutated(base: dict, junk: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """``base`` with some keys replaced by junk, some removed and some junk keys added."""
    keys = sorted(base)
    return st.tuples(
        st.dictionaries(st.sampled_from(keys), junk, max_size=len(keys)),
        st.sets(st.sampled_from(keys), max_size=2),
        st.dictionaries(st.text(max_size=6), junk, max_size=2),
    ).map(lambda t: {**{k: v for k, v in {**base, **t[0]}.items() if k not in t[1]}, **t[2]})


def _line_bytes(obj: object) -> bytes:
    return json.dumps(obj, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _lines(objects: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """One to three lines: JSON of (mutated) objects, truncated JSON, or hostile raw bytes."""
    json_line = objects.map(_line_bytes)
    truncated = st.tuples(json_line, st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])])
    line = st.one_of(json_line, json_line, truncated, RAW_LINES, st.binary(max_size=40))
    return st.lists(line, min_size=1, max_size=3).map(lambda lines: b"\n".join(lines) + b"\n")


def _check_records(records: list) -> None:
    assert records and all(isinstance(r, LengthRecord) for r in records)
    for r in records:
        assert isinstance(r.prompt_text, str) and r.prompt_text.strip()
        assert all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in r.output_lens)
        assert len(r.censored) == len(r.output_lens) and all(isinstance(c, bool) for c in r.censored)
        assert r.prompt_len is None or (isinstance(r.prompt_len, int) and r.prompt_len > 0)
        assert r.max_tokens is None or (isinstance(r.max_tokens, int) and r.max_tokens > 0)
        assert r.arrival_time is None or (isinstance(r.arrival_time, float) and math.isfinite(r.arrival_time))
        for text in (r.dataset, r.category, r.split):
            assert text is None or isinstance(text, str)
        assert isinstance(r.target_model, str) and isinstance(r.record_id, str)


def _expect_clean(load, path: Path) -> None:
    """``load()`` returns good records or raises a one-line InputError naming ``path``; nothing is written."""
    before = sorted(p.name for p in path.parent.iterdir())
    try:
        records = load()
    except InputError as err:
        message = str(err)
        assert "\n" not in message and "\r" not in message, message
        assert path.name in message or str(path.parent) in message, message
    else:
        _check_records(records)
    assert sorted(p.name for p in path.parent.iterdir()) == before


def _write(data: bytes, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="sagepred-fuzz-"))
    path = folder / name
    path.write_bytes(data)
    return path


NATIVE = {
    "prompt": "Write a haiku.",
    "output_len": 12,
    "censored": False,
    "prompt_len": 5,
    "max_tokens": 64,
    "target_model": "Meta-Llama-3-8B-Instruct",
    "id": "r1",
    "dataset": "d",
    "split": "train",
    "arrival_time": 1.5,
}


@FUZZ
@given(_lines(_mutated(NATIVE, JUNK) | _mutated({**NATIVE, "output_lens": [3, 4]}, JUNK)))
def test_native_jsonl(data):
    path = _write(data, "records.jsonl")
    _expect_clean(lambda: load_jsonl(path), path)
    _expect_clean(lambda: load_records(str(path), model="llama-3-8b"), path)


OPENAI = {
    "id": "req-1",
    "arrival_time": 2.0,
    "request": {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 64},
    "response": {
        "model": "Meta-Llama-3-8B-Instruct",
        "choices": [{"finish_reason": "stop", "message": {"content": "Hello there"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    },
}
OPENAI_PARTS = st.fixed_dictionaries(
    {
        "request": _mutated(OPENAI["request"], JUNK),
        "response": _mutated(OPENAI["response"], JUNK),
        "usage": _mutated(OPENAI["response"]["usage"], JUNK) | JUNK,
        "top": _mutated({"id": "req-1", "arrival_time": 2.0, "dataset": "d"}, JUNK),
    }
).map(lambda p: {**p["top"], "request": p["request"], "response": {**p["response"], "usage": p["usage"]}})


@FUZZ
@given(_lines(OPENAI_PARTS | _mutated(OPENAI, JUNK)))
def test_openai_log(data_dir, data):  # data_dir: the llama3 tokenizer is in the real data
    path = _write(data, "log.jsonl")
    _expect_clean(lambda: load_openai_log(path, tokenizer="llama3"), path)
    _expect_clean(lambda: load_records(str(path), model="llama-3-8b", tokenizer="llama3"), path)


ALPACA = {"instruction": "Name a colour.", "output": "Blue.", "generator": "g", "dataset": "helpful_base"}


@FUZZ
@given(
    st.one_of(
        st.lists(_mutated(ALPACA, JUNK) | JUNK, min_size=1, max_size=3).map(_line_bytes),
        _lines(_mutated(ALPACA, JUNK)),
        RAW_LINES,
    )
)
def test_alpaca_eval(data_dir, data):
    path = _write(data, "model_outputs.json")
    _expect_clean(lambda: load_alpaca_eval(path, tokenizer="llama3", max_tokens=4096), path)


CSV_HEADER = "sample_id,prompt_id,model,dataset,category,split,input_size," + ",".join(
    f"out_{i}" for i in range(10)
)
CSV_CELL = st.one_of(
    st.sampled_from(
        ["", "0", "-3", "1e999", "nan", "12", "12.0", "12.5", "x", '"', "\x00", "a,b", "9" * 400]
    ),
    st.text(max_size=6),
)


def _csv_row(cells: list[str]) -> str:
    return ",".join(cells)


CSV_ROWS = st.lists(
    st.one_of(
        st.just("s1,p1,m,d,c,train,20," + ",".join(["7"] * 10)),
        st.lists(CSV_CELL, min_size=0, max_size=19).map(_csv_row),
    ),
    min_size=1,
    max_size=3,
)
PROMPT_LINES = _lines(_mutated({"prompt_id": "p1", "prompt_text": "Tell me a joke."}, JUNK))


@FUZZ
@given(CSV_ROWS, PROMPT_LINES, st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf"]))
def test_castillo(rows, prompts, prefix):
    folder = Path(tempfile.mkdtemp(prefix="sagepred-fuzz-"))
    samples = folder / "castillo_samples.csv"
    samples.write_bytes(prefix + ("\n".join([CSV_HEADER, *rows]) + "\n").encode("utf-8", "surrogatepass"))
    (folder / "castillo_prompts.jsonl").write_bytes(prompts)
    _expect_clean(lambda: load_castillo(folder, "m"), samples)
    _expect_clean(lambda: load_castillo(folder, "m", split="train"), samples)


TURN = _mutated({"from": "human", "value": "Hi there"}, JUNK)
CONVERSATION = st.fixed_dictionaries(
    {
        "id": JUNK,
        "model": st.sampled_from(["", "Meta-Llama-3-8B-Instruct"]) | JUNK,
        "conversations": st.lists(TURN | JUNK, max_size=3)
        | st.just([{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}])
        | JUNK,
    }
)


@FUZZ
@given(st.lists(CONVERSATION | JUNK, min_size=1, max_size=4))
def test_hf_conversations(data_dir, rows):
    rows = [row for row in rows if isinstance(row, dict)] or [{}]
    try:
        records = records_from_conversations(rows, tokenizer="llama3", dataset="fuzz/set")
    except InputError as err:
        assert "\n" not in str(err) and "fuzz/set" in str(err)
    else:
        _check_records(records)


PROMPT = {"id": "a", "prompt": "Say hi."}


@FUZZ
@given(_lines(_mutated(PROMPT, JUNK) | _mutated({"messages": [{"role": "user", "content": "Hi"}]}, JUNK)))
def test_predict_input(data):
    from sagepred.cli.predict import read_prompts

    path = _write(data, "prompts.jsonl")
    before = sorted(path.parent.iterdir())
    try:
        rows = read_prompts(str(path))
    except InputError as err:
        assert "\n" not in str(err) and path.name in str(err), str(err)
    else:
        assert rows and all(isinstance(i, str) and isinstance(t, str) and t.strip() for i, t in rows)
    assert sorted(path.parent.iterdir()) == before


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe{}\n",
        b'{"prompt": "hi"}\n{"prompt": ' + b"[" * 100_000 + b"\n",
        b'{"prompt": {"nested": ["junk"]}}\n',
        b'{"prompt": "ok"}\n{"prompt": "caf\xc3\x28"}\n',
        b"\x00\n",
    ],
    ids=["bad-utf8", "deep-nesting", "wrong-type", "bad-utf8-line-2", "nul"],
)
def test_predict_cli_on_hostile_input_is_one_line_and_writes_nothing(data, tmp_path, capsys):
    from sagepred.cli import main

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_bytes(data)
    out = tmp_path / "out" / "preds.jsonl"
    code = main(["predict", "--model", "llama-3-8b", "--input", str(prompts), "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "prompts.jsonl" in err, err
    assert not out.parent.exists()
