"""Record splits are reproducible from the records alone."""

from __future__ import annotations

import random

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
