"""Record splits are reproducible from the records alone; lengths and ids are checked as they are read."""

from __future__ import annotations

import json
import random

import pytest

from sagepred.errors import InputError
from sagepred.importers import load_jsonl
from sagepred.records import LengthRecord, split_records


def make(n: int) -> list[LengthRecord]:
    return [LengthRecord(prompt=f"prompt {i}", output_lens=(i + 1,), record_id=f"r{i}") for i in range(n)]


def test_split_is_order_independent_and_seeded():
    records = make(500)
    train, held = split_records(records, 0.2, seed=0)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    _train2, held2 = split_records(shuffled, 0.2, seed=0)
    assert {r.record_id for r in held} == {r.record_id for r in held2}
    assert 60 < len(held) < 140 and len(train) + len(held) == 500
    assert not {r.record_id for r in train} & {r.record_id for r in held}
    _, other = split_records(records, 0.2, seed=1)
    assert {r.record_id for r in other} != {r.record_id for r in held}


def test_subset_membership_is_stable():
    records = make(300)
    _, held = split_records(records, 0.3, seed=0)
    _, held_subset = split_records(records[:150], 0.3, seed=0)
    assert {r.record_id for r in held_subset} == {r.record_id for r in held if int(r.record_id[1:]) < 150}


def test_tiny_sets_still_split():
    train, held = split_records(make(3), 0.2, seed=0)
    assert len(held) >= 1 and len(train) >= 1


@pytest.mark.parametrize(
    ("line", "field", "needle"),
    [
        ({"prompt": "p", "output_len": 1e300}, "output_len", "at most 100,000,000 tokens"),
        ({"prompt": "p", "output_lens": [5, 10**12]}, "output_lens", "at most 100,000,000 tokens"),
        ({"prompt": "p", "output_len": 5, "id": None}, "id", "a string or an integer"),
        ({"prompt": "p", "output_len": 5, "id": ["x"]}, "id", "a string or an integer"),
        ({"prompt": "p", "output_len": 5, "id": True}, "id", "a string or an integer"),
    ],
    ids=["huge-len", "huge-lens", "null-id", "list-id", "bool-id"],
)
def test_absurd_lengths_and_ids_name_line_and_field(tmp_path, line, field, needle):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps({"prompt": "fine", "output_len": 3}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(InputError, match=needle) as raised:
        load_jsonl(path)
    assert (raised.value.line, raised.value.field) == (2, field)


def test_ids_may_be_strings_or_integers_and_default_to_the_line(tmp_path):
    path = tmp_path / "records.jsonl"
    rows = [
        {"prompt": "a", "output_len": 3, "id": 7},
        {"prompt": "b", "output_len": 4, "id": "x"},
        {"prompt": "c", "output_len": 5},
        {"prompt": "d", "output_len": 6, "id": ""},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [r.record_id for r in load_jsonl(path)] == ["7", "x", "records:3", "records:4"]


def test_predict_input_rejects_duplicate_and_malformed_ids(tmp_path):
    from sagepred.cli.predict import read_prompts

    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "a", "id": "q"}\n{"prompt": "b", "id": "q"}\n')
    with pytest.raises(InputError, match="id 'q' also on line 1") as raised:
        read_prompts(str(path))
    assert raised.value.line == 2
    path.write_text('{"prompt": "a", "id": null}\n')
    with pytest.raises(InputError, match="a string or an integer"):
        read_prompts(str(path))
    path.write_text('{"prompt": "a", "id": 3}\n{"prompt": "b"}\n')
    assert [rid for rid, _ in read_prompts(str(path))] == ["3", "prompts:2"]


def test_a_line_cut_short_names_its_own_last_column(tmp_path):
    path = tmp_path / "records.jsonl"
    cut = '{"prompt": "hi", "output_len": 5'
    path.write_text('{"prompt": "fine", "output_len": 3}\n' + cut + "\n")
    with pytest.raises(InputError, match=f"at column {len(cut) + 1}") as raised:
        load_jsonl(path)
    assert raised.value.line == 2


def test_a_folder_given_for_records_or_prompts_says_what_it_lacks(tmp_path):
    from sagepred.cli.predict import read_prompts
    from sagepred.importers import load_records

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"neither model_outputs\.json .* nor castillo_samples\.csv"):
        load_records(str(folder), model="llama-3.1-8b")
    with pytest.raises(InputError, match="a folder, not a JSONL file"):
        read_prompts(str(folder))
