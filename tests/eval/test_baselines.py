"""Baselines: registry, each predictor on controlled features, and on real CASTILLO prompts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.errors import InputError
from sagepred.eval.baselines import (
    BASELINES,
    GlobalHistogram,
    SemanticHistory,
    get_baseline,
)
from sagepred.metrics import compute_metrics, kendall_tau
from sagepred.records import LengthRecord


class StubFeatures:
    """Embeddings looked up from a table by prompt text (no encoder)."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[p] for p in prompts]).astype(np.float32)

    def prompt_lengths(self, prompts: Sequence[str], prompt_lens) -> np.ndarray:
        return np.asarray(prompt_lens, dtype=np.float64)


def synthetic(n: int, seed: int, dim: int = 16) -> tuple[list[LengthRecord], dict[str, np.ndarray]]:
    """Records whose log length is linear in a unit-norm embedding; 5 samples each."""
    rng = np.random.default_rng(seed)
    direction = np.eye(dim)[0]
    records, table = [], {}
    for i in range(n):
        e = rng.normal(size=dim)
        e /= np.linalg.norm(e)
        mu = 5.0 + 1.5 * e @ direction
        lens = np.maximum(np.round(np.exp(mu + 0.2 * rng.normal(size=5))), 1)
        prompt = f"s{seed}-{i}"
        table[prompt] = e
        records.append(LengthRecord(prompt=prompt, output_lens=tuple(lens), prompt_len=int(10 + i % 50)))
    return records, table


def test_registry_names_and_unknown_name():
    assert set(BASELINES) == {"global", "length", "sagesched", "regressor", "ltr"}
    for name in BASELINES:
        assert get_baseline(name).name == name
    with pytest.raises(InputError, match="global, length, sagesched, regressor, ltr"):
        get_baseline("oracle")
    with pytest.raises(InputError, match="bad settings"):
        get_baseline("global", nonsense=1)
    assert get_baseline("sagesched", threshold=0.9).config.threshold == 0.9


def test_fit_rejects_empty_training_data():
    with pytest.raises(InputError, match="empty"):
        GlobalHistogram().fit([])


def test_predict_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fitted"):
        GlobalHistogram().predict(["a"])


def test_global_histogram_is_the_pooled_histogram():
    records = [LengthRecord(prompt="a", output_lens=(10, 20)), LengthRecord(prompt="b", output_lens=(300,))]
    dist = GlobalHistogram().fit(records).predict(["x", "y", "z"])
    assert len(dist) == 3
    expected = LengthDistribution.from_samples([[10, 20, 300]], log_bin_edges())
    np.testing.assert_allclose(dist.cdf_at_knots[2], expected.cdf_at_knots[0])
    assert np.ptp(dist.mean()) == 0


def test_length_baseline_tracks_prompt_length():
    rng = np.random.default_rng(0)
    records = []
    for i in range(400):
        plen = int(rng.integers(10, 2000))
        records.append(
            LengthRecord(
                prompt=f"p{i}", output_lens=tuple(np.maximum(rng.poisson(plen, 3), 1)), prompt_len=plen
            )
        )
    baseline = get_baseline("length").fit(records[:300])
    test = records[300:]
    dist = baseline.predict_records(test)
    tau = kendall_tau(dist.mean(), np.array([r.mean_length for r in test]))
    assert tau > 0.6
    assert baseline.cuts.shape[0] == 9


def test_sagesched_neighbours_threshold_and_global_padding():
    train, table = synthetic(200, seed=1)
    baseline = SemanticHistory()
    baseline.features = StubFeatures(table)
    baseline.fit(train)
    query = table[train[0].prompt_text]
    far = -query
    table.update({"near": query, "far": far})
    hits = baseline.neighbours(np.stack([query, far]))
    sims = baseline.embeddings @ query
    np.testing.assert_array_equal(np.sort(hits[0]), np.flatnonzero(sims >= 0.8))
    assert 0 in hits[0] and hits[1].size == 0
    dist = baseline.predict(["near", "far"])
    assert baseline.neighbour_counts[1] == 0
    np.testing.assert_allclose(dist.segment_probs()[1], baseline.prior, atol=1e-12)
    own = LengthDistribution.from_samples(
        [np.concatenate([train[j].lengths for j in hits[0]])], baseline.edges
    )
    if sum(train[j].num_samples for j in hits[0]) >= baseline.config.min_samples:
        np.testing.assert_allclose(dist.segment_probs()[0], own.segment_probs()[0], atol=1e-12)


def test_sagesched_numpy_search_matches_faiss():
    pytest.importorskip("faiss")
    train, table = synthetic(150, seed=2)
    baseline = SemanticHistory()
    baseline.features = StubFeatures(table)
    baseline.fit(train)
    queries = baseline.embeddings[:40] * 0.9 + baseline.embeddings[40:80] * 0.45
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    baseline.history.config.backend = "faiss"
    with_faiss = baseline.neighbours(queries)
    baseline.history.config.backend = "numpy"
    without = baseline.neighbours(queries)
    for a, b in zip(with_faiss, without, strict=True):
        np.testing.assert_array_equal(np.sort(a), np.sort(b))


def test_sagesched_window_keeps_last_records():
    train, table = synthetic(50, seed=3)
    baseline = get_baseline("sagesched", window=20)
    baseline.features = StubFeatures(table)
    baseline.fit(train)
    assert baseline.embeddings.shape[0] == 20
    np.testing.assert_allclose(baseline.embeddings[0], table[train[30].prompt_text], rtol=1e-6)


@pytest.mark.parametrize("name", ["regressor", "ltr"])
def test_learned_baselines_rank_synthetic_prompts(name):
    train, table = synthetic(400, seed=4)
    test, test_table = synthetic(150, seed=5)
    table.update(test_table)
    baseline = get_baseline(name)
    baseline.features = StubFeatures(table)
    baseline.fit(train)
    dist = baseline.predict_records(test)
    metrics = compute_metrics(dist, test)
    assert metrics["kendall_tau"] > 0.6
    if name == "regressor":
        # residual spread is the true noise + estimation error: close to calibrated
        assert metrics["coverage_80"] == pytest.approx(0.8, abs=0.1)
    else:
        assert baseline.comparable == ("kendall_tau",)
        scores = baseline.score([r.prompt_text for r in test], [r.prompt_len for r in test])
        assert kendall_tau(scores, dist.mean()) > 0.95  # the distribution keeps the ranker's order


def test_baselines_on_real_castillo_prompts(castillo):
    """Real encoder, real prompts: a few hundred (short) MBPP prompts of Mistral-7B."""
    model = "mistralai--Mistral-7B-Instruct-v0.3"
    train = [r for r in castillo(model, "train") if r.dataset == "Mbpp"][:240]
    test = [r for r in castillo(model, "validate") if r.dataset == "Mbpp"][:120]
    results = {}
    for name in ("global", "sagesched", "regressor"):
        results[name] = compute_metrics(get_baseline(name).fit(train).predict_records(test), test)
    assert results["global"]["kendall_tau"] is None
    assert results["regressor"]["kendall_tau"] > 0.2
    assert results["regressor"]["crps"] < results["global"]["crps"]
    assert results["sagesched"]["n_samples"] == 10 * len(test)


def test_sagesched_keeps_every_neighbour_above_threshold_and_is_the_history_predictor():
    """The paper has no neighbour cap: 100 identical past prompts all count (the serving default is 64),
    and the baseline is exactly ``FusedPredictor`` in history mode over an uncapped window."""
    from sagepred.fusion import FusedPredictor, FusionConfig
    from sagepred.history import HistoryConfig

    train, table = synthetic(100, seed=4)
    same = table[train[0].prompt_text]
    for record in train:
        table[record.prompt_text] = same
    table["query"] = same
    baseline = SemanticHistory()
    baseline.features = StubFeatures(table)
    baseline.fit(train)
    dist = baseline.predict(["query"])
    assert baseline.neighbour_counts.tolist() == [100]
    pooled = LengthDistribution.from_samples([np.concatenate([r.lengths for r in train])], baseline.edges)
    np.testing.assert_allclose(dist.segment_probs(), pooled.segment_probs(), atol=1e-12)
    fused = FusedPredictor(
        fusion=FusionConfig(mode="history"),
        history_config=HistoryConfig(top_k=None, dim=same.shape[0], max_samples=5),
    )
    fused.history.observe_many(np.stack([same] * 100), [r.output_lens for r in train])
    np.testing.assert_allclose(
        fused.predict_from_features(same[None, :]).segment_probs(), dist.segment_probs(), atol=1e-12
    )
