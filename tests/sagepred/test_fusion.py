"""Fusion of the head with the semantic history: exactness, pseudo-counts, history-only, persistence."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from sagepred.distribution import LengthDistribution, log_bin_edges
from sagepred.fusion import FusedPredictor, FusionConfig, bin_probs, evidence_counts, fuse, history_only
from sagepred.heads import HeadConfig
from sagepred.history import HistoryConfig, HistoryIndex
from sagepred.predictor import LengthPredictor, PredictorConfig

DIM = 16


def unit_rows(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class FakeEncoder:
    """Deterministic text → unit vector (hash-seeded), so the tests need no transformer."""

    calls = 0

    def encode(self, texts):
        FakeEncoder.calls += 1
        return np.stack([unit_rows(1, seed=sum(map(ord, t)))[0] for t in texts])

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


def make_head(kind: str) -> LengthPredictor:
    torch.manual_seed(0)
    config = PredictorConfig(
        target_model="toy", head=HeadConfig(kind=kind, input_dim=DIM, hidden_dim=8, num_bins=32)
    )
    predictor = LengthPredictor(config, encoder=FakeEncoder())
    predictor.eval()
    return predictor


def window(**kwargs) -> HistoryIndex:
    return HistoryIndex(HistoryConfig(capacity=100, dim=DIM, max_samples=4, **kwargs))


@pytest.mark.parametrize("kind", ["histogram", "quantile"])
def test_no_neighbours_gives_the_head_exactly(kind):
    head = make_head(kind)
    emb, counts = unit_rows(5, seed=3), np.arange(5, dtype=np.float32) + 3
    expected = head.predict_from_features(emb, counts)
    fused = FusedPredictor(head, window(threshold=0.999)).predict_from_features(emb, counts)
    grid = np.geomspace(0.5, 40000, 400)[None, :]
    assert np.array_equal(fused.cdf(grid), expected.cdf(grid))
    assert np.array_equal(fused.mean(), expected.mean())
    assert np.array_equal(
        fused.quantile(np.array([[0.1, 0.5, 0.9]])), expected.quantile(np.array([[0.1, 0.5, 0.9]]))
    )
    index = window(threshold=0.999)
    index.observe(emb[0], 100)
    mixed = FusedPredictor(head, index).predict_from_features(emb, counts)
    assert not np.array_equal(mixed[0].cdf(grid), expected[0].cdf(grid))
    assert np.array_equal(mixed[1:].cdf(grid), expected[1:].cdf(grid))
    np.testing.assert_allclose(mixed[1:].mean(), expected[1:].mean(), rtol=1e-12)


def test_histogram_fusion_is_pseudo_counts_on_the_bins():
    edges = log_bin_edges(32, 32768.0)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(32), size=3)
    head = LengthDistribution.from_histogram(probs, edges)
    evidence = np.zeros((3, 32))
    evidence[0, 10] = 2.0
    evidence[1, [3, 20]] = [0.9, 0.5]
    fused = fuse(head, evidence, edges, prior_strength=4.0)
    expected = (4.0 * head.segment_probs() + evidence) / (4.0 + evidence.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(fused.segment_probs(), expected, atol=1e-12)
    assert np.array_equal(fused.cdf_at_knots[2], head.cdf_at_knots[2])


def test_quantile_fusion_is_the_exact_mixture():
    edges = log_bin_edges(32, 32768.0)
    head = LengthDistribution.from_quantiles(
        np.array([[50, 120, 300], [10, 20, 40]]), np.array([0.1, 0.5, 0.9])
    )
    evidence = np.zeros((2, 32))
    evidence[0, 25] = 3.0
    fused = fuse(head, evidence, edges, prior_strength=2.0)
    grid = np.geomspace(1, 30000, 300)[None, :]
    evid = LengthDistribution.from_histogram(np.eye(32)[25][None, :], edges)
    mixture = (2.0 * head[0].cdf(grid) + 3.0 * evid.cdf(grid)) / 5.0
    np.testing.assert_allclose(fused[0].cdf(grid), mixture, atol=1e-12)
    np.testing.assert_array_equal(fused[1].cdf(grid), head[1].cdf(grid))


def test_neighbours_move_the_prediction_and_censoring_spreads_upwards():
    head = make_head("histogram")
    index = window(threshold=0.9)
    predictor = FusedPredictor(head, index, FusionConfig(prior_strength=2.0))
    emb = unit_rows(1, seed=7)
    counts = np.array([5.0], dtype=np.float32)
    before = predictor.predict_from_features(emb, counts)
    for _ in range(20):
        predictor.observe(emb[0], 3000)
    after = predictor.predict_from_features(emb, counts)
    assert abs(after.quantile(0.5)[0] - 3000) < abs(before.quantile(0.5)[0] - 3000)
    assert after.cdf(2000.0)[0] < 0.2
    found = index.query(emb)
    assert found.counts()[0] == 20
    censored = window(threshold=0.9)
    censored.observe(emb[0], 1000, censored=True)
    ev = evidence_counts(censored.query(emb), predictor.edges, 1.0, bin_probs(before, predictor.edges))
    first = np.searchsorted(predictor.edges, 1000.0) - 1
    assert ev[0, :first].sum() == 0 and ev.sum() == pytest.approx(1.0, abs=1e-6)


def test_history_only_is_the_paper_predictor_with_padding():
    edges = log_bin_edges(32, 32768.0)
    padding = np.full(32, 1 / 32)
    evidence = np.zeros((2, 32))
    evidence[0, 12] = 3.0
    evidence[1, 12] = 30.0
    dist = history_only(evidence, edges, padding, min_samples=10)
    np.testing.assert_allclose(dist.segment_probs()[0, 12], (3 + 7 / 32) / 10)
    np.testing.assert_allclose(dist.segment_probs()[1, 12], 1.0)
    predictor = FusedPredictor(
        None, window(threshold=0.9), FusionConfig(mode="history", num_bins=32), encoder=FakeEncoder()
    )
    predictor.observe("a prompt", 100)
    predictor.observe("another prompt entirely", 5000)
    out = predictor.predict(["a prompt"])
    assert out.cdf(1000.0)[0] > 0.5
    with pytest.raises(ValueError, match="needs a head"):
        FusedPredictor(None, window())


def test_save_load_next_to_a_checkpoint(tmp_path):
    head = make_head("histogram")
    head.save_pretrained(tmp_path / "ckpt")
    predictor = FusedPredictor(head, window(threshold=0.5), FusionConfig(prior_strength=3.0))
    for i, row in enumerate(unit_rows(30, seed=11)):
        predictor.observe(row, 10 * (i + 1), token_count=4.0)
    assert FusedPredictor.save is FusedPredictor.save_pretrained  # the old name stays an alias
    predictor.save_pretrained(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "config.json").is_file() and (
        tmp_path / "ckpt" / "history.safetensors"
    ).is_file()
    loaded = FusedPredictor.from_pretrained(tmp_path / "ckpt", head=head)
    assert loaded.head is head and FusedPredictor.load(tmp_path / "ckpt", head=head).pits == predictor.pits
    assert loaded.fusion.prior_strength == 3.0 and len(loaded.history) == 30
    assert loaded.pits == predictor.pits and len(loaded.pits) == 30
    assert loaded.window_weight() == predictor.window_weight()
    emb, counts = unit_rows(4, seed=12), np.ones(4, dtype=np.float32)
    np.testing.assert_array_equal(
        loaded.predict_from_features(emb, counts).cdf_at_knots,
        predictor.predict_from_features(emb, counts).cdf_at_knots,
    )


def test_observe_from_threads_with_text_prompts():
    head = make_head("histogram")
    predictor = FusedPredictor(head, window(threshold=0.5))
    predictor.history.config.capacity = 1000

    def work(t: int) -> None:
        for i in range(25):
            predictor.observe(f"prompt {t} {i}", t * 100 + i + 1)
            predictor.predict([f"prompt {t}"])

    pool = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert predictor.history.total_observed == 100
    lengths, _ = predictor.history.all_lengths()
    assert sorted(lengths.astype(int).tolist()) == sorted(
        t * 100 + i + 1 for t in range(4) for i in range(25)
    )


def test_window_weight_and_recalibration_learn_from_outcomes():
    from sagepred.fusion import mixture_weight, recalibration_map

    rng = np.random.default_rng(0)
    assert mixture_weight(rng.uniform(0.001, 0.01, 200), rng.uniform(0.1, 0.2, 200)) > 0.9
    assert mixture_weight(rng.uniform(0.1, 0.2, 200), rng.uniform(0.001, 0.01, 200)) < 0.1
    identity = recalibration_map(np.array([]), 50.0)
    np.testing.assert_allclose(identity, np.linspace(0, 1, identity.size))
    low = recalibration_map(np.full(500, 0.05), 50.0)
    assert low[20] > 0.8  # R(0.1): outcomes all sat at the head's 5% quantile
    head = make_head("histogram")
    predictor = FusedPredictor(head, window(threshold=0.999))
    emb, counts = unit_rows(60, seed=21), np.full(60, 5.0, dtype=np.float32)
    before = head.predict_from_features(emb, counts)
    for i in range(60):
        predictor.observe(emb[i], 20000, token_count=5.0)
    assert 0 < predictor.window_weight() <= 1 and len(predictor.pits) == 60
    fresh = unit_rows(3, seed=99)
    after = predictor.predict_from_features(fresh, np.full(3, 5.0, dtype=np.float32))
    assert predictor.history.query(fresh).counts().sum() == 0
    assert np.all(after.cdf(10000.0) < before[:3].cdf(10000.0) - 0.3)


def test_warm_start_from_a_records_file(tmp_path):
    from sagepred.records import LengthRecord, write_jsonl_records

    records = [
        LengthRecord(
            prompt=f"question {i}", output_lens=(10 * (i + 1), 11 * (i + 1)), censored=(False, i == 2)
        )
        for i in range(3)
    ]
    write_jsonl_records(records, tmp_path / "padding.jsonl")
    predictor = FusedPredictor(
        None, window(threshold=0.99), FusionConfig(mode="history", num_bins=32), encoder=FakeEncoder()
    )
    assert predictor.warm_start(tmp_path / "padding.jsonl") == 3
    snap = predictor.history.snapshot()
    np.testing.assert_array_equal(snap["lengths"][2, :2], [30, 33])
    assert snap["censored"][2].tolist() == [False, True, False, False] and snap["times"].tolist() == [0.0] * 3
    assert predictor.history.query(FakeEncoder().encode(["question 1"])).ids[0, 0] == 1


def test_window_prior_keeps_the_latest_outcomes_and_refits_after_each(tmp_path):
    from sagepred.errors import CheckpointError
    from sagepred.fusion import read_fusion_state
    from sagepred.window_prior import WindowPrior, mixture_weight, recalibration_map

    prior = WindowPrior(window=3, strength=5.0)
    assert prior.mapping() is None and prior.weight() == 0.0
    prior.record([0.1, 0.2], [(0.5, 0.1), (0.4, 0.2)])
    first = prior.mapping()
    np.testing.assert_array_equal(first, recalibration_map(np.array([0.1, 0.2]), 5.0))
    assert prior.weight() == mixture_weight(np.array([0.5, 0.4]), np.array([0.1, 0.2]))
    prior.record([0.9, 0.95], [(0.01, 0.3), (0.02, 0.4)])
    assert prior.pits == [0.2, 0.9, 0.95] and len(prior.pairs) == 3
    np.testing.assert_array_equal(prior.mapping(), recalibration_map(np.array([0.2, 0.9, 0.95]), 5.0))
    assert prior.weight() > 0.5 and prior.state() == {
        "pits": [0.2, 0.9, 0.95],
        "pairs": [[0.4, 0.2], [0.01, 0.3], [0.02, 0.4]],
    }
    (tmp_path / "fusion.json").write_text('{"mode": "fused", "pits": ["x"]}')
    with pytest.raises(CheckpointError, match=r"fusion\.json: malformed fusion settings"):
        read_fusion_state(tmp_path / "fusion.json")


def test_fuse_neighbours_is_the_rule_on_the_priors_own_tail():
    from sagepred.fusion import fuse_neighbours, history_neighbours

    head = make_head("quantile")
    index = window(threshold=0.0)
    for i, row in enumerate(unit_rows(12, seed=31)):
        index.observe(row, [50 * (i + 1), 4000], [False, i % 3 == 0])
    emb = unit_rows(3, seed=32)
    prior = head.predict_from_features(emb, np.full(3, 6.0, dtype=np.float32))
    edges = log_bin_edges(32)
    found = index.query(emb)
    expected = fuse(prior, evidence_counts(found, edges, 2.0, bin_probs(prior, edges)), edges, 3.0)
    got = fuse_neighbours(prior, found, edges, prior_strength=3.0, similarity_power=2.0)
    np.testing.assert_array_equal(got.knots, expected.knots)
    np.testing.assert_array_equal(got.cdf_at_knots, expected.cdf_at_knots)
    assert not np.array_equal(got.cdf(1000.0), prior.cdf(1000.0))
    padding = np.full(32, 1 / 32)
    hist = history_neighbours(found, edges, padding, min_samples=10.0)
    want = history_only(evidence_counts(found, edges, 1.0, padding), edges, padding, 10.0)
    np.testing.assert_array_equal(hist.cdf_at_knots, want.cdf_at_knots)


def test_a_head_that_reads_length_instructions_does_so_in_the_fused_predictor():
    """predict and observe hand the prompt text to the head: its instruction adjustment applies, and the
    recorded PIT is the one of the distribution the request was predicted with."""
    from sagepred.instruction_adjust import InstructionSettings

    head = make_head("histogram")
    head.config.instructions = InstructionSettings(weight=0.9)
    predictor = FusedPredictor(head, window(threshold=0.999))
    prompts = ["In one word, name a colour.", "Write a 2,000-word essay about colours."]
    encoder = FakeEncoder()
    counts = np.asarray(encoder.count_tokens(prompts), dtype=np.float32)
    direct = head.predict_from_features(encoder.encode(prompts), counts, prompts=prompts)
    fused = predictor.predict(prompts)
    assert np.allclose(fused.quantile(0.5), direct.quantile(0.5))
    assert fused.quantile(0.5)[0] < 10 < 1000 < fused.quantile(0.5)[1]
    predictor.observe(prompts[1], 2400.0)
    assert predictor.pits[-1] == pytest.approx(float(direct[1:2].cdf(2400.0)[0]), abs=1e-9)


def test_a_new_window_holds_embeddings_of_the_size_its_head_reads():
    head = make_head("histogram")  # reads 16 numbers; the window's default is MiniLM's 384
    predictor = FusedPredictor(head, history_config=HistoryConfig(capacity=50))
    assert predictor.history.config.dim == DIM and predictor.history.config.capacity == 50
    predictor.observe("one prompt", 12)
    assert predictor.history.total_observed == 1 and len(predictor.predict(["one prompt"])) == 1


def test_a_packaged_checkpoint_learns_online_whatever_its_encoder_width():
    from sagepred.loading import load_predictor

    fused = FusedPredictor(load_predictor("gpt-4"))
    assert fused.history.config.dim == fused.head.encoder.dim
    fused.observe("Name one planet.", 4)
    assert fused.predict(["Name one planet."]).quantile(0.5)[0] > 0
