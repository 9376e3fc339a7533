"""The semantic history window: search backends, FIFO eviction, persistence, concurrency, warm start."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from sagepred.errors import CheckpointError
from sagepred.history import (
    HISTORY_CONFIG_NAME,
    HISTORY_WEIGHTS_NAME,
    HistoryConfig,
    HistoryIndex,
    exact_search,
)


def unit_rows(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def small(capacity: int = 8, **kwargs) -> HistoryIndex:
    return HistoryIndex(HistoryConfig(capacity=capacity, dim=16, max_samples=3, **kwargs))


def test_faiss_and_numpy_find_the_same_neighbours():
    pytest.importorskip("faiss")
    base, queries = unit_rows(3000, seed=1), unit_rows(40, seed=2)
    s_f, r_f = exact_search(queries, base, 10, backend="faiss")
    s_n, r_n = exact_search(queries, base, 10, backend="numpy")
    np.testing.assert_array_equal(r_f, r_n)
    np.testing.assert_allclose(s_f, s_n, atol=1e-5)
    brute = np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(r_n, brute)


def test_query_thresholds_and_returns_the_stored_lengths():
    index = small(threshold=0.9)
    rows = unit_rows(4)
    index.observe(rows[0], [100, 200], [False, True])
    index.observe(rows[1], 50)
    found = index.query(np.stack([rows[0], rows[2]]))
    assert found.counts().tolist() == [1, 0]
    assert found.similarity[0, 0] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(found.lengths[0, 0, :2], [100, 200])
    assert np.isnan(found.lengths[0, 0, 2]) and found.censored[0, 0].tolist() == [False, True, False]
    assert found.ids[0, 0] == 0 and not found.valid[1].any()


def test_fifo_evicts_the_oldest_first():
    index = small(capacity=5, threshold=-1.0, top_k=5)
    rows = unit_rows(12)
    for i in range(12):
        index.observe(rows[i], i + 1, timestamp=float(i))
    assert len(index) == 5 and index.total_observed == 12
    snap = index.snapshot()
    assert snap["ids"].tolist() == [7, 8, 9, 10, 11]
    assert snap["times"].tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert index.query(rows[3], threshold=0.99).counts()[0] == 0
    assert index.query(rows[9], threshold=0.99).ids[0, 0] == 9
    assert sorted(index.query(rows[0]).ids[0].tolist()) == [7, 8, 9, 10, 11]


def test_save_load_round_trip_and_torn_pairs_are_refused(tmp_path):
    index = small(capacity=6)
    rows = unit_rows(9)
    for i in range(9):
        index.observe(rows[i], [i + 1, 2 * i + 1], [False, i % 2 == 0], timestamp=float(i))
    index.save(tmp_path)
    loaded = HistoryIndex.load(tmp_path)
    for key, value in index.snapshot().items():
        np.testing.assert_array_equal(loaded.snapshot()[key], value)
    assert loaded.total_observed == 9 and loaded.config == index.config
    a, b = index.query(rows[5:8]), loaded.query(rows[5:8])
    np.testing.assert_array_equal(a.ids, b.ids)
    loaded.observe(rows[0], 7)
    assert loaded.snapshot()["ids"][-1] == 9 and loaded.snapshot()["ids"][0] == 4
    shrunk = HistoryIndex.load(tmp_path, HistoryConfig(capacity=3, dim=16, max_samples=3))
    assert shrunk.snapshot()["ids"].tolist() == [6, 7, 8]
    other = small()
    other.observe(rows[0], 1)
    other.save(tmp_path / "other")
    (tmp_path / HISTORY_WEIGHTS_NAME).write_bytes((tmp_path / "other" / HISTORY_WEIGHTS_NAME).read_bytes())
    with pytest.raises(CheckpointError, match="sha256"):
        HistoryIndex.load(tmp_path)
    meta = json.loads((tmp_path / "other" / HISTORY_CONFIG_NAME).read_text())
    assert "config" in meta and meta["size"] == 1
    with pytest.raises(CheckpointError, match="missing"):
        HistoryIndex.load(tmp_path / "nowhere")


def test_concurrent_observers_lose_nothing():
    index = HistoryIndex(HistoryConfig(capacity=100_000, dim=16, max_samples=1, threshold=-1.0))
    rows = unit_rows(64)
    per_thread, threads = 500, 8

    def work(t: int) -> None:
        for i in range(per_thread):
            index.observe(rows[(t + i) % 64], t * per_thread + i + 1)
            if i % 50 == 0:
                index.query(rows[:4])

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(index) == per_thread * threads
    lengths, _ = index.all_lengths()
    assert sorted(lengths.astype(int).tolist()) == list(range(1, per_thread * threads + 1))
    assert sorted(index.snapshot()["ids"].tolist()) == list(range(per_thread * threads))


def test_bad_inputs_are_refused():
    index = small()
    with pytest.raises(ValueError, match="values"):
        index.observe(np.ones(3), 10)
    with pytest.raises(ValueError, match="lengths"):
        index.observe(unit_rows(1)[0], [1, 2, 3, 4])
    with pytest.raises(ValueError):
        HistoryConfig(backend="annoy")
    assert index.query(unit_rows(2)).counts().tolist() == [0, 0]
